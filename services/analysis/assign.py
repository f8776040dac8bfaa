"""Give every transcript word a speaker, and split segments where the speaker changes inside them.

Pure functions over the schema's dataclasses: they take segments and turns and return new segments,
so they test with hand-built data.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace
from itertools import groupby

from services.analysis.turns import intersection_length, union
from services.schema import Segment, SpeakerTurn, Word, join_text

NEAREST_TURN_S = 1.0
"""A word outside every turn takes the nearest turn's speaker if it is this close (seconds); farther
away it first takes its neighbouring words' speaker, and only a segment with no such neighbour falls
back to the nearest turn at any distance: no recognised word is left without a speaker."""


class TurnIndex:
    """Speaker turns sorted by start, for fast "who speaks during [start, end]?" questions."""

    def __init__(self, turns: Sequence[SpeakerTurn]) -> None:
        self.turns = sorted(turns, key=lambda t: (t.start, t.end))
        self.starts = [t.start for t in self.turns]
        self.longest = max((t.duration for t in self.turns), default=0.0)

    def speaker_at(self, start: float, end: float) -> str | None:
        """The speaker whose turns overlap ``[start, end]`` most, else the nearest one close by, else None."""
        if not self.turns:
            return None
        overlap: dict[str, float] = {}
        i = bisect.bisect_right(self.starts, end)  # turns from i on start after `end`
        for j in range(i - 1, -1, -1):
            turn = self.turns[j]
            if turn.start < start - self.longest:
                break  # it and every earlier turn end before `start`
            shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
        if overlap:
            return max(overlap, key=lambda s: overlap[s])
        return self._nearest(start, end, i)

    def _nearest(self, start: float, end: float, i: int, limit: float = NEAREST_TURN_S) -> str | None:
        middle = (start + end) / 2
        # Turns sorted by start: the nearest one is among the last few starting before `end`
        # (a long turn may reach past shorter ones) or the first starting after it.
        candidates = self.turns[max(0, i - 8) : i + 1]
        best = min(candidates, key=lambda t: _distance(t, middle))
        return best.speaker if _distance(best, middle) <= limit else None

    def nearest(self, start: float, end: float) -> str | None:
        """The speaker of the turn nearest to ``[start, end]``, however far (None without turns)."""
        if not self.turns:
            return None
        return self._nearest(start, end, bisect.bisect_right(self.starts, end), limit=float("inf"))


def _distance(turn: SpeakerTurn, t: float) -> float:
    return 0.0 if turn.start <= t <= turn.end else min(abs(turn.start - t), abs(turn.end - t))


def assign_speakers(segments: Sequence[Segment], turns: Sequence[SpeakerTurn]) -> list[Segment]:
    """New segments, each with one speaker; a segment whose words change speaker is split there."""
    index = TurnIndex(turns)
    result: list[Segment] = []
    previous: str | None = None
    for segment in segments:
        if not segment.words:
            speaker = (
                index.speaker_at(segment.start, segment.end) or previous or index.nearest(segment.start, segment.end)
            )
            result.append(segment.with_speaker(speaker))
            previous = speaker
            continue
        labelled = _label_words(segment.words, index, previous)
        for speaker, run in groupby(labelled, key=lambda pair: pair[1]):
            words = tuple(w for w, _ in run)
            result.append(
                Segment(
                    start=words[0].start,
                    end=words[-1].end,
                    text=join_text(w.word for w in words),
                    words=words,
                    speaker=speaker,
                    language=segment.language,
                )
            )
        previous = labelled[-1][1]
    return result


def _label_words(words: Sequence[Word], index: TurnIndex, previous: str | None) -> list[tuple[Word, str | None]]:
    labels = [index.speaker_at(w.start, w.end) for w in words]
    # A word no turn covers belongs with its neighbours: carry the last known speaker forward,
    # and for a segment that opens unlabelled, back from the first labelled word.
    last = next((s for s in labels if s is not None), previous)
    filled: list[str | None] = []
    for word, label in zip(words, labels, strict=True):
        last = label if label is not None else (last or index.nearest(word.start, word.end))
        filled.append(last)
    return list(zip(words, filled, strict=True))


OVERLAP_MARK_S = 0.1
"""A segment is marked as overlapped by another speaker who talks over it at least this long (seconds):
two 50 ms frames of the speaker timeline, so one stray frame does not mark it."""


def mark_overlaps(segments: Sequence[Segment], turns: Sequence[SpeakerTurn]) -> list[Segment]:
    """New segments whose ``overlap`` names the other speakers talking while their speaker does."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for turn in turns:
        spans.setdefault(turn.speaker, []).append((turn.start, turn.end))
    merged = {speaker: union(v) for speaker, v in spans.items()}
    out = []
    for segment in segments:
        own = intersection(merged.get(segment.speaker or "", []), [(segment.start, segment.end)])
        others = tuple(
            speaker
            for speaker, theirs in merged.items()
            if speaker != segment.speaker and intersection_length(own, theirs) >= OVERLAP_MARK_S
        )
        out.append(replace(segment, overlap=others) if others != segment.overlap else segment)
    return out


def intersection(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The spans covered by both sorted, non-overlapping span lists."""
    out = []
    for start, end in a:
        for s, e in b:
            lo, hi = max(start, s), min(end, e)
            if hi > lo:
                out.append((lo, hi))
    return union(out)
