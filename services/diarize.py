"""Who spoke when: speech activity, speaker embeddings, clustering -> speaker turns.

FIRST CUT, being replaced: ``embed_speech`` computes what is expensive (speech regions and one
embedding per window); ``assign_turns`` clusters them into turns, cheaply, so a user can re-run it
with another speaker count without touching the audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from services.schema import SAMPLE_RATE, SpeakerTurn, Word

WINDOW_S = 1.5
HOP_S = 0.75


@dataclass(frozen=True)
class SpeakerOptions:
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None

    def __post_init__(self) -> None:
        for name in ("num_speakers", "min_speakers", "max_speakers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be at least 1.")
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError("The minimum number of speakers is above the maximum.")


@dataclass(frozen=True)
class SpeechEmbeddings:
    """What is expensive to compute; saved with ``np.savez`` of its fields and clustered again later."""

    speech: tuple[tuple[float, float], ...]
    windows: np.ndarray  # (n, 2) start/end seconds
    vectors: np.ndarray  # (n, d) float32, L2-normalised
    duration: float


@lru_cache(maxsize=1)
def _encoder():  # type: ignore[no-untyped-def]
    from resemblyzer import VoiceEncoder

    return VoiceEncoder("cpu", verbose=False)


def _speech(audio: np.ndarray) -> list[tuple[float, float]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    opts = VadOptions(min_silence_duration_ms=300, speech_pad_ms=100)
    return [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in get_speech_timestamps(audio, opts)]


def embed_speech(audio: np.ndarray, *, on_progress: Callable[[float], None] | None = None) -> SpeechEmbeddings:
    speech = _speech(audio)
    windows = []
    for start, end in speech:
        t = start
        while t < end:
            windows.append((t, min(t + WINDOW_S, end)))
            t += HOP_S
    windows = [w for w in windows if w[1] - w[0] >= 0.4]
    enc = _encoder()
    vecs = []
    for i, (s, e) in enumerate(windows):
        vecs.append(enc.embed_utterance(audio[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)]))
        if on_progress:
            on_progress((i + 1) / len(windows))
    return SpeechEmbeddings(
        speech=tuple(speech),
        windows=np.asarray(windows, dtype=np.float64).reshape(-1, 2),
        vectors=np.asarray(vecs, dtype=np.float32) if vecs else np.zeros((0, 256), np.float32),
        duration=len(audio) / SAMPLE_RATE,
    )


def assign_turns(emb: SpeechEmbeddings, options: SpeakerOptions = SpeakerOptions(), *, words: Sequence[Word] = ()) -> list[SpeakerTurn]:
    from sklearn.cluster import AgglomerativeClustering

    windows = [tuple(w) for w in emb.windows]
    x = emb.vectors
    if not windows:
        return []
    k = options.num_speakers
    if len(x) < 2:
        labels = np.zeros(len(x), dtype=int)
    else:
        model = AgglomerativeClustering(
            n_clusters=min(k, len(x)) if k else None,
            distance_threshold=None if k else 0.35,
            metric="cosine",
            linkage="average",
        )
        labels = model.fit_predict(x)
    order: dict[int, str] = {}
    turns: list[SpeakerTurn] = []
    for (s, e), label in zip(windows, labels):
        name = order.setdefault(int(label), f"SPEAKER_{len(order):02d}")
        if turns and turns[-1].speaker == name and s <= turns[-1].end + 0.01:
            turns[-1] = SpeakerTurn(turns[-1].start, max(e, turns[-1].end), name)
        elif turns and s < turns[-1].end:
            mid = (s + turns[-1].end) / 2
            turns[-1] = SpeakerTurn(turns[-1].start, mid, turns[-1].speaker)
            turns.append(SpeakerTurn(mid, e, name))
        else:
            turns.append(SpeakerTurn(s, e, name))
    return turns


def diarize(
    audio: np.ndarray,
    options: SpeakerOptions = SpeakerOptions(),
    *,
    words: Sequence[Word] = (),
    on_progress: Callable[[float], None] | None = None,
) -> list[SpeakerTurn]:
    """``embed_speech`` then ``assign_turns``."""
    return assign_turns(embed_speech(audio, on_progress=on_progress), options, words=words)
