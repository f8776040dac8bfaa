"""Analysts' corrections, kept apart from the machine's result, and ``apply_edits`` to show them.

The task row keeps the machine's result exactly as the worker stored it. What a person changes is
an ``Edits`` value beside it (tables ``speaker_labels`` and ``segment_edits``):

- a **name** for a speaker id (``SPEAKER_00`` -> "Diane");
- a **merge**: speaker A is the same person as speaker B (A's ``merged_into`` is B). Merges chain
  (A into B and B into C: A is C); a merge that would close a loop is refused (``check_merge``);
- a **segment edit**: new text and/or another speaker for one segment, addressed by its index in
  the machine's ``segments``. Only what differs from the machine is kept (``segment_edit``), so an
  edit that restores the original is no edit, and reverting a segment deletes its edit.

``apply_edits(result, edits)`` is the one view of a result with all of that applied: the task page,
the statistics, every export and the API's ``edited_result`` use it. It is pure: the machine's
result is never changed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.analysis.assign import mark_overlaps
from services.analysis.turns import join_turns, speakers_of
from services.errors import InvalidEdit
from services.schema import AnalysisResult, Segment, SpeakerTurn

MAX_NAME_LENGTH = 80
_SPEAKER_NUMBER = re.compile(r"^SPEAKER_(\d+)$")


@dataclass(frozen=True)
class SpeakerLabel:
    """A name for one speaker id, and/or the speaker id it was merged into."""

    speaker_id: str
    name: str | None = None
    merged_into: str | None = None


@dataclass(frozen=True)
class SegmentEdit:
    """A correction of the machine's segment number ``index``: new ``text`` and/or another ``speaker``.

    A field that is None keeps the machine's value.
    """

    index: int
    text: str | None = None
    speaker: str | None = None
    edited_at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class EditCounts:
    """How much an analyst changed, for a person ("2 names, 1 merge, ...")."""

    names: int = 0
    merges: int = 0
    speaker_changes: int = 0
    text_changes: int = 0

    @property
    def total(self) -> int:
        return self.names + self.merges + self.speaker_changes + self.text_changes


@dataclass(frozen=True)
class Edits:
    """Every correction of one task."""

    labels: tuple[SpeakerLabel, ...] = ()
    segments: tuple[SegmentEdit, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.names() and not self.merges() and not self.segments

    def names(self) -> dict[str, str]:
        """Speaker id -> name, for the speakers that have one."""
        return {label.speaker_id: label.name for label in self.labels if label.name}

    def merges(self) -> dict[str, str]:
        """Speaker id -> the speaker id it was merged into (one step; see ``resolve``)."""
        return {label.speaker_id: label.merged_into for label in self.labels if label.merged_into}

    def segment(self, index: int) -> SegmentEdit | None:
        return next((e for e in self.segments if e.index == index), None)

    def resolve(self, speaker_id: str | None) -> str | None:
        """The speaker id that ``speaker_id`` stands for after every merge (itself when not merged)."""
        merges, seen = self.merges(), set()
        while speaker_id in merges and speaker_id not in seen:
            seen.add(speaker_id)
            speaker_id = merges[speaker_id]
        return speaker_id

    def counts(self) -> EditCounts:
        return EditCounts(
            names=len(self.names()),
            merges=len(self.merges()),
            speaker_changes=sum(1 for e in self.segments if e.speaker is not None),
            text_changes=sum(1 for e in self.segments if e.text is not None),
        )


def apply_edits(result: AnalysisResult, edits: Edits) -> AnalysisResult:
    """``result`` with names, merges and segment corrections applied (a new object; ``result`` is untouched).

    - Segments keep their order and number, so segment ``i`` of the answer is segment ``i`` of the
      machine's result. A corrected segment has ``edited=True``; one whose text was corrected loses
      its word timings (they described the machine's words, not the new text).
    - A segment given to another speaker takes its time span with it: that stretch is cut out of
      the old speaker's turns and becomes a turn of the new one, so the timeline, talk time,
      statistics and RTTM agree with the transcript.
    - Merged speakers' segments and turns belong to the speaker they were merged into; a speaker's
      touching or overlapping turns are then joined. Speakers are listed in order of first
      appearance with their talk time recomputed, and carry their names.
    """
    if edits.is_empty:
        return result
    resolve = edits.resolve
    by_index = {e.index: e for e in edits.segments if 0 <= e.index < len(result.segments)}
    turns = list(result.turns) or [SpeakerTurn(s.start, s.end, s.speaker) for s in result.segments if s.speaker]
    reshaped = bool(edits.merges())
    segments = []
    for i, seg in enumerate(result.segments):
        edit = by_index.get(i)
        if edit is None:
            segments.append(seg if resolve(seg.speaker) == seg.speaker else replace(seg, speaker=resolve(seg.speaker)))
            continue
        new_text = edit.text if edit.text is not None and edit.text != seg.text else None
        new_speaker = edit.speaker if edit.speaker is not None and edit.speaker != seg.speaker else None
        if new_speaker is not None:
            turns = _reassign(turns, seg.start, seg.end, seg.speaker, new_speaker)
            reshaped = True
        segments.append(
            replace(
                seg,
                text=new_text if new_text is not None else seg.text,
                words=() if new_text is not None else seg.words,
                speaker=resolve(new_speaker or seg.speaker),
                edited=new_text is not None or new_speaker is not None,
            )
        )
    names = {**{s.id: s.name for s in result.speakers}, **edits.names()}
    if reshaped:
        turns = join_turns(SpeakerTurn(t.start, t.end, edits.resolve(t.speaker) or t.speaker) for t in turns)
        speakers = tuple(speakers_of(turns))
        segments = mark_overlaps(segments, turns)  # a merged or reassigned speaker no longer overlaps itself
    else:
        turns, speakers = list(result.turns), result.speakers
    return replace(
        result,
        speakers=tuple(replace(s, name=names.get(s.id, s.id)) for s in speakers),
        segments=tuple(segments),
        turns=tuple(turns),
    )


def _reassign(turns: Iterable[SpeakerTurn], start: float, end: float, old: str | None, new: str) -> list[SpeakerTurn]:
    """``turns`` with ``start..end`` cut out of ``old``'s turns and given to ``new``."""
    out: list[SpeakerTurn] = []
    for turn in turns:
        if turn.speaker == old and turn.start < end and turn.end > start:
            if turn.start < start:
                out.append(SpeakerTurn(turn.start, start, turn.speaker))
            if turn.end > end:
                out.append(SpeakerTurn(end, turn.end, turn.speaker))
        else:
            out.append(turn)
    out.append(SpeakerTurn(start, end, new))
    return out


def tidy_text(text: str) -> str:
    """Text as a segment holds it: one line, single spaces."""
    return " ".join((text or "").split())


def segment_edit(
    original: Segment, index: int, *, text: str, speaker: str | None, edits: Edits = Edits()
) -> SegmentEdit | None:
    """The edit that turns the machine's segment ``original`` into ``text`` said by ``speaker``.

    Only what differs is kept: the text when it is not the machine's, the speaker when it is not
    the one the machine's speaker stands for after the merges in ``edits``. None when nothing differs.

    Raises:
        InvalidEdit: the text is empty.
    """
    text = tidy_text(text)
    if not text:
        raise InvalidEdit("A segment cannot be empty. To undo a correction, use Revert.")
    new_text = text if text != tidy_text(original.text) else None
    new_speaker = speaker if speaker and speaker != edits.resolve(original.speaker) else None
    if new_text is None and new_speaker is None:
        return None
    return SegmentEdit(index=index, text=new_text, speaker=new_speaker)


def check_name(name: str | None, speaker_id: str) -> str | None:
    """A speaker name as stored: tidied, None when empty or the bare id ("no name").

    Raises:
        InvalidEdit: the name is too long.
    """
    name = tidy_text(name or "")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidEdit(f"A speaker name can have at most {MAX_NAME_LENGTH} characters.")
    return None if not name or name == speaker_id else name


def check_merge(edits: Edits, speaker_id: str, into: str, known: Collection[str]) -> None:
    """Refuse a merge that cannot be meant: unknown speakers, a speaker into itself, a loop.

    Raises:
        InvalidEdit: with what is wrong.
    """
    for sid in (speaker_id, into):
        if sid not in known:
            raise InvalidEdit(f"There is no speaker {sid} in this result.")
    if speaker_id == into or edits.resolve(into) == speaker_id:
        raise InvalidEdit(f"{speaker_id} and {into} are already the same speaker.")


def next_speaker_id(known: Iterable[str]) -> str:
    """A speaker id not in ``known``: ``SPEAKER_<n>`` one above the highest number used."""
    numbers = [int(m.group(1)) for sid in known if (m := _SPEAKER_NUMBER.match(sid))]
    return f"SPEAKER_{max(numbers, default=-1) + 1:02d}"


def known_speakers(result: AnalysisResult, edits: Edits) -> list[str]:
    """Every speaker id a result and its edits mention, machine's first."""
    ids = [s.id for s in result.speakers]
    ids += [s.speaker for s in result.segments if s.speaker]
    ids += [e.speaker for e in edits.segments if e.speaker]
    ids += [label.speaker_id for label in edits.labels] + [m for m in edits.merges().values()]
    return list(dict.fromkeys(ids))


def carry_over(old: AnalysisResult, new: AnalysisResult, edits: Edits) -> Edits:
    """What of ``edits`` (made on the machine result ``old``) still applies to the machine result ``new``.

    After the speakers are separated again, speaker ids are numbered afresh and segments are split
    at other places. So names, merges and speaker changes no longer apply and are dropped; a text
    correction is kept when ``new`` has the very same segment (same start, end and machine text),
    under that segment's new index.
    """
    where = {_identity(s): i for i, s in enumerate(new.segments)}
    kept = []
    for edit in edits.segments:
        if edit.text is None or not 0 <= edit.index < len(old.segments):
            continue
        index = where.get(_identity(old.segments[edit.index]))
        if index is not None:
            kept.append(SegmentEdit(index=index, text=edit.text, edited_at=edit.edited_at))
    return Edits(segments=tuple(kept))


def _identity(segment: Segment) -> tuple[float, float, str]:
    return round(segment.start, 3), round(segment.end, 3), tidy_text(segment.text)
