"""Speech activity: where in a recording anybody speaks.

Uses the Silero VAD (ONNX) that faster-whisper ships, so no weights are downloaded. The
frame probabilities are turned into regions with our own hysteresis instead of
``faster_whisper.vad.get_speech_timestamps``, whose defaults (2 s minimum silence, 400 ms
padding) are tuned for ASR chunking and merge away the short pauses at speaker changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from services.schema import SAMPLE_RATE

VAD_FRAME = 512
"""Samples per Silero frame (32 ms at 16 kHz)."""

FRAME_SECONDS = VAD_FRAME / SAMPLE_RATE

Region = tuple[float, float]


@dataclass(frozen=True)
class VadParams:
    """How frame probabilities become speech regions.

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
    offset: float = 0.35
    min_silence: float = 0.5
    pad: float = 0.2
    min_speech: float = 0.1


CONTEXT = 64
"""Samples of the previous frame Silero sees in front of each frame."""
BLOCK_FRAMES = 10_000
"""Frames per ONNX call (320 s of audio): bounds the memory a long recording needs."""


@lru_cache(maxsize=1)
def _session(threads: int):  # type: ignore[no-untyped-def]
    import onnxruntime
    from faster_whisper.utils import get_assets_path

    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = threads
    opts.enable_cpu_mem_arena = False
    opts.log_severity_level = 4
    path = os.path.join(get_assets_path(), "silero_vad_v6.onnx")
    return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"], sess_options=opts)


def speech_probabilities(audio: np.ndarray, threads: int = 0) -> np.ndarray:
    """Silero speech probability for every 32 ms frame of the audio.

    The same computation as faster-whisper's ``SileroVADModel`` (each frame with the 64 samples
    before it, the recurrent state carried from block to block), done block by block so that an
    hour of audio never needs its framed copy (about 260 MB) at once.

    Args:
        audio: 16 kHz mono float32 samples.
        threads: ONNX threads (0: all cores).

    Returns:
        A float32 array with one probability per ``VAD_FRAME`` samples (the last frame padded).
    """
    frames = -(-audio.size // VAD_FRAME)
    if frames == 0:
        return np.zeros(0, dtype=np.float32)
    session = _session(threads or os.cpu_count() or 1)
    h = np.zeros((1, 1, 128), dtype=np.float32)
    c = np.zeros((1, 1, 128), dtype=np.float32)
    previous_tail = np.zeros(CONTEXT, dtype=np.float32)
    out = []
    for first in range(0, frames, BLOCK_FRAMES):
        block = audio[first * VAD_FRAME : (first + BLOCK_FRAMES) * VAD_FRAME].astype(np.float32)
        block = np.pad(block, (0, (-block.size) % VAD_FRAME)).reshape(-1, VAD_FRAME)
        context = np.concatenate([previous_tail[None, :], block[:-1, -CONTEXT:]], axis=0)
        previous_tail = block[-1, -CONTEXT:].copy()
        batch = np.concatenate([context, block], axis=1)
        probs, h, c = session.run(None, {"input": batch, "h": h, "c": c})
        out.append(np.asarray(probs, dtype=np.float32).reshape(-1))
    return np.concatenate(out)


def speech_regions(
    probs: np.ndarray, duration: float, params: VadParams = VadParams()
) -> tuple[Region, ...]:
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
    runs = [(s, e) for s, e, p in zip(starts, ends, peak) if p >= params.onset]
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
    for s, e in padded:  # padding can make neighbours touch
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        elif e > s:
            merged.append((s, e))
    return tuple((round(float(s), 3), round(float(e), 3)) for s, e in merged)


def detect_speech(audio: np.ndarray, params: VadParams = VadParams()) -> tuple[Region, ...]:
    """Speech regions of 16 kHz mono audio (see :func:`speech_regions`)."""
    return speech_regions(speech_probabilities(audio), audio.size / SAMPLE_RATE, params)


ASR_PARAMS = VadParams(onset=0.5, offset=0.35, min_silence=0.3, pad=0.3, min_speech=0.1)
"""Regions for speech recognition: padded generously so no word onset is clipped."""


def asr_regions(probs: np.ndarray, duration: float) -> tuple[Region, ...]:
    """Where the speech recogniser should listen."""
    return speech_regions(probs, duration, ASR_PARAMS)
