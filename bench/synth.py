"""Stitched test recordings with known speakers, built from the reference audio in tests/data.

Voices: the two phone-call speakers of sample.wav and the two AMI speakers of dev00/dev01
(cut out where the reference says exactly one of them talks), J. F. Kennedy (jfk.flac), the
English and the German reader of multilingual.mp3 (their d-vectors are as far apart as those of
different people, so they are kept as two voices) and the two channels of
stereo_diarization.wav. ``speed`` variants (resampled 0.85x / 1.17x, which moves pitch and
formants like a different vocal tract) give more same-channel voices for count tests up to 8.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from bench.corpus import data_dir
from services.schema import SAMPLE_RATE, SpeakerTurn

DATA = data_dir()
SPLIT_READER_AT = 30.0
"""multilingual.mp3: English before this second, German after."""


@dataclass(frozen=True)
class Stitched:
    """A synthetic recording and who speaks when in it."""

    audio: np.ndarray
    turns: tuple[SpeakerTurn, ...]

    @property
    def speakers(self) -> int:
        return len({t.speaker for t in self.turns})


def decode(name: str, data: Path = DATA) -> np.ndarray:
    """16 kHz mono float32 of a file in the data folder."""
    from faster_whisper import decode_audio

    return decode_audio(str(data / name), sampling_rate=SAMPLE_RATE)


@functools.lru_cache(maxsize=2)
def voice_pools(data: Path = DATA) -> dict[str, tuple[np.ndarray, ...]]:
    """Clean single-speaker speech pieces for every voice in the data folder."""
    import soundfile as sf
    from pyannote.database.util import load_rttm

    from services.analysis.vad import VadParams, detect_speech

    # Fixed settings, level as recorded: the voices must not change with the detector under test.
    tight = VadParams(onset=0.5, offset=0.35, min_silence=0.3, pad=0.05, min_speech=0.3)
    pools: dict[str, list[np.ndarray]] = {}
    refs = {**load_rttm(str(data / "sample.rttm")), **load_rttm(str(data / "debug.development.rttm"))}
    for file_id in ("sample", "dev00", "dev01"):
        audio, ref = decode(f"{file_id}.wav", data), refs[file_id]
        overlap = ref.get_overlap()
        for label in sorted(ref.labels()):
            for seg in ref.label_timeline(label).support().extrude(overlap):
                if seg.duration >= 0.5:
                    pools.setdefault(str(label), []).append(_cut(audio, seg.start, seg.end))
    jfk = decode("jfk.flac", data)
    pools["jfk"] = [_cut(jfk, s, e) for s, e in detect_speech(jfk, tight, level=False)]
    reader = decode("multilingual.mp3", data)
    for s, e in detect_speech(reader, tight, level=False):
        language = "en" if e <= SPLIT_READER_AT else "de"
        pools.setdefault(f"reader_{language}", []).append(_cut(reader, s, e))
    stereo, _ = sf.read(str(data / "stereo_diarization.wav"), dtype="float32")
    for channel, name in ((0, "stereo_left"), (1, "stereo_right")):
        mono = np.ascontiguousarray(stereo[:, channel])
        pools[name] = [_cut(mono, s, e) for s, e in detect_speech(mono, tight, level=False)]
    return {k: tuple(v) for k, v in pools.items() if v}


def _cut(audio: np.ndarray, start: float, end: float) -> np.ndarray:
    return audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)].copy()


def speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (pitch and formants move with it)."""
    from scipy.signal import resample_poly

    ratio = Fraction(factor).limit_denominator(100)
    return resample_poly(audio, ratio.denominator, ratio.numerator).astype(np.float32)


def with_speed_variants(pools: dict[str, tuple[np.ndarray, ...]], factors=(0.85, 1.17)):
    """The pools plus resampled copies named ``voice@factor``."""
    out = dict(pools)
    for name, pieces in pools.items():
        for f in factors:
            out[f"{name}@{f}"] = tuple(speed(p, f) for p in pieces)
    return out


