"""Recordings with one microphone (or phone line) per speaker: diarize the channels jointly.

A mono downmix of such a recording turns simultaneous talk into one mixed voice that no
speaker embedding can attribute. When the channels carry different signals, each channel
is embedded on its own and all windows are clustered together: a voice that leaks into
another channel lands in the same cluster, and talk on two channels at once becomes
overlapping turns, as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from services.analysis.diarization.diarize import (
    CHANNEL_GAP,
    SpeechEmbeddings,
    assign_turns,
    embed_speech,
)
from services.analysis.diarization.embedder import Embedder
from services.analysis.options import SpeakerOptions
from services.schema import SpeakerTurn, Word

DISTINCT_BELOW = 0.7
"""Channels whose waveforms correlate less than this are treated as separate signals
(a panned stereo mix of one microphone correlates far more)."""


def channels_are_distinct(channels: np.ndarray) -> bool:
    """Whether every pair of channels carries a different signal.

    Args:
        channels: (C, N) float samples.
    """
    if channels.ndim != 2 or channels.shape[0] < 2:
        return False
    x = channels.astype(np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1)
    if np.any(norms == 0):
        return False
    corr = (x @ x.T) / np.outer(norms, norms)
    off = corr[~np.eye(len(corr), dtype=bool)]
    return bool(np.all(np.abs(off) < DISTINCT_BELOW))


def embed_channels(
    channels: np.ndarray,
    *,
    on_progress: Callable[[float], None] | None = None,
    device: str = "cpu",
    threads: int | None = 1,
    embedder: Embedder | None = None,
) -> SpeechEmbeddings:
    """Embed each channel (16 kHz float32, shape (C, N)) and lay them end to end in time.

    Channels that are copies of each other are downmixed and embedded once instead.
    """
    channels = np.asarray(channels, dtype=np.float32)
    if channels.ndim == 1:
        channels = channels[None, :]
    if not channels_are_distinct(channels):
        mono = channels.mean(axis=0)
        return embed_speech(mono, on_progress=on_progress, device=device, threads=threads, embedder=embedder)
    count = channels.shape[0]
    parts = []
    for c in range(count):
        report = None if on_progress is None else _share_of(on_progress, c, count)
        audio = np.ascontiguousarray(channels[c])
        parts.append(embed_speech(audio, on_progress=report, device=device, threads=threads, embedder=embedder))
    duration = parts[0].duration
    stride = duration + CHANNEL_GAP
    speech = tuple((s + c * stride, e + c * stride) for c, p in enumerate(parts) for s, e in p.speech)
    windows = np.concatenate([p.windows + c * stride for c, p in enumerate(parts)]).reshape(-1, 2)
    vectors = np.concatenate([p.vectors for p in parts]).reshape(-1, parts[0].vectors.shape[1])
    return SpeechEmbeddings(speech, windows, vectors, duration, channels=count)


def _share_of(on_progress: Callable[[float], None], channel: int, count: int) -> Callable[[float], None]:
    """Progress of one channel's embedding as its share of all ``count`` channels."""
    return lambda fraction: on_progress((channel + fraction) / count)


def diarize_channels(
    channels: np.ndarray,
    options: SpeakerOptions = SpeakerOptions(),
    *,
    words: Sequence[Word] = (),
    on_progress: Callable[[float], None] | None = None,
    device: str = "cpu",
    threads: int | None = 1,
) -> list[SpeakerTurn]:
    """:func:`embed_channels` then :func:`services.analysis.diarization.diarize.assign_turns`."""
    emb = embed_channels(channels, on_progress=on_progress, device=device, threads=threads)
    return assign_turns(emb, options, words=words)
