"""Batched Whisper without dropped speech: pack speech into chunks, check each chunk, redo the doubtful.

Batched decoding (faster-whisper's ``BatchedInferencePipeline``) transcribes many 30-second chunks
at once, but each chunk is decoded in one go without timestamps: on hard audio (far-field
meetings, crosstalk) Whisper sometimes stops early or returns nothing, and a whole chunk of speech
is lost; sequential decoding would have seeked past the stop or fallen back to another
temperature. So every chunk is checked after the batched pass:

- **coverage**: the share of the chunk's speech (by the VAD) that recognised words cover;
- **repetition and confidence**: Whisper's own compression-ratio and log-probability signals.

Chunks that fail are decoded again, alone, the careful way (beam search with temperature
fallback). Easy chunks, usually most of them, pay only the batched price. These are pure
functions over times and segments; ``services.analysis.asr.transcribe`` runs the model.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

Region = tuple[float, float]

MAX_CHUNK_S = 30.0
"""Whisper's window: a chunk never holds more than this many seconds."""
MIN_COVERAGE = 0.8
"""A chunk whose words cover less of its speech than this is decoded again."""
WORD_SLACK_S = 0.3
"""Each word counts as covering this much audio on either side (pauses between words)."""
MAX_COMPRESSION_RATIO = 2.4  # Whisper's own thresholds for "this output is a repetition loop"
MIN_AVG_LOGPROB = -1.0  # ... and for "this output is a guess"


class DecodedWord(Protocol):
    """The fields of a faster-whisper word the checks read."""

    start: float
    end: float


class DecodedSegment(Protocol):
    """The fields of a faster-whisper segment the checks read."""

    start: float
    end: float
    avg_logprob: float
    compression_ratio: float
    words: Sequence[DecodedWord] | None


@dataclass(frozen=True)
class Chunk:
    """Up to ``MAX_CHUNK_S`` seconds of audio holding one or more speech regions."""

    start: float
    end: float
    speech: tuple[Region, ...]

    @property
    def speech_seconds(self) -> float:
        return sum(e - s for s, e in self.speech)


def pack_chunks(speech: Sequence[Region], max_len: float = MAX_CHUNK_S) -> list[Chunk]:
    """Group consecutive speech regions into chunks of at most ``max_len`` seconds.

    A region longer than ``max_len`` is cut into pieces (VAD usually splits long speech first).
    """
    pieces: list[Region] = []
    for start, end in speech:
        while end - start > max_len:
            pieces.append((start, start + max_len))
            start += max_len
        if end > start:
            pieces.append((start, end))
    chunks: list[Chunk] = []
    for start, end in pieces:
        if chunks and end - chunks[-1].start <= max_len:
            last = chunks[-1]
            chunks[-1] = Chunk(last.start, end, (*last.speech, (start, end)))
        else:
            chunks.append(Chunk(start, end, ((start, end),)))
    return chunks


def owner_of(chunks: Sequence[Chunk], time: float) -> int:
    """Index of the chunk a segment starting at ``time`` belongs to."""
    starts = [c.start for c in chunks]
    return max(0, bisect.bisect_right(starts, time + 0.05) - 1)


def coverage(chunk: Chunk, word_spans: Sequence[Region]) -> float:
    """Share (0..1) of the chunk's speech time covered by the given word spans."""
    if chunk.speech_seconds <= 0:
        return 1.0
    spans = sorted((max(chunk.start, s - WORD_SLACK_S), min(chunk.end, e + WORD_SLACK_S)) for s, e in word_spans)
    covered, reach = 0.0, chunk.start
    for start, end in spans:
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return min(1.0, covered / chunk.speech_seconds)


def needs_second_look(chunk: Chunk, segments: Sequence[DecodedSegment]) -> bool:
    """True when the batched output of ``chunk`` probably lost speech or went astray."""
    words = [(float(w.start), float(w.end)) for s in segments for w in (s.words or ())]
    if coverage(chunk, words) < MIN_COVERAGE:
        return True
    return any(s.compression_ratio > MAX_COMPRESSION_RATIO or s.avg_logprob < MIN_AVG_LOGPROB for s in segments)
