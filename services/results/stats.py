"""Who talked how much, how, and over whom: per-speaker statistics of a result.

Everything is computed from the result's speaker turns and segments, so pass the result with the
analyst's corrections applied (``services.results.edits.apply_edits``). Definitions:

- **talk time**: seconds a speaker talks (the union of their turns; time they talk over someone
  else counts for both).
- **share**: talk time / the sum of every speaker's talk time; the shares add up to 100 %.
- **turns**: how often a speaker takes the floor. Order all turns by start; consecutive turns of the
  same speaker are one turn (their pauses included), and another speaker starting ends it. A short
  interjection therefore splits the other speaker's turn in two.
- **mean turn**: talk time / turns (seconds of speech per turn).
- **words** and **words per minute**: the words of the speaker's segments (their text split on
  spaces), per minute of talk time.
- **overlap**: seconds a speaker talks while at least one other speaker talks too.
- **overlaps**: how many of a speaker's stretches of speech (their own touching or overlapping turns
  joined) start while another speaker is talking.
- **interruptions**: those overlaps after which the speaker talked over stops within
  ``window`` seconds (``INTERRUPTION_WINDOW_S`` by default) while the one who started is still
  talking: the floor changed hands. An overlap after which the other speaker goes on is a
  backchannel ("mm-hm"), not an interruption. **interrupted** counts the same events for the speaker
  who stopped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from itertools import groupby

from services.analysis.turns import intersection_length, join_turns, overlap_spans, union, union_length
from services.results.text_safety import spreadsheet_cell
from services.schema import AnalysisResult, SpeakerTurn

INTERRUPTION_WINDOW_S = 2.0


@dataclass(frozen=True)
class SpeakerStats:
    """The statistics of one speaker (see the module's docstring for the definitions)."""

    speaker_id: str
    name: str
    talk_time: float
    share: float
    turns: int
    mean_turn: float
    words: int
    words_per_minute: float
    overlap: float
    overlaps: int
    interruptions: int
    interrupted: int


@dataclass(frozen=True)
class ConversationStats:
    """Per-speaker statistics and the totals of the whole recording."""

    speakers: tuple[SpeakerStats, ...]
    duration: float
    speech: float
    """Seconds in which anyone talks."""
    overlap: float
    """Seconds in which two or more speakers talk at once."""
    window: float
    """The interruption window used, in seconds."""


def conversation_stats(result: AnalysisResult, *, window: float = INTERRUPTION_WINDOW_S) -> ConversationStats:
    """The statistics of ``result``, one row per speaker in the result's order."""
    joined = join_turns(result.turns)
    own: dict[str, list[tuple[float, float]]] = {}
    for turn in joined:
        own.setdefault(turn.speaker, []).append((turn.start, turn.end))
    talk = {sid: union_length(spans) for sid, spans in own.items()}
    total_talk = sum(talk.values())
    floor = _floor_turns(joined)
    overlaps, interruptions, interrupted = _overlapping_starts(joined, window)
    words = _words(result)
    rows = []
    for speaker in result.speakers:
        sid = speaker.id
        seconds = talk.get(sid, 0.0)
        others = union(span for other, spans in own.items() if other != sid for span in spans)
        turns = floor.get(sid, 0)
        rows.append(
            SpeakerStats(
                speaker_id=sid,
                name=speaker.name,
                talk_time=seconds,
                share=seconds / total_talk if total_talk else 0.0,
                turns=turns,
                mean_turn=seconds / turns if turns else 0.0,
                words=words.get(sid, 0),
                words_per_minute=words.get(sid, 0) / (seconds / 60) if seconds else 0.0,
                overlap=intersection_length(union(own.get(sid, [])), others),
                overlaps=overlaps.get(sid, 0),
                interruptions=interruptions.get(sid, 0),
                interrupted=interrupted.get(sid, 0),
            )
        )
    return ConversationStats(
        speakers=tuple(rows),
        duration=result.duration,
        speech=union_length((t.start, t.end) for t in joined),
        overlap=union_length(overlap_spans(joined)),
        window=window,
    )


def _floor_turns(joined: list[SpeakerTurn]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for speaker, _run in groupby(joined, key=lambda t: t.speaker):
        counts[speaker] = counts.get(speaker, 0) + 1
    return counts


def _overlapping_starts(
    joined: list[SpeakerTurn], window: float
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Per speaker: stretches started over someone else, of those interruptions, and times interrupted."""
    overlaps: dict[str, int] = {}
    interruptions: dict[str, int] = {}
    interrupted: dict[str, int] = {}
    active: list[SpeakerTurn] = []
    for turn in joined:  # sorted by start
        active = [a for a in active if a.end > turn.start]
        running = [a for a in active if a.speaker != turn.speaker and a.start < turn.start]
        if running:
            overlaps[turn.speaker] = overlaps.get(turn.speaker, 0) + 1
            yielded = [a for a in running if a.end - turn.start <= window and turn.end > a.end]
            if yielded:
                interruptions[turn.speaker] = interruptions.get(turn.speaker, 0) + 1
                for a in {a.speaker for a in yielded}:
                    interrupted[a] = interrupted.get(a, 0) + 1
        active.append(turn)
    return overlaps, interruptions, interrupted


def _words(result: AnalysisResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for segment in result.segments:
        if segment.speaker:
            counts[segment.speaker] = counts.get(segment.speaker, 0) + len(segment.text.split())
    return counts


COLUMNS = (
    ("speaker", "Speaker"),
    ("speaker_id", "Speaker id"),
    ("talk_time_s", "Talk time (s)"),
    ("share_percent", "Share (%)"),
    ("turns", "Turns"),
    ("mean_turn_s", "Mean turn (s)"),
    ("words", "Words"),
    ("words_per_minute", "Words/min"),
    ("overlap_s", "Overlap (s)"),
    ("overlaps", "Overlaps"),
    ("interruptions", "Interruptions"),
    ("interrupted", "Interrupted"),
)
"""(CSV column, table heading) of each statistic, in order."""


def stats_rows(stats: ConversationStats) -> list[dict[str, object]]:
    """One dict per speaker keyed by the CSV column names, numbers rounded for people."""
    return [
        {
            "speaker": s.name,
            "speaker_id": s.speaker_id,
            "talk_time_s": round(s.talk_time, 1),
            "share_percent": round(100 * s.share, 1),
            "turns": s.turns,
            "mean_turn_s": round(s.mean_turn, 1),
            "words": s.words,
            "words_per_minute": round(s.words_per_minute, 1),
            "overlap_s": round(s.overlap, 1),
            "overlaps": s.overlaps,
            "interruptions": s.interruptions,
            "interrupted": s.interrupted,
        }
        for s in stats.speakers
    ]


def stats_csv(stats: ConversationStats) -> str:
    """The per-speaker statistics as CSV, one row per speaker."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[column for column, _ in COLUMNS])
    writer.writeheader()
    # Names are typed by people: one starting like a formula must stay text in a spreadsheet.
    writer.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in stats_rows(stats))
    return out.getvalue()
