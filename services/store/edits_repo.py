"""Analysts' corrections in the database: ``speaker_labels`` and ``segment_edits`` (see ``services.results.edits``).

Each change is one short transaction. Reading gives a frozen ``Edits`` value that
``services.results.edits.apply_edits`` applies to the machine's result.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from services.results.edits import Edits, SegmentEdit, SpeakerLabel, apply_edits, check_merge, check_name
from services.schema import AnalysisResult
from services.store import transcript_index
from services.store.db import session_scope
from services.store.models import ProcessingTask as ProcessingTaskRow
from services.store.models import SegmentEdit as SegmentEditRow
from services.store.models import SpeakerLabel as SpeakerLabelRow
from services.store.models import utcnow


class EditsRepo:
    """Reads and writes one task's corrections."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, task_id: str) -> Edits:
        """Every correction of ``task_id`` (empty when there are none)."""
        with session_scope(self.engine) as session:
            return load_edits(session, task_id)

    def rename(self, task_id: str, speaker_id: str, name: str | None) -> str | None:
        """Name a speaker (an empty name, or the id itself, removes the name). Returns the name stored.

        Raises:
            InvalidEdit: the name is too long.
        """
        with session_scope(self.engine) as session:
            return self.rename_in(session, task_id, speaker_id, name)

    def rename_in(self, session: Session, task_id: str, speaker_id: str, name: str | None) -> str | None:
        """``rename`` within ``session``'s transaction (naming a speaker and remembering the voice are one)."""
        name = check_name(name, speaker_id)
        row = self._label(session, task_id, speaker_id)
        row.name, row.updated_at = name, utcnow()
        self._drop_if_empty(session, row)
        reindex(session, task_id)
        return name

    def merge(self, task_id: str, speaker_id: str, into: str, *, known: list[str]) -> None:
        """Record that ``speaker_id`` is the same person as ``into``.

        Raises:
            InvalidEdit: an unknown speaker, a speaker into itself, or a loop.
        """
        check_merge(self.load(task_id), speaker_id, into, known)
        with session_scope(self.engine) as session:
            row = self._label(session, task_id, speaker_id)
            row.merged_into, row.updated_at = into, utcnow()
            reindex(session, task_id)

    def unmerge(self, task_id: str, speaker_id: str) -> None:
        """Undo a merge: ``speaker_id`` is a speaker of its own again."""
        with session_scope(self.engine) as session:
            row = session.get(SpeakerLabelRow, (task_id, speaker_id))
            if row is not None:
                row.merged_into, row.updated_at = None, utcnow()
                self._drop_if_empty(session, row)
                reindex(session, task_id)

    def save_segment(self, task_id: str, index: int, edit: SegmentEdit | None) -> None:
        """Store the correction of segment ``index`` (None: the segment is the machine's again)."""
        with session_scope(self.engine) as session:
            row = session.get(SegmentEditRow, (task_id, index))
            if edit is None:
                if row is not None:
                    session.delete(row)
            else:
                if row is None:
                    row = SegmentEditRow(task_id=task_id, segment_index=index)
                    session.add(row)
                row.text, row.speaker, row.edited_at = edit.text, edit.speaker, utcnow()
            reindex(session, task_id)

    def revert_segment(self, task_id: str, index: int) -> None:
        """Back to the machine's text and speaker for segment ``index``."""
        self.save_segment(task_id, index, None)

    def replace_in(self, session: Session, task_id: str, edits: Edits) -> None:
        """Within ``session``'s transaction: make ``edits`` the task's corrections (nothing else kept)."""
        session.execute(delete(SpeakerLabelRow).where(SpeakerLabelRow.task_id == task_id))
        session.execute(delete(SegmentEditRow).where(SegmentEditRow.task_id == task_id))
        now = utcnow()
        session.add_all(
            SpeakerLabelRow(
                task_id=task_id,
                speaker_id=label.speaker_id,
                name=label.name,
                merged_into=label.merged_into,
                updated_at=now,
            )
            for label in edits.labels
        )
        session.add_all(
            SegmentEditRow(
                task_id=task_id, segment_index=e.index, text=e.text, speaker=e.speaker, edited_at=e.edited_at or now
            )
            for e in edits.segments
        )

    def name_in(self, session: Session, task_id: str, labels: tuple[SpeakerLabel, ...]) -> None:
        """Within ``session``'s transaction: give these speakers these names (names given at upload)."""
        for label in labels:
            row = self._label(session, task_id, label.speaker_id)
            row.name, row.updated_at = label.name, utcnow()

    @staticmethod
    def _label(session: Session, task_id: str, speaker_id: str) -> SpeakerLabelRow:
        row = session.get(SpeakerLabelRow, (task_id, speaker_id))
        if row is None:
            row = SpeakerLabelRow(task_id=task_id, speaker_id=speaker_id)
            session.add(row)
        return row

    @staticmethod
    def _drop_if_empty(session: Session, row: SpeakerLabelRow) -> None:
        if not row.name and not row.merged_into:
            if row in session.new:
                session.expunge(row)
            else:
                session.delete(row)


def load_edits(session: Session, task_id: str) -> Edits:
    """The corrections of ``task_id``, read in ``session``'s transaction."""
    session.flush()  # include what this transaction has just changed
    labels = session.scalars(
        select(SpeakerLabelRow).where(SpeakerLabelRow.task_id == task_id).order_by(SpeakerLabelRow.speaker_id)
    )
    segments = session.scalars(
        select(SegmentEditRow).where(SegmentEditRow.task_id == task_id).order_by(SegmentEditRow.segment_index)
    )
    return Edits(
        labels=tuple(SpeakerLabel(r.speaker_id, r.name, r.merged_into) for r in labels),
        segments=tuple(SegmentEdit(r.segment_index, r.text, r.speaker, r.edited_at) for r in segments),
    )


def reindex(session: Session, task_id: str) -> None:
    """Make search see the task as the analysts see it: corrected text, speakers by their names.

    Runs in the transaction that changed the task's result or corrections, so search and the task
    page never disagree.
    """
    row = session.get(ProcessingTaskRow, task_id)
    if row is None or not row.result:
        return
    edited = apply_edits(AnalysisResult.from_dict(row.result), load_edits(session, task_id))
    segments = [dict(s, speaker=edited.speaker_name(s["speaker"]) or None) for s in edited.to_dict()["segments"]]
    transcript_index.replace_segments(session, task_id, segments)
