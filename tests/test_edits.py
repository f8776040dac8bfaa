"""Analysts' corrections: ``apply_edits`` on hand-built results, and the edits stored in the real database."""

from __future__ import annotations

import copy

import pytest

from services.errors import InvalidEdit
from services.results.edits import (
    Edits,
    SegmentEdit,
    SpeakerLabel,
    apply_edits,
    carry_over,
    check_merge,
    next_speaker_id,
    segment_edit,
)
from services.runtime.context import AppContext
from services.schema import AnalysisResult, Segment, Speaker, SpeakerTurn, Word

A, B, C = "SPEAKER_00", "SPEAKER_01", "SPEAKER_02"
MACHINE = AnalysisResult(
    duration=20.0,
    language="en",
    model="tiny.en",
    speakers=(Speaker(A, A, 8.0), Speaker(B, B, 6.0), Speaker(C, C, 2.0)),
    segments=(
        Segment(0.0, 4.0, "Hello, I am Diane.", (Word(0.0, 1.0, "Hello,"), Word(1.0, 4.0, "Diane.")), A),
        Segment(4.0, 8.0, "Hi Diane, Sheila here.", (), B),
        Segment(8.0, 12.0, "Nice to meet you.", (), A),
        Segment(12.0, 14.0, "Me too.", (), C),
        Segment(14.0, 16.0, "So, the design.", (), A),
    ),
    turns=(
        SpeakerTurn(0.0, 4.0, A),
        SpeakerTurn(4.0, 8.0, B),
        SpeakerTurn(8.0, 12.0, A),
        SpeakerTurn(12.0, 14.0, C),
        SpeakerTurn(14.0, 16.0, A),
    ),
)


def test_no_edits_is_the_machine_result_itself() -> None:
    assert apply_edits(MACHINE, Edits()) is MACHINE


def test_a_name_shows_everywhere_the_id_did() -> None:
    edited = apply_edits(MACHINE, Edits(labels=(SpeakerLabel(A, "Diane"),)))
    assert [s.name for s in edited.speakers] == ["Diane", B, C]
    assert edited.speaker_name(A) == "Diane"
    assert [s.speaker for s in edited.segments] == [A, B, A, C, A]  # ids stay; names are looked up
    assert edited.turns == MACHINE.turns and not any(s.edited for s in edited.segments)


def test_merge_moves_segments_and_turns_and_recomputes_talk_time() -> None:
    edited = apply_edits(MACHINE, Edits(labels=(SpeakerLabel(C, merged_into=B), SpeakerLabel(B, "Sheila"))))
    assert [s.id for s in edited.speakers] == [A, B]
    assert [s.speaker for s in edited.segments] == [A, B, A, B, A]
    sheila = edited.speakers[1]
    assert (sheila.name, sheila.talk_time) == ("Sheila", pytest.approx(6.0))
    assert SpeakerTurn(12.0, 14.0, B) in edited.turns and not any(t.speaker == C for t in edited.turns)
    assert not any(s.edited for s in edited.segments)  # a merge is about speakers, not segments


def test_merges_chain_and_touching_turns_join() -> None:
    edited = apply_edits(MACHINE, Edits(labels=(SpeakerLabel(C, merged_into=B), SpeakerLabel(B, merged_into=A))))
    assert [s.id for s in edited.speakers] == [A]
    assert edited.turns == (SpeakerTurn(0.0, 16.0, A),)
    assert edited.speakers[0].talk_time == pytest.approx(16.0)


def test_a_text_correction_is_marked_and_drops_the_machines_word_timings() -> None:
    edited = apply_edits(MACHINE, Edits(segments=(SegmentEdit(0, text="Hello, I'm Diane."),)))
    first = edited.segments[0]
    assert (first.text, first.edited, first.words, first.speaker) == ("Hello, I'm Diane.", True, (), A)
    assert edited.segments[1:] == MACHINE.segments[1:]
    assert edited.text.startswith("Hello, I'm Diane. Hi Diane")


def test_giving_a_segment_to_another_speaker_moves_its_time_too() -> None:
    edited = apply_edits(MACHINE, Edits(segments=(SegmentEdit(2, speaker=B),)))
    assert edited.segments[2].speaker == B and edited.segments[2].edited
    assert edited.segments[2].words == MACHINE.segments[2].words  # the words are still the machine's
    # A's 8-12 s turn is now B's, joined with B's turn before it
    assert edited.turns == (
        SpeakerTurn(0.0, 4.0, A),
        SpeakerTurn(4.0, 12.0, B),
        SpeakerTurn(12.0, 14.0, C),
        SpeakerTurn(14.0, 16.0, A),
    )
    assert {s.id: s.talk_time for s in edited.speakers} == {
        A: pytest.approx(6.0),
        B: pytest.approx(8.0),
        C: pytest.approx(2.0),
    }


def test_a_segment_can_go_to_a_new_speaker() -> None:
    new = next_speaker_id([A, B, C])
    assert new == "SPEAKER_03"
    edited = apply_edits(MACHINE, Edits(segments=(SegmentEdit(3, speaker=new),), labels=(SpeakerLabel(new, "Tom"),)))
    assert [s.name for s in edited.speakers] == [A, B, "Tom"]  # C said nothing else: gone
    assert edited.segments[3].speaker == new


def test_a_segment_given_to_a_merged_speaker_lands_on_the_one_it_was_merged_into() -> None:
    edited = apply_edits(
        MACHINE, Edits(labels=(SpeakerLabel(C, merged_into=B),), segments=(SegmentEdit(0, speaker=C),))
    )
    assert edited.segments[0].speaker == B


