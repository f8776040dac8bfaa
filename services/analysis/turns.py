"""Arithmetic on speaker turns: talk time, joining a speaker's pieces, where speakers overlap.

Pure functions over ``SpeakerTurn`` tuples; the pipeline, the edits and the statistics share them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.schema import Speaker, SpeakerTurn

Span = tuple[float, float]

TOUCH_S = 1e-6
"""Two turns of one speaker this close (seconds) are one stretch of speech."""


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping spans covering exactly what ``spans`` cover (touching spans joined)."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1] + TOUCH_S:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def union_length(spans: Iterable[Span]) -> float:
    """Seconds covered by ``spans``, overlaps counted once."""
    return sum((end - start for start, end in union(spans)), 0.0)


def intersection_length(a: Sequence[Span], b: Sequence[Span]) -> float:
    """Seconds covered by both span lists (each must already be a ``union``)."""
    total, j = 0.0, 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            total += max(0.0, min(end, b[k][1]) - max(start, b[k][0]))
            k += 1
    return total


def speakers_of(turns: Sequence[SpeakerTurn]) -> list[Speaker]:
    """Speakers in order of first appearance, with their talk time (overlapping turns counted once)."""
    spans: dict[str, list[Span]] = {}
    for turn in sorted(turns, key=lambda t: t.start):
        spans.setdefault(turn.speaker, []).append((turn.start, turn.end))
    return [Speaker(id=s, name=s, talk_time=union_length(v)) for s, v in spans.items()]


def join_turns(turns: Iterable[SpeakerTurn]) -> list[SpeakerTurn]:
    """Turns sorted by start, with each speaker's overlapping or touching turns joined into one."""
    by_speaker: dict[str, list[Span]] = {}
    for turn in turns:
        by_speaker.setdefault(turn.speaker, []).append((turn.start, turn.end))
    joined = [SpeakerTurn(start, end, speaker) for speaker, spans in by_speaker.items() for start, end in union(spans)]
    return sorted(joined, key=lambda t: (t.start, t.end, t.speaker))


def overlap_spans(turns: Iterable[SpeakerTurn]) -> list[Span]:
    """The stretches in which two or more different speakers talk at once."""
    events: list[tuple[float, int]] = []
    for turn in join_turns(turns):
        events += [(turn.start, 1), (turn.end, -1)]
    spans: list[Span] = []
    talking, opened = 0, 0.0
    for t, change in sorted(events, key=lambda e: (e[0], e[1])):  # ends before starts at the same instant
        if change > 0 and talking == 1:
            opened = t
        if change < 0 and talking == 2 and t > opened:
            spans.append((opened, t))
        talking += change
    return union(spans)
