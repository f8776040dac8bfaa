"""Speech activity: where in a recording anybody speaks.

Uses the Silero VAD (ONNX) that faster-whisper ships, so no weights are downloaded. The
frame probabilities are turned into regions with our own hysteresis instead of
``faster_whisper.vad.get_speech_timestamps``, whose defaults (2 s minimum silence, 400 ms
padding) are tuned for ASR chunking and merge away the short pauses at speaker changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from services.schema import SAMPLE_RATE

VAD_FRAME = 512
"""Samples per Silero frame (32 ms at 16 kHz)."""

FRAME_SECONDS = VAD_FRAME / SAMPLE_RATE
CONTEXT = 64
"""Samples of the previous frame Silero v6 sees in front of each frame."""
CHUNK_FRAMES = 10_000
"""Frames per ONNX call (320 s of audio), as in faster-whisper."""

Region = tuple[float, float]

TARGET_LEVEL_DB = -20.0
"""Level (dBFS) the loud frames (95th percentile of 32 ms frame energies) are brought to before Silero.
Silero's decision depends on the level: far-field jfk.flac at -41 dBFS (bench.conditions ``far``)
gave 0 s of speech, +20 dB 7.3 s, +30 dB 8.7 s; dev01.wav 30 dB quieter lost 8 of its 14.7 s;
sample.wav brought to +3 dBFS (clipping range) lost 13 of 23 s. -20 dBFS sits in the middle of
the levels where every file kept its speech."""
NOISE_CEILING_DB = -50.0
"""The gain never lifts the quiet frames (10th percentile, the noise floor between words) above this,
so a recording of hiss is not turned into loud noise."""
GAIN_RANGE_DB = (-20.0, 40.0)
"""Bounds of the gain: 40 dB lifts speech at -60 dBFS to the target."""


@dataclass(frozen=True)
class VadParams:
    """How frame probabilities become speech regions.

    The defaults were chosen on the speech-detection errors (pyannote.metrics) of sample.wav,
    dev00.wav and dev01.wav, each clean, 15 dB quieter, far-field and phone-band
    (``bench.conditions``); missed + false alarm, in % of the reference speech, clean / far /
    phone: offset 0.35, 0.2 s pad (the old values): 10.0 / 11.3 / 14.8; offset 0.2, 0.3 s pad:
    8.5 / 9.5 / 9.5. The lower offset keeps the soft ends of far-field words. Bridging pauses up
    to 1 s would miss less again (7.7 / 9.0 / 7.6) but put speaker changes inside regions:
    dev00.wav then came out as 3 speakers instead of 2 (DER 0.24 -> 0.49).

    Attributes:
        onset: A region starts only where the probability reaches this value.
        offset: A started region lasts while the probability stays at or above this value.
        min_silence: Pauses shorter than this (seconds) are bridged; speaker changes often
            have shorter pauses than this, which the clustering finds inside a region anyway.
        pad: Seconds added on both sides of each region so that soft word onsets and
            endings are not clipped.
        min_speech: Regions shorter than this (seconds, before padding) are clicks or
            breaths and are dropped.
    """

    onset: float = 0.5
    offset: float = 0.2
    min_silence: float = 0.5
    pad: float = 0.3
    min_speech: float = 0.1


def speech_probabilities(
    audio: np.ndarray, on_progress: Callable[[float], None] | None = None, *, level: bool = True
) -> np.ndarray:
    """Silero speech probability for every 32 ms frame of the audio.

    The audio is first brought to a fixed level (:func:`level_gain_db`), so the speech decision
    does not depend on how loud the recording is. Runs the ONNX session over chunks of
    ``CHUNK_FRAMES`` frames with the recurrent state and the 64-sample context carried across
    chunks, which gives the same numbers as faster-whisper's wrapper without its two full-length
    copies of the audio (460 MB for an hour).

    Args:
        audio: 16 kHz mono float32 samples.
        on_progress: Called with the fraction done after each chunk.
        level: Bring the audio to ``TARGET_LEVEL_DB`` first (False: as recorded).

    Returns:
        A float32 array with one probability per ``VAD_FRAME`` samples (the last frame padded).
    """
    from faster_whisper.vad import get_vad_model  # heavy import, only when needed

    frames = -(-audio.size // VAD_FRAME)
    out = np.zeros(frames, dtype=np.float32)
    if frames == 0:
        return out
    session = get_vad_model().session
    gain = np.float32(10 ** (level_gain_db(audio) / 20) if level else 1.0)
    state_h = np.zeros((1, 1, 128), dtype=np.float32)
    state_c = np.zeros((1, 1, 128), dtype=np.float32)
    tail = np.zeros(CONTEXT, dtype=np.float32)
    for first in range(0, frames, CHUNK_FRAMES):
        last = min(frames, first + CHUNK_FRAMES)
        chunk = np.asarray(audio[first * VAD_FRAME : last * VAD_FRAME], dtype=np.float32)
        chunk = np.pad(chunk * gain, (0, (last - first) * VAD_FRAME - chunk.size)).reshape(-1, VAD_FRAME)
        context = np.concatenate([tail[None, :], chunk[:-1, -CONTEXT:]])
        batch = np.concatenate([context, chunk], axis=1)
        probs, state_h, state_c = session.run(None, {"input": batch, "h": state_h, "c": state_c})
        out[first:last] = np.asarray(probs, dtype=np.float32).reshape(-1)
        tail = chunk[-1, -CONTEXT:].copy()
        if on_progress is not None:
            on_progress(last / frames)
    return out


def level_gain_db(audio: np.ndarray) -> float:
    """Gain (dB) that brings the loud frames to ``TARGET_LEVEL_DB`` without lifting the noise floor
    above ``NOISE_CEILING_DB``; 0 for audio too short to tell."""
    frames = audio.size // VAD_FRAME
    if frames < 4:
        return 0.0
    energy = np.empty(frames, dtype=np.float64)
    step = CHUNK_FRAMES  # bounded temporaries on long files
    for first in range(0, frames, step):
        block = audio[first * VAD_FRAME : min(frames, first + step) * VAD_FRAME].reshape(-1, VAD_FRAME)
        energy[first : first + block.shape[0]] = np.einsum("ij,ij->i", block, block, dtype=np.float64) / VAD_FRAME
    level = 10 * np.log10(np.maximum(energy, 1e-12))
    loud, floor = np.percentile(level, [95, 10])
    gain = min(TARGET_LEVEL_DB - loud, NOISE_CEILING_DB - floor)
    return float(np.clip(gain, *GAIN_RANGE_DB))


def speech_regions(probs: np.ndarray, duration: float, params: VadParams = VadParams()) -> tuple[Region, ...]:
    """Speech regions (start, end) in seconds from frame probabilities.

    Args:
        probs: Output of :func:`speech_probabilities`.
        duration: Length of the audio in seconds (regions are clipped to it).
        params: Thresholds and durations.

    Returns:
        Sorted, non-overlapping regions.
    """
    above = probs >= params.offset
    if not above.any():
        return ()
    # Hysteresis without a Python loop: keep each run of frames >= offset that holds at
    # least one frame >= onset.
    edges = np.diff(np.concatenate(([0], above.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    peak = np.maximum.reduceat(probs, starts) if starts.size else np.zeros(0)
    runs = [(s, e) for s, e, p in zip(starts, ends, peak, strict=False) if p >= params.onset]
    regions: list[list[float]] = []
    for s, e in runs:
        start, end = s * FRAME_SECONDS, e * FRAME_SECONDS
        if end - start < params.min_speech:
            continue
        if regions and start - regions[-1][1] < params.min_silence:
            regions[-1][1] = end
        else:
            regions.append([start, end])
    padded = [(max(0.0, s - params.pad), min(duration, e + params.pad)) for s, e in regions]
    merged: list[Region] = []
    for lo, hi in padded:  # padding can make neighbours touch
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        elif hi > lo:
            merged.append((lo, hi))
    return tuple((round(float(s), 3), round(float(e), 3)) for s, e in merged)


def detect_speech(audio: np.ndarray, params: VadParams = VadParams(), *, level: bool = True) -> tuple[Region, ...]:
    """Speech regions of 16 kHz mono audio (see :func:`speech_regions`)."""
    return speech_regions(speech_probabilities(audio, level=level), audio.size / SAMPLE_RATE, params)


ASR_PARAMS = VadParams(onset=0.5, offset=0.35, min_silence=0.3, pad=0.3, min_speech=0.1)
"""Regions for speech recognition: padded more than for diarization, so no word onset is clipped."""


def asr_regions(probs: np.ndarray, duration: float) -> tuple[Region, ...]:
    """Where the speech recogniser should listen."""
    return speech_regions(probs, duration, ASR_PARAMS)
