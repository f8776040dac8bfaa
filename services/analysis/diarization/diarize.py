"""Speaker diarization: who speaks when, offline on CPU.

Pipeline: Silero speech activity (``services.analysis.vad``) -> resemblyzer d-vectors on 1.6 s windows
every 0.4 s inside the speech (``services.analysis.diarization.embeddings``) -> spectral clustering with eigengap
count estimation (``services.analysis.diarization.clustering``) -> 50 ms Viterbi re-segmentation
(``services.analysis.diarization.resegment``) -> optional snapping of speaker changes out of recognised words
(``services.analysis.diarization.refine``). Recordings with one channel per speaker: ``services.analysis.channels``.

``embed_speech`` holds everything expensive; ``assign_turns`` only needs its result, so the
app can re-diarize with another speaker count without the audio.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from services.analysis.diarization import clustering, overlap, refine, resegment
from services.analysis.diarization.embedder import Embedder, ResemblyzerEmbedder
from services.analysis.diarization.embeddings import window_grid
from services.analysis.options import SpeakerOptions
from services.analysis.vad import VadParams, speech_probabilities, speech_regions
from services.schema import SAMPLE_RATE, SpeakerCount, SpeakerTurn, Word

MIN_AUDIO_SECONDS = 0.3
WINDOW = 1.6
"""Embedding window (s): resemblyzer's training partial length."""
HOP = 0.4
MIN_WINDOW = 0.4
"""Speech stretches shorter than this get no embedding of their own."""
MAX_WINDOWS = 3000
"""Above this (about 25 min of speech) the hop grows, bounding time and memory."""
VAD_SHARE = 0.35
"""Part of ``on_progress``'s 0..1 range spent in speech detection."""
CHANNEL_GAP = 10.0
"""Seconds between channels laid end to end (more than a window, so none spans two)."""


class Turns(list):
    """Speaker turns (a plain list of ``SpeakerTurn``) that also carry how sure their count is."""

    def __init__(self, turns: Sequence[SpeakerTurn] = (), count: SpeakerCount | None = None) -> None:
        super().__init__(turns)
        self.speaker_count = count


@dataclass(frozen=True)
class SpeechEmbeddings:
    """The expensive part of diarization; can be saved and clustered again later.

    Attributes:
        speech: Speech regions (start, end) in seconds.
        windows: (n, 2) window start/end seconds.
        vectors: (n, d) float32 L2-normalised embeddings.
        duration: Seconds of audio.
        channels: 1, or the number of separately embedded channels (``services.analysis.channels``):
            channel c then lives at ``c * (duration + CHANNEL_GAP)`` on the time axis of
            ``speech`` and ``windows``, and :func:`assign_turns` folds it back.
        phone_rows: Indices of the windows also embedded as a telephone would pass them
            (``services.analysis.diarization.phone_windows``); empty when not computed.
        phone_vectors: (len(phone_rows), d) those windows' telephone embeddings.
        narrowband: the speech holds nothing above the telephone band (``services.analysis.phone_band``).
    """

    speech: tuple[tuple[float, float], ...]
    windows: np.ndarray = field(repr=False)
    vectors: np.ndarray = field(repr=False)
    duration: float = 0.0
    channels: int = 1
    phone_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    phone_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32), repr=False)
    narrowband: bool = False

    @property
    def span(self) -> float:
        """Length of the time axis of ``speech`` and ``windows``."""
        return self.channels * (self.duration + CHANNEL_GAP) - CHANNEL_GAP

    def to_npz(self, path: str | Path | BinaryIO) -> None:
        """Save to an ``.npz`` file (a path or a writable binary file)."""
        np.savez(
            path,
            speech=np.asarray(self.speech, dtype=np.float64).reshape(-1, 2),
            windows=np.asarray(self.windows, dtype=np.float64).reshape(-1, 2),
            vectors=np.asarray(self.vectors, dtype=np.float32),
            duration=np.float64(self.duration),
            channels=np.int64(self.channels),
            phone_rows=np.asarray(self.phone_rows, dtype=np.int64).reshape(-1),
            phone_vectors=np.asarray(self.phone_vectors, dtype=np.float32),
            narrowband=np.bool_(self.narrowband),
        )

    @classmethod
    def from_npz(cls, path: str | Path | BinaryIO) -> SpeechEmbeddings:
        """Load what :meth:`to_npz` saved (files from before the telephone windows load without them)."""
        with np.load(path, allow_pickle=False) as data:
            phone = "phone_rows" in data and "phone_vectors" in data
            return cls(
                speech=tuple((float(s), float(e)) for s, e in data["speech"]),
                windows=data["windows"].astype(np.float64),
                vectors=data["vectors"].astype(np.float32),
                duration=float(data["duration"]),
                channels=int(data["channels"]) if "channels" in data else 1,
                phone_rows=data["phone_rows"].astype(np.int64) if phone else np.zeros(0, dtype=np.int64),
                phone_vectors=data["phone_vectors"].astype(np.float32) if phone else np.zeros((0, 0), np.float32),
                narrowband=bool(data["narrowband"]) if "narrowband" in data else False,
            )


