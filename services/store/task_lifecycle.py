"""The task state machine's writes: create, claim, heartbeat, progress, release, requeue, complete, fail,
cancel and delete.

::

    queued --claim--> processing --complete--> completed
      ^                  |  |  \\--fail-----> failed
      |   release/reaped |  \\----cancel---> cancelled  (also from queued)
      \\------------------/
    completed/failed --requeue--> queued   (a re-run, or "run again" after a failure)

Every change is one short transaction and one conditional UPDATE (``transition``): the condition
says which states the move starts from, so two copies of the same job (Celery delivers at least
once) cannot both claim it, and a late progress report can never overwrite a final state. A move
that happened is recorded in ``task_events``. A completed task's transcript is written, in the same
transaction, to the searchable ``transcript_segments`` (``services.store.transcript_index``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, delete, false, func, select, update
from sqlalchemy.orm import Session, joinedload

from services.store.db import session_scope
from services.store.edits_repo import reindex
from services.store.models import (
    CANCELLED,
    COMPLETED,
    FAILED,
    FINAL_STATUSES,
    PROCESSING,
    QUEUED,
    ProcessingTask,
    Recording,
    TaskEvent,
    TranscriptSegment,
    utcnow,
)
from services.store.task_views import DeletedTask, TaskView

PROGRESS_MIN, PROGRESS_MAX = 0, 100
_BACK_IN_QUEUE: dict[str, Any] = {"status": QUEUED, "stage": "queued", "progress": 0, "heartbeat_at": None}


def _view(session: Session, task_id: str) -> TaskView | None:
    row = session.get(ProcessingTask, task_id, options=[joinedload(ProcessingTask.recording)])
    return TaskView.of(row) if row is not None else None


def transition(
    engine: Engine,
    task_id: str,
    where: Sequence[ColumnElement[bool]],
    values: dict[str, Any],
    event: str | None = None,
    *,
    worker: str | None = None,
    detail: str | None = None,
    also: Callable[[Session], object] | None = None,
    note_ignored: bool = False,
) -> bool:
    """UPDATE the task where ``where`` holds; on success run ``also`` and record ``event``, all in one transaction.

    Args:
        note_ignored: record ``<event>-ignored`` when the row exists but the move did not apply
            (a late copy tried to finish a task that is final or no longer its own).
    """
    with session_scope(engine) as session:
        statement = update(ProcessingTask).where(ProcessingTask.id == task_id, *where).values(**values)
        updated = bool(cast(CursorResult[Any], session.execute(statement)).rowcount)  # an UPDATE's result
        if updated and also is not None:
            also(session)
        known = updated or (note_ignored and session.get(ProcessingTask, task_id) is not None)
        if event is not None and known:
            outcome = event if updated else f"{event}-ignored"
            session.add(TaskEvent(task_id=task_id, event=outcome, worker=worker, detail=detail, at=utcnow()))
    return updated


class TaskLifecycle:
    """Moves tasks between states through one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _get(self, task_id: str) -> TaskView | None:
        with session_scope(self.engine) as session:
            return _view(session, task_id)

    def create(
        self,
        *,
        filename: str,
        stored_path: str | None,
        size_bytes: int,
        duration: float | None,
        options: dict[str, Any] | None = None,
        kind: str = "analyze",
        recording_id: str | None = None,
        task_id: str | None = None,
    ) -> TaskView:
        """Insert a recording and a ``queued`` task for it."""
        now = utcnow()
        with session_scope(self.engine) as session:
            recording = Recording(
                id=recording_id or str(uuid.uuid4()),
                filename=filename,
                stored_path=stored_path,
                size_bytes=size_bytes,
                duration=duration,
                created_at=now,
            )
            task = ProcessingTask(
                id=task_id or str(uuid.uuid4()),
                recording=recording,
                kind=kind,
                status=QUEUED,
                progress=0,
                stage="queued",
                options=options or {},
                attempts=0,
                created_at=now,
            )
            session.add_all([recording, task])
            session.flush()
            return TaskView.of(task)

    def claim(
        self, task_id: str, worker: str, *, stale_before: datetime | None = None, takeover: str | None = None
    ) -> TaskView | None:
        """Move the task to ``processing`` for ``worker``; None when another live copy has it.

        A task can be claimed when it is ``queued``, or ``processing`` but abandoned: its heartbeat
        is older than ``stale_before`` (None: no heartbeat counts as stale), or its worker is
        ``takeover`` (a process the caller knows is dead). Final tasks (``cancelled`` among them)
        are never claimed. The condition and the write are one UPDATE, so two copies cannot both win.
        """
        now = utcnow()
        abandoned = ProcessingTask.heartbeat_at < stale_before if stale_before is not None else false()
        if takeover:
            abandoned = abandoned | (ProcessingTask.worker == takeover)
        claimable = (ProcessingTask.status == QUEUED) | ((ProcessingTask.status == PROCESSING) & abandoned)
        values = dict(
            status=PROCESSING, stage="starting", progress=0, error=None, worker=worker,
            attempts=ProcessingTask.attempts + 1, started_at=now, heartbeat_at=now,
        )  # fmt: skip
        claimed = transition(self.engine, task_id, [claimable], values, "claimed", worker=worker)
        return self._get(task_id) if claimed else None

    def heartbeat(self, task_id: str, worker: str) -> bool:
        """Refresh the heartbeat of a task this worker runs. False when it is no longer ours."""
        ours = [ProcessingTask.status == PROCESSING, ProcessingTask.worker == worker]
        return transition(self.engine, task_id, ours, {"heartbeat_at": utcnow()})

    def report_progress(self, task_id: str, stage: str, progress: int) -> bool:
        """Record stage and percent (also the heartbeat). False when the task is no longer running."""
        percent = max(PROGRESS_MIN, min(PROGRESS_MAX, int(progress)))
        values = {"stage": stage, "progress": percent, "heartbeat_at": utcnow()}
        return transition(self.engine, task_id, [ProcessingTask.status == PROCESSING], values)

    def release(self, task_id: str, worker: str, reason: str) -> bool:
        """Hand a running task back to the queue (a transient error; it will be retried)."""
        ours = [ProcessingTask.status == PROCESSING, ProcessingTask.worker == worker]
        values = {**_BACK_IN_QUEUE, "error": reason}
        return transition(self.engine, task_id, ours, values, "released", worker=worker, detail=reason)

    def requeue_stale(self, task_id: str, stale_before: datetime) -> bool:
        """Put a ``processing`` task whose heartbeat went stale back to ``queued`` (the reaper's job)."""
        stale = [ProcessingTask.status == PROCESSING, ProcessingTask.heartbeat_at < stale_before]
        values = {**_BACK_IN_QUEUE, "enqueued_at": None}
        return transition(self.engine, task_id, stale, values, "reaped", detail="heartbeat went stale")

    def requeue(
        self,
        task_id: str,
        *,
        from_statuses: tuple[str, ...],
        options: dict[str, Any] | None = None,
        rerun: str | None = None,
        reason: str = "",
    ) -> TaskView | None:
        """Put a finished task back in the queue as a new job (attempts start again at zero).

        Only a task whose status is in ``from_statuses`` moves; None otherwise (someone else moved
        it first). The stored result stays until the new run replaces it.

        Args:
            options: new analysis options (None keeps the task's).
            rerun: ``"diarize"`` to re-run only the speaker separation; None for the whole analysis.
        """
        values: dict[str, Any] = dict(
            _BACK_IN_QUEUE, error=None, attempts=0, worker=None, started_at=None, completed_at=None,
            enqueued_at=None, rerun=rerun,
        )  # fmt: skip
        if options is not None:
            values["options"] = options
        where = [ProcessingTask.status.in_(from_statuses)]
        moved = transition(self.engine, task_id, where, values, "requeued", detail=reason or rerun or "analysis")
        return self._get(task_id) if moved else None

    def mark_enqueued(self, task_id: str) -> None:
        """Remember that a message for this task was just handed to the broker."""
        transition(self.engine, task_id, [], {"enqueued_at": utcnow()})

    def complete(
        self,
        task_id: str,
        result: dict[str, Any],
        worker: str | None = None,
        *,
        also: Callable[[Session], None] | None = None,
    ) -> bool:
        """Store the result and mark the task ``completed``; its segments become searchable at once.

        The recording's duration becomes the result's: the length of the audio actually decoded,
        which a file's header may have misstated at upload.

        Args:
            also: more writes that belong to the result (its artifacts, the edits that still
                apply); run in the same transaction, only when the task was ours to complete.
        """

        def index_and_also(session: Session) -> None:
            if also is not None:
                also(session)  # e.g. the corrections a re-run keeps, which search must see
            if result.get("duration") is not None:
                recording = select(ProcessingTask.recording_id).where(ProcessingTask.id == task_id).scalar_subquery()
                session.execute(update(Recording).where(Recording.id == recording).values(duration=result["duration"]))
            reindex(session, task_id)

        values = dict(
            status=COMPLETED, stage="done", progress=PROGRESS_MAX, result=result,
            num_speakers=len(result.get("speakers") or ()), error=None, rerun=None,
        )  # fmt: skip
        return self._finish(task_id, "completed", worker, values, also=index_and_also)

    def fail(self, task_id: str, message: str, worker: str | None = None) -> bool:
        """Mark the task ``failed`` with a message for a person."""
        return self._finish(task_id, "failed", worker, {"status": FAILED, "stage": "failed", "error": message})

    def cancel(self, task_id: str) -> bool:
        """Stop a ``queued`` or ``processing`` task: it becomes ``cancelled``, a final status.

        A queued task is then never claimed; the worker running a processing one notices at its
        next progress report (``services.jobs.runner``) and stops without writing a result. False when
        the task is final already or does not exist. Stage and percent stay: how far it got.
        """
        values = {"status": CANCELLED, "completed_at": utcnow(), "heartbeat_at": None}
        return transition(self.engine, task_id, [ProcessingTask.status.in_((QUEUED, PROCESSING))], values, "cancelled")

    def _finish(
        self,
        task_id: str,
        event: str,
        worker: str | None,
        values: dict[str, Any],
        *,
        also: Callable[[Session], object] | None = None,
    ) -> bool:
        """Move a task that is not final to a final state; ``also`` runs in the same transaction on success."""
        where: list[ColumnElement[bool]] = [ProcessingTask.status.not_in(FINAL_STATUSES)]
        if worker is not None:
            where.append(ProcessingTask.worker == worker)  # only the copy that holds the claim
        values = {**values, "completed_at": utcnow(), "heartbeat_at": None}
        return transition(self.engine, task_id, where, values, event, worker=worker, also=also, note_ignored=True)

    def delete(self, task_id: str) -> DeletedTask | None:
        """Delete a task row, and its recording row when no other task uses it. None: no such task.

        A worker still running the task finds its row gone: its progress and final writes change
        nothing (they are conditional updates), so deleting a running task is safe.
        """
        with session_scope(self.engine) as session:
            return _delete_rows(session, task_id)


def _delete_rows(session: Session, task_id: str) -> DeletedTask | None:
    row = session.get(ProcessingTask, task_id, options=[joinedload(ProcessingTask.recording)])
    if row is None:
        return None
    view = TaskView.of(row, with_result=False)
    session.execute(delete(TranscriptSegment).where(TranscriptSegment.task_id == task_id))
    session.execute(delete(ProcessingTask).where(ProcessingTask.id == task_id))
    others = session.scalar(
        select(func.count()).select_from(ProcessingTask).where(ProcessingTask.recording_id == view.recording.id)
    )
    if not others:
        session.execute(delete(Recording).where(Recording.id == view.recording.id))
    return DeletedTask(task=view, recording_removed=not others)
