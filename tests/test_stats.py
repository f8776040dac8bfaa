"""Per-speaker statistics on hand-built turns, counted as ``services.results.stats`` defines them."""

from __future__ import annotations

import csv
import io

import pytest

from services.analysis.turns import overlap_spans
from services.results.edits import Edits, SpeakerLabel, apply_edits
from services.results.stats import conversation_stats, stats_csv
from services.schema import AnalysisResult, Segment, Speaker, SpeakerTurn

A, B, C = "SPEAKER_00", "SPEAKER_01", "SPEAKER_02"


def _result(turns: list[SpeakerTurn], segments: tuple[Segment, ...] = (), duration: float = 60.0) -> AnalysisResult:
    speakers = tuple(Speaker(s, s, 0.0) for s in dict.fromkeys(t.speaker for t in sorted(turns, key=lambda t: t.start)))
    return AnalysisResult(
        duration=duration, language="en", model="m", speakers=speakers, segments=segments, turns=tuple(turns)
    )


# A talks 0-10 and 12-20; B starts at 9 while A still talks (a backchannel? no: A stops at 10, within 2 s,
# and B goes on to 11): B interrupts A. B then says "mm-hm" at 14-14.5 while A goes on to 20: an overlap,
# not an interruption. C talks 25-30 alone.
TURNS = [
    SpeakerTurn(0.0, 10.0, A),
    SpeakerTurn(9.0, 11.0, B),
    SpeakerTurn(12.0, 20.0, A),
    SpeakerTurn(14.0, 14.5, B),
    SpeakerTurn(25.0, 30.0, C),
]
SEGMENTS = (
    Segment(0.0, 10.0, "one two three four five six seven eight nine ten", (), A),
    Segment(9.0, 11.0, "wait a second", (), B),
    Segment(12.0, 20.0, "as I was saying", (), A),
    Segment(14.0, 14.5, "mm-hm", (), B),
    Segment(25.0, 30.0, "bye", (), C),
)


def _by_id(result: AnalysisResult):  # type: ignore[no-untyped-def]
    return {s.speaker_id: s for s in conversation_stats(result).speakers}


def test_talk_time_and_share() -> None:
    stats = _by_id(_result(TURNS, SEGMENTS))
    assert [stats[s].talk_time for s in (A, B, C)] == pytest.approx([18.0, 2.5, 5.0])
    assert [stats[s].share for s in (A, B, C)] == pytest.approx([18 / 25.5, 2.5 / 25.5, 5 / 25.5])
    assert sum(s.share for s in stats.values()) == pytest.approx(1.0)


def test_turns_end_when_another_speaker_starts() -> None:
    stats = _by_id(_result(TURNS, SEGMENTS))
    # order of starts: A(0) B(9) A(12) B(14) C(25): A 2 turns, B 2, C 1
    assert [stats[s].turns for s in (A, B, C)] == [2, 2, 1]
    assert stats[A].mean_turn == pytest.approx(9.0)
    # a pause without anyone else talking does not end a turn
    pauses = _by_id(_result([SpeakerTurn(0, 2, A), SpeakerTurn(5, 7, A), SpeakerTurn(8, 9, B)]))
    assert pauses[A].turns == 1 and pauses[A].mean_turn == pytest.approx(4.0)


def test_words_per_minute() -> None:
    stats = _by_id(_result(TURNS, SEGMENTS))
    assert (stats[A].words, stats[B].words, stats[C].words) == (14, 4, 1)
    assert stats[A].words_per_minute == pytest.approx(14 / (18 / 60))


def test_overlap_interruption_and_backchannel_are_told_apart() -> None:
    result = _result(TURNS, SEGMENTS)
    stats = _by_id(result)
    assert stats[B].overlaps == 2  # both of B's starts fall inside A's turns
    assert stats[B].interruptions == 1 and stats[A].interrupted == 1  # only the one after which A stopped
    assert stats[A].overlaps == stats[A].interruptions == stats[B].interrupted == 0
    assert stats[C].overlaps == 0
    assert stats[A].overlap == pytest.approx(1.5) and stats[B].overlap == pytest.approx(1.5)
    totals = conversation_stats(result)
    assert totals.overlap == pytest.approx(1.5) and totals.speech == pytest.approx(24.0)
    assert overlap_spans(result.turns) == [(9.0, 10.0), (14.0, 14.5)]


def test_the_interruption_window_is_a_parameter() -> None:
    # B starts 3 s before A stops: an interruption within 5 s, not within 2 s
    turns = [SpeakerTurn(0, 10, A), SpeakerTurn(7, 15, B)]
    assert {s.speaker_id: s.interruptions for s in conversation_stats(_result(turns)).speakers} == {A: 0, B: 0}
    wide = conversation_stats(_result(turns), window=5.0)
    assert {s.speaker_id: (s.interruptions, s.interrupted) for s in wide.speakers} == {A: (0, 1), B: (1, 0)}


def test_a_speakers_own_touching_pieces_are_not_overlaps() -> None:
    turns = [SpeakerTurn(0, 5, A), SpeakerTurn(5, 8, A), SpeakerTurn(4, 6, A)]
    stats = _by_id(_result(turns))
    assert (stats[A].turns, stats[A].overlaps, stats[A].overlap, stats[A].talk_time) == (1, 0, 0.0, pytest.approx(8.0))


def test_statistics_follow_merges_and_names() -> None:
    merged = apply_edits(
        _result(TURNS, SEGMENTS), Edits(labels=(SpeakerLabel(C, merged_into=B), SpeakerLabel(B, "Sheila")))
    )
    stats = conversation_stats(merged).speakers
    assert [(s.name, s.talk_time) for s in stats] == [(A, pytest.approx(18.0)), ("Sheila", pytest.approx(7.5))]


def test_csv_has_one_row_per_speaker() -> None:
    rows = list(csv.DictReader(io.StringIO(stats_csv(conversation_stats(_result(TURNS, SEGMENTS))))))
    assert [r["speaker"] for r in rows] == [A, B, C]
    assert rows[1] == {
        "speaker": B,
        "speaker_id": B,
        "talk_time_s": "2.5",
        "share_percent": "9.8",
        "turns": "2",
        "mean_turn_s": "1.2",
        "words": "4",
        "words_per_minute": "96.0",
        "overlap_s": "1.5",
        "overlaps": "2",
        "interruptions": "1",
        "interrupted": "0",
    }


def test_an_empty_result_has_empty_statistics() -> None:
    stats = conversation_stats(_result([]))
    assert stats.speakers == () and stats.speech == 0.0 and stats.overlap == 0.0