def embed_speech(
    audio: np.ndarray,
    *,
    on_progress: Callable[[float], None] | None = None,
    device: str = "cpu",
    threads: int | None = 1,
    vad: VadParams = VadParams(),
    probabilities: np.ndarray | None = None,
    embedder: Embedder | None = None,
) -> SpeechEmbeddings:
    """Find the speech and embed it.

    Args:
        audio: 16 kHz mono float32 samples (1-D).
        on_progress: Called with the fraction done (0..1), several times, increasing.
        probabilities: Silero frame probabilities already computed for this audio
            (``services.analysis.vad.speech_probabilities``); the pipeline runs the VAD once for both
            speech recognition and diarization.
        device: torch device for the speaker encoder.
        threads: torch CPU threads for the encoder, restored afterwards (None: the process
            setting). 1 by default: on a busy 2-core machine 2 threads made a 60 min file
            take 89 s instead of 21 s (threads spin-waiting), idle they gain about 1.3x.
        vad: Speech activity settings.
        embedder: What computes the speaker vectors (``services.analysis.diarization.embedder``); resemblyzer on
            ``device`` with ``threads`` by default.

    Returns:
        The speech regions, windows and their embeddings.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(
            f"audio must be 1-D 16 kHz mono, got shape {audio.shape}; "
            "use services.analysis.channels for one channel per speaker"
        )
    duration = audio.size / SAMPLE_RATE
    report = on_progress or (lambda fraction: None)
    if duration < MIN_AUDIO_SECONDS:
        report(1.0)
        return _empty(duration)
    # Speech detection takes about a third of the time, the encoder the rest.
    if probabilities is None:
        probabilities = speech_probabilities(audio, on_progress=lambda f: report(VAD_SHARE * f))
    speech = speech_regions(probabilities, duration, vad)
    report(VAD_SHARE)
    speech_seconds = sum(e - s for s, e in speech)
    hop = max(HOP, speech_seconds / MAX_WINDOWS)
    windows = window_grid(speech, WINDOW, hop, MIN_WINDOW)
    embedder = embedder or ResemblyzerEmbedder(device, threads)
    vectors = embedder.embed(audio, windows, speech, on_progress=lambda f: report(VAD_SHARE + (1.0 - VAD_SHARE) * f))
    report(1.0)
    return SpeechEmbeddings(speech=speech, windows=windows, vectors=vectors, duration=duration)


def _empty(duration: float) -> SpeechEmbeddings:
    """Embeddings of a recording without speech."""
    return SpeechEmbeddings((), np.zeros((0, 2)), np.zeros((0, 256), dtype=np.float32), duration)


def assign_turns(
    emb: SpeechEmbeddings,
    options: SpeakerOptions = SpeakerOptions(),
    *,
    words: Sequence[Word] = (),
) -> Turns:
    """Speaker turns from embeddings (fast: no audio, no neural network).

    Args:
        emb: Output of :func:`embed_speech`.
        options: Known or bounded number of speakers.
        words: Optional recognised words: every word is treated as speech (a word the speech
            detector missed gets the nearest speaker) and no speaker change falls inside a word
            (ignored for channel-wise embeddings).

    Returns:
        Turns sorted by start, labelled ``SPEAKER_00``, ``SPEAKER_01``, ... in order of first
        appearance, with ``speaker_count`` (the count and its runner-up). Turns of different
        speakers overlap where both talk at once (``services.analysis.diarization.overlap``).
    """
    if len(emb.vectors) == 0:
        return Turns((), SpeakerCount(0))
    lo, hi = options.bounds(clustering.MAX_SPEAKERS)
    labels, count = clustering.cluster(
        emb.vectors, emb.windows, num_speakers=options.num_speakers, min_speakers=lo, max_speakers=hi
    )
    centres = resegment.centroids(emb.vectors, labels)
    scores, weight = resegment.frame_scores(emb.windows, emb.vectors, centres, emb.span)
    mask = resegment.speech_mask(emb.speech, len(scores))
    path = np.zeros(len(scores), dtype=int)
    speech_frames = np.flatnonzero(mask)
    path[speech_frames] = resegment.viterbi(scores[speech_frames], weight[speech_frames] > 0)
    second = overlap.overlap_segments(path, mask, scores, weight > 0)
    if words and emb.channels == 1:
        path, mask = refine.cover_words(path, mask, words)
        path, mask = refine.apply_words(path, mask, words)
    turns = label_turns(_fold(resegment.runs(path, mask) + second, emb))
    return Turns(turns, count.settled(len({t.speaker for t in turns})))


def _fold(segments: list[tuple[float, float, int]], emb: SpeechEmbeddings) -> list[tuple[float, float, int]]:
    """Channel-local times for channels laid end to end (identity for one channel)."""
    if emb.channels == 1:
        return segments
    stride = emb.duration + CHANNEL_GAP
    out = []
    for start, end, speaker in segments:
        offset = float(np.floor(start / stride) * stride)
        out.append((round(start - offset, 3), round(min(end - offset, emb.duration), 3), speaker))
    return out


def label_turns(segments: Sequence[tuple[float, float, int]]) -> list[SpeakerTurn]:
    """Name speakers SPEAKER_00.. by first appearance; merge touching or overlapping same-speaker pieces."""
    names: dict[int, str] = {}
    merged: dict[int, list[list[float]]] = {}
    for start, end, speaker in sorted(segments):
        names.setdefault(speaker, f"SPEAKER_{len(names):02d}")
        spans = merged.setdefault(speaker, [])
        if spans and start <= spans[-1][1] + 1e-6:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    turns = [SpeakerTurn(s, e, names[spk]) for spk, spans in merged.items() for s, e in spans]
    return sorted(turns, key=lambda t: (t.start, t.end, t.speaker))


def diarize(
    audio: np.ndarray,
    options: SpeakerOptions = SpeakerOptions(),
    *,
    words: Sequence[Word] = (),
    on_progress: Callable[[float], None] | None = None,
    device: str = "cpu",
    threads: int | None = 1,
) -> Turns:
    """:func:`embed_speech` then :func:`assign_turns`."""
    emb = embed_speech(audio, on_progress=on_progress, device=device, threads=threads)
    return assign_turns(emb, options, words=words)
