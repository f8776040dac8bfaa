"""Recordings made in the browser (VAD recordings): cut leading/trailing silence and long pauses, then analyse.

The Silero VAD that faster-whisper ships finds the speech; everything outside it (with a little
padding kept around each stretch of speech) is cut, and pauses longer than ``max_pause`` shrink
to about twice the padding. The trimmed audio goes through the same ``services.analysis.pipeline.analyze``
as any upload.

Timestamps in the result refer to the ORIGINAL recording, not the trimmed audio: every segment,
word and speaker turn is mapped back through the kept spans. The stored file is the original (the
task page plays it, exports are aligned to it), so a time of 12.3 s means 12.3 s into what the
user recorded. A speaker turn that crosses a cut is split at the cut, so talk time never counts
removed silence; a segment keeps one start and end (it may bridge a removed pause). Model times
that spill across a cut into the padding are snapped to the side where the speech is (``TimeMap``).
``duration`` is the original duration.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from services.analysis.artifacts import Artifacts, TimeBase
from services.analysis.asr.transcribe import Transcriber
from services.analysis.audio import decode
from services.analysis.options import AnalysisOptions
from services.analysis.pipeline import (
    ArtifactsCallback,
    Diarizer,
    ProgressCallback,
    analyze,
    speakers_of,
)
from services.schema import SAMPLE_RATE, AnalysisResult, Segment, SpeakerTurn, Word

Span = tuple[float, float]

# Share of the whole run (see services.analysis.pipeline.STAGE_SHARES: decode is 0.03, transcription starts there).
DECODE_END, TRIM_END = 0.02, 0.03


@dataclass(frozen=True)
class TrimOptions:
    """How much silence to cut."""

    max_pause: float = 2.0
    """Pauses at least this long (seconds) are cut; shorter ones are left alone."""
    padding: float = 0.4
    """Seconds of audio kept before and after each stretch of speech."""


@dataclass(frozen=True)
class Trimmed:
    """Audio with the silence cut out, and where each kept piece came from."""

    audio: np.ndarray
    spans: tuple[Span, ...]
    """The kept pieces of the original, in seconds, in order; the trimmed audio is their concatenation."""
    original_duration: float

    @property
    def removed(self) -> float:
        """Seconds of silence that were cut."""
        return self.original_duration - len(self.audio) / SAMPLE_RATE


def speech_spans(audio: np.ndarray, options: TrimOptions = TrimOptions()) -> list[Span]:
    """Stretches of speech (padded, in seconds) by the Silero VAD; pauses under ``max_pause`` are bridged."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(min_silence_duration_ms=int(options.max_pause * 1000), speech_pad_ms=int(options.padding * 1000))
    chunks = get_speech_timestamps(audio, vad, sampling_rate=SAMPLE_RATE)
    return merge_spans([(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in chunks])


def merge_spans(spans: Sequence[Span]) -> list[Span]:
    """Sorted spans with overlapping or touching ones joined."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def trim_silence(audio: np.ndarray, options: TrimOptions = TrimOptions()) -> Trimmed:
    """The recording without its leading/trailing silence and long pauses.

    When the VAD hears no speech at all, nothing is cut: the analysis then sees the recording as
    it is (and reports that it found no speech).
    """
    duration = len(audio) / SAMPLE_RATE
    spans = speech_spans(audio, options) or [(0.0, duration)]
    # Cut on whole samples and keep the spans in those units, so mapping back matches what was analysed.
    bounds = [(round(s * SAMPLE_RATE), min(len(audio), round(e * SAMPLE_RATE))) for s, e in spans]
    pieces = [audio[a:b] for a, b in bounds]
    return Trimmed(
        audio=np.concatenate(pieces).astype(np.float32, copy=False),
        spans=tuple((a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in bounds),
        original_duration=duration,
    )


class TimeMap:
    """Maps times in the trimmed audio back to the original recording.

    ``edge``: Whisper's and the diarizer's times near a cut can spill a little into the silence
    padding on the other side of it. When a stretch crosses a cut, a piece at either end that is
    shorter than ``edge`` (the trim padding) is that spill and is dropped, so a word that starts
    just before a cut lands where its speech is, after the removed pause.
    """

    def __init__(self, spans: Sequence[Span], *, edge: float = 0.0) -> None:
        self.spans = list(spans)
        self.edge = edge
        self.offsets: list[float] = []  # where each span starts in the trimmed audio
        total = 0.0
        for start, end in self.spans:
            self.offsets.append(total)
            total += end - start
        self.trimmed_duration = total

    def to_original(self, t: float, *, is_end: bool = False) -> float:
        """The original time of the instant ``t``.

        An instant exactly at a cut belongs to the piece after it, unless it is an end (``is_end``),
        which belongs to the piece before.
        """
        if not self.spans:
            return t
        index = (bisect_left(self.offsets, t) if is_end else bisect_right(self.offsets, t)) - 1
        index = max(0, min(index, len(self.spans) - 1))
        start, end = self.spans[index]
        return start + min(max(0.0, t - self.offsets[index]), end - start)

    def pieces(self, start: float, end: float) -> list[Span]:
        """The original pieces of the trimmed stretch ``start..end``, split at every cut it crosses."""
        pieces = []
        for offset, (span_start, span_end) in zip(self.offsets, self.spans, strict=False):
            lo, hi = max(start, offset), min(end, offset + span_end - span_start)
            if hi > lo:
                pieces.append((span_start + lo - offset, span_start + hi - offset))
        if len(pieces) > 1:
            kept = pieces[:]
            if kept[0][1] - kept[0][0] < self.edge:
                kept = kept[1:]
            if kept and kept[-1][1] - kept[-1][0] < self.edge:
                kept = kept[:-1]
            pieces = kept or [max(pieces, key=lambda p: p[1] - p[0])]
        return pieces

    def interval(self, start: float, end: float) -> Span:
        """The original start and end of the trimmed stretch ``start..end`` (it may bridge a removed pause)."""
        pieces = self.pieces(start, end)
        if not pieces:  # an instant
            point = self.to_original(start)
            return point, point
        return pieces[0][0], pieces[-1][1]


def map_result(
    result: AnalysisResult, spans: Sequence[Span], original_duration: float, *, edge: float = 0.0
) -> AnalysisResult:
    """``result`` (timed on the trimmed audio) with every time moved to the original recording.

    Words and segments keep one start and end; speaker turns are split at the cuts they cross, so
    talk time never counts removed silence.
    """
    tmap = TimeMap(spans, edge=edge)

    def word(w: Word) -> Word:
        start, end = tmap.interval(w.start, w.end)
        return replace(w, start=start, end=end)

    def segment(s: Segment) -> Segment:
        start, end = tmap.interval(s.start, s.end)
        return replace(s, start=start, end=end, words=tuple(word(w) for w in s.words))

    turns = tuple(
        SpeakerTurn(start, end, t.speaker) for t in result.turns for start, end in tmap.pieces(t.start, t.end)
    )
    return replace(
        result,
        duration=original_duration,
        segments=tuple(segment(s) for s in result.segments),
        turns=turns,
        speakers=tuple(speakers_of(list(turns))),
    )


def analyze_trimmed_file(
    path: str | os.PathLike[str],
    transcriber: Transcriber,
    options: AnalysisOptions = AnalysisOptions(),
    on_progress: ProgressCallback | None = None,
    *,
    diarizer: Diarizer | None = None,
    on_artifacts: ArtifactsCallback | None = None,
    trim: TrimOptions = TrimOptions(),
    max_seconds: float | None = None,
) -> AnalysisResult:
    """Decode, cut the silence, analyse, and map every time back to the original recording.

    Same signature as ``services.analysis.pipeline.analyze_file``, so ``services.jobs.runner.run_analysis`` runs
    either. Timings gain ``trim``; the result's ``duration`` is the original's. The artifacts are
    timed on the trimmed audio and carry the kept spans (``TimeBase``), so a re-run maps back the same way.
    """
    report = on_progress or (lambda _stage, _fraction: None)
    report("decode", 0.0)
    started = time.perf_counter()
    audio = decode(path, max_seconds=max_seconds)
    decoded = time.perf_counter()
    report("trim", DECODE_END)
    trimmed = trim_silence(audio, trim)
    del audio
    report("trim", TRIM_END)
    trimmed_at = time.perf_counter()
    time_base = TimeBase(spans=trimmed.spans, original_duration=trimmed.original_duration, edge=trim.padding)

    def keep(artifacts: Artifacts) -> None:
        if on_artifacts:
            on_artifacts(replace(artifacts, time_base=time_base))

    result = analyze(trimmed.audio, transcriber, options, on_progress, diarizer=diarizer, on_artifacts=keep)
    mapped = map_result(result, trimmed.spans, trimmed.original_duration, edge=trim.padding)
    timings = {"decode": decoded - started, "trim": trimmed_at - decoded, **result.timings}
    return replace(mapped, timings=timings)