def test_reverting_is_removing_the_edit() -> None:
    edits = Edits(
        labels=(SpeakerLabel(A, "Diane"),), segments=(SegmentEdit(0, text="Changed."), SegmentEdit(2, speaker=B))
    )
    reverted = Edits(labels=edits.labels, segments=tuple(e for e in edits.segments if e.index != 0))
    edited = apply_edits(MACHINE, reverted)
    assert edited.segments[0] == MACHINE.segments[0]  # text, words and speaker back, not marked
    assert edited.segments[2].edited


def test_the_machine_result_is_never_changed() -> None:
    before = copy.deepcopy(MACHINE)
    edits = Edits(
        labels=(SpeakerLabel(A, "Diane"), SpeakerLabel(C, merged_into=B)),
        segments=(SegmentEdit(0, text="New."), SegmentEdit(2, speaker=B)),
    )
    apply_edits(MACHINE, edits)
    assert before == MACHINE and MACHINE.to_dict() == before.to_dict()


def test_edits_for_segments_that_do_not_exist_are_ignored() -> None:
    assert apply_edits(MACHINE, Edits(segments=(SegmentEdit(99, text="x"),))).segments == MACHINE.segments


def test_segment_edit_keeps_only_what_differs() -> None:
    original = MACHINE.segments[1]
    assert segment_edit(original, 1, text="  Hi Diane,   Sheila here. ", speaker=B) is None
    assert segment_edit(original, 1, text="Hi Diane, Sheila here!", speaker=B) == SegmentEdit(
        1, text="Hi Diane, Sheila here!"
    )
    assert segment_edit(original, 1, text=original.text, speaker=A) == SegmentEdit(1, speaker=A)
    # B was merged into A: saying "A" is what the merge already says, so no speaker change is stored
    merged = Edits(labels=(SpeakerLabel(B, merged_into=A),))
    assert segment_edit(original, 1, text=original.text, speaker=A, edits=merged) is None
    with pytest.raises(InvalidEdit, match="cannot be empty"):
        segment_edit(original, 1, text="   ", speaker=B)


def test_merges_that_cannot_be_meant_are_refused() -> None:
    known = [A, B, C]
    edits = Edits(labels=(SpeakerLabel(B, merged_into=A),))
    check_merge(edits, C, A, known)  # fine
    with pytest.raises(InvalidEdit, match="already the same speaker"):
        check_merge(edits, A, A, known)
    with pytest.raises(InvalidEdit, match="already the same speaker"):
        check_merge(edits, A, B, known)  # B is A already: this would loop
    with pytest.raises(InvalidEdit, match="no speaker SPEAKER_09"):
        check_merge(edits, "SPEAKER_09", A, known)


def test_after_a_new_speaker_separation_only_unchanged_segments_keep_their_text() -> None:
    edits = Edits(
        labels=(SpeakerLabel(A, "Diane"),),
        segments=(
            SegmentEdit(0, text="Hello, I'm Diane."),
            SegmentEdit(1, text="Hi!", speaker=C),
            SegmentEdit(2, speaker=B),
        ),
    )
    # The new separation split segment 1 differently and kept segment 0 as it was (now at index 0 still),
    # with a segment inserted before segment 2.
    new = AnalysisResult(
        duration=20.0, language="en", model="tiny.en", speakers=(Speaker(A, A, 4.0),),
        segments=(MACHINE.segments[0], Segment(4.0, 6.0, "Hi Diane,", (), A), Segment(6.0, 8.0, "Sheila here.", (), B),
                  MACHINE.segments[2]),
    )  # fmt: skip
    kept = carry_over(MACHINE, new, edits)
    assert kept == Edits(segments=(SegmentEdit(0, text="Hello, I'm Diane."),))  # names, merges, speakers: gone


def test_edits_are_stored_per_task_and_go_with_the_task(ctx: AppContext) -> None:
    from services.jobs.deletion import delete_task
    from services.store.db import session_scope

    task = ctx.repo.create(filename="stored.wav", stored_path=None, size_bytes=1, duration=20.0)
    other = ctx.repo.create(filename="other.wav", stored_path=None, size_bytes=1, duration=20.0)
    assert ctx.edits.rename(task.id, A, "  Diane   Smith ") == "Diane Smith"
    ctx.edits.merge(task.id, C, B, known=[A, B, C])
    ctx.edits.save_segment(task.id, 2, SegmentEdit(2, text="Nice to meet you!"))
    with session_scope(ctx.repo.engine) as session:  # artifacts are written with a result; here directly
        ctx.artifacts.replace_in(session, task.id, {"transcript.json": b"{}"})
    edits = ctx.edits.load(task.id)
    assert edits.names() == {A: "Diane Smith"} and edits.merges() == {C: B}
    assert edits.segments == (SegmentEdit(2, text="Nice to meet you!"),) and edits.segments[0].edited_at is not None
    assert ctx.edits.load(other.id) == Edits()  # per task

    ctx.edits.rename(task.id, A, A)  # naming a speaker by its id is no name
    ctx.edits.unmerge(task.id, C)
    ctx.edits.revert_segment(task.id, 2)
    assert ctx.edits.load(task.id) == Edits()
    with pytest.raises(InvalidEdit, match="at most 80"):
        ctx.edits.rename(task.id, A, "x" * 81)

    ctx.edits.rename(task.id, A, "Diane")
    delete_task(task.id, repo=ctx.repo, storage=ctx.storage)
    assert ctx.edits.load(task.id) == Edits() and ctx.artifacts.load(task.id) == {}