def conversation(
    pools: dict[str, tuple[np.ndarray, ...]],
    voices: list[str],
    *,
    seconds: float = 60.0,
    seed: int = 0,
    median_turn: float = 2.5,
    level_db: float = -26.0,
    loop: bool = False,
    overlap: float = 0.0,
) -> Stitched:
    """Alternate turns of the given voices, separated by short pauses.

    Turn lengths are log-normal around ``median_turn`` (0.6 to 8 s); each turn continues
    the voice's material where its last turn stopped. Without ``loop`` a voice leaves the
    conversation when its material is used up (repeated audio would give identical
    embeddings, which real speech never does); with it the material repeats, which is only
    fit for timing runs. Every turn is brought to the same loudness so level is no cue.
    """
    rng = np.random.default_rng(seed)
    streams = {v: np.concatenate(pools[v]) for v in voices}
    cursor = {v: 0 for v in voices}
    mix = np.zeros(int((seconds + 20) * SAMPLE_RATE), dtype=np.float32)
    turns: list[SpeakerTurn] = []
    t, last = 0.0, None
    order = list(voices)  # every voice speaks early, then random order
    while t < seconds:
        active = [v for v in voices if loop or cursor[v] < streams[v].size - 0.3 * SAMPLE_RATE]
        if not active:
            break
        voice = order.pop(0) if order else str(rng.choice([v for v in active if v != last] or active))
        length = int(np.clip(rng.lognormal(np.log(median_turn), 0.6), 0.6, 8.0) * SAMPLE_RATE)
        stream = streams[voice]
        if loop:
            piece = stream[(cursor[voice] + np.arange(length)) % stream.size]
        else:
            piece = stream[cursor[voice] : cursor[voice] + length]
        cursor[voice] = int((cursor[voice] + length) % stream.size) if loop else cursor[voice] + length
        piece = at_level(piece, level_db)
        if overlap and turns and rng.random() < overlap:
            step = -min(rng.uniform(0.2, 1.0), 0.5 * (turns[-1].end - turns[-1].start))
        else:
            step = rng.uniform(0.15, 0.7)
        t = max(0.0, t + step)
        start = round(t * SAMPLE_RATE)
        if start + piece.size > mix.size:
            break
        mix[start : start + piece.size] += piece.astype(np.float32)
        turns.append(SpeakerTurn(round(t, 3), round(t + piece.size / SAMPLE_RATE, 3), voice))
        t += piece.size / SAMPLE_RATE
        last = voice
    end = int((t + 0.3) * SAMPLE_RATE)
    mix = mix[:end] + _noise(rng, end)
    return Stitched(mix, tuple(turns))


def at_level(piece: np.ndarray, level_db: float) -> np.ndarray:
    """``piece`` scaled to an RMS of ``level_db`` dBFS, so that loudness is no cue to who speaks."""
    return piece * (10 ** (level_db / 20) / (np.sqrt(np.mean(piece**2)) + 1e-9))


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return (rng.standard_normal(n) * 10 ** (-70 / 20)).astype(np.float32)


def round_robin(pools: dict[str, tuple[np.ndarray, ...]], voices: list[str], *, gap: float = 0.4) -> Stitched:
    """Each voice's natural pieces in turn (v1 piece 1, v2 piece 1, ..., v1 piece 2, ...)."""
    rng = np.random.default_rng(0)
    parts: list[np.ndarray] = []
    turns: list[SpeakerTurn] = []
    t = 0.0
    for index in range(max(len(pools[v]) for v in voices)):
        for voice in voices:
            if index >= len(pools[voice]):
                continue
            piece = pools[voice][index]
            parts += [_noise(rng, int(gap * SAMPLE_RATE)), piece]
            t += gap
            turns.append(SpeakerTurn(round(t, 3), round(t + piece.size / SAMPLE_RATE, 3), voice))
            t += piece.size / SAMPLE_RATE
    parts.append(_noise(rng, int(gap * SAMPLE_RATE)))
    return Stitched(np.concatenate(parts), tuple(turns))


def stitched_three(data: Path = DATA) -> Stitched:
    """The 3-speaker count test: J. F. Kennedy and the two phone-call speakers of sample.wav.

    The reader of multilingual.mp3 is left out on purpose: its English and German halves
    sound like two different people to the embedder, so it is no clean single voice.
    """
    return round_robin(voice_pools(data), ["jfk", "speaker90", "speaker91"])


def long_recording(minutes: float, data: Path = DATA, seed: int = 0) -> Stitched:
    """A long meeting-like recording (6 voices) for timing and memory runs."""
    pools = with_speed_variants(voice_pools(data), factors=(0.85,))
    voices = ["MEE009", "MEE012", "speaker90", "reader_en", "jfk@0.85", "speaker91@0.85"]
    return conversation(pools, voices, seconds=minutes * 60.0, seed=seed, median_turn=4.0, loop=True)
