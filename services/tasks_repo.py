"""The task table's life cycle: create, claim, progress, complete, fail, list.

Every state change is one short transaction and a conditional UPDATE, so two copies of the same
job (Celery delivers at least once) cannot both claim it, and a late progress report can never
overwrite a final state. Callers get frozen ``TaskView`` snapshots, never live ORM objects.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session, defer, joinedload

from services.db import session_scope
from services.errors import TaskNotFound
from services.models import (
    COMPLETED,
    FAILED,
    FINAL_STATUSES,
    PROCESSING,
    QUEUED,
    ProcessingTask,
    Recording,
    TaskEvent,
    utcnow,
)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything we store is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


@dataclass(frozen=True)
class RecordingView:
    id: str
    filename: str
    stored_path: str | None
    size_bytes: int
    duration: float | None
    created_at: datetime


@dataclass(frozen=True)
class TaskView:
    """A snapshot of one task row and its recording."""

    id: str
    recording: RecordingView
    kind: str
    status: str
    progress: int
    stage: str
    error: str | None
    options: dict[str, Any]
    result: dict[str, Any] | None
    num_speakers: int | None
    attempts: int
    worker: str | None
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    completed_at: datetime | None
    rerun: str | None = None
    """``"diarize"`` while a re-run of the speaker separation is queued or running."""

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def job(self) -> str:
        """What a worker does with this row: its ``kind``, or ``"rediarize"`` for a re-run of the speakers."""
        return "rediarize" if self.rerun == "diarize" else self.kind

    @classmethod
    def of(cls, row: ProcessingTask, *, with_result: bool = True) -> TaskView:
        rec = row.recording
        return cls(
            id=row.id,
            recording=RecordingView(
                id=rec.id,
                filename=rec.filename,
                stored_path=rec.stored_path,
                size_bytes=rec.size_bytes,
                duration=rec.duration,
                created_at=_aware(rec.created_at),
            ),
            kind=row.kind,
            status=row.status,
            progress=row.progress,
            stage=row.stage,
            error=row.error,
            options=dict(row.options or {}),
            result=row.result if with_result else None,
            num_speakers=row.num_speakers,
            attempts=row.attempts,
            worker=row.worker,
            created_at=_aware(row.created_at),
            started_at=_aware(row.started_at),
            heartbeat_at=_aware(row.heartbeat_at),
            completed_at=_aware(row.completed_at),
            rerun=row.rerun,
        )


@dataclass(frozen=True)
class DeletedTask:
    """What ``TaskRepo.delete`` removed: the task, and whether its recording row went too."""

    task: TaskView
    recording_removed: bool


class TaskRepo:
    """Reads and writes the task table through one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- creating -------------------------------------------------------------------------

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

    # --- reading --------------------------------------------------------------------------

    def get(self, task_id: str) -> TaskView | None:
        with session_scope(self.engine) as session:
            row = session.get(ProcessingTask, task_id, options=[joinedload(ProcessingTask.recording)])
            return TaskView.of(row) if row is not None else None

    def require(self, task_id: str) -> TaskView:
        task = self.get(task_id)
        if task is None:
            raise TaskNotFound(f"There is no task {task_id!r}.")
        return task

    def list_tasks(
        self, *, limit: int = 50, offset: int = 0, status: str | None = None, oldest_first: bool = False
    ) -> list[TaskView]:
        """Tasks newest first (or oldest first), without their (large) result payloads."""
        order = ProcessingTask.created_at.asc() if oldest_first else ProcessingTask.created_at.desc()
        query = (
            select(ProcessingTask)
            .options(joinedload(ProcessingTask.recording), defer(ProcessingTask.result))
            .order_by(order, ProcessingTask.id)
            .limit(limit)
            .offset(offset)
        )
        if status:
            query = query.where(ProcessingTask.status == status)
        with session_scope(self.engine) as session:
            return [TaskView.of(row, with_result=False) for row in session.scalars(query)]

    def count(self, status: str | None = None) -> int:
        query = select(func.count()).select_from(ProcessingTask)
        if status:
            query = query.where(ProcessingTask.status == status)
        with session_scope(self.engine) as session:
            return int(session.scalar(query) or 0)

    # --- the worker's writes ---------------------------------------------------------------

    def claim(self, task_id: str, worker: str, *, stale_before: datetime, takeover: str | None = None) -> TaskView | None:
        """Move the task to ``processing`` for ``worker``; None when another live copy has it.

        A task can be claimed when it is ``queued``, or ``processing`` but abandoned: its heartbeat
        is older than ``stale_before``, or its worker is ``takeover`` (a process the caller knows
        is dead). The condition and the write are one UPDATE, so two copies cannot both win.
        """
        now = utcnow()
        abandoned = ProcessingTask.heartbeat_at < stale_before
        if takeover:
            abandoned = abandoned | (ProcessingTask.worker == takeover)
        with session_scope(self.engine) as session:
            claimed = session.execute(
                update(ProcessingTask)
                .where(
                    ProcessingTask.id == task_id,
                    (ProcessingTask.status == QUEUED) | ((ProcessingTask.status == PROCESSING) & abandoned),
                )
                .values(
                    status=PROCESSING,
                    stage="starting",
                    progress=0,
                    error=None,
                    worker=worker,
                    attempts=ProcessingTask.attempts + 1,
                    started_at=now,
                    heartbeat_at=now,
                )
            ).rowcount
            if claimed:
                session.add(TaskEvent(task_id=task_id, event="claimed", worker=worker, at=now))
        return self.get(task_id) if claimed else None

    def heartbeat(self, task_id: str, worker: str) -> bool:
        """Refresh the heartbeat of a task this worker runs. False when it is no longer ours."""
        with session_scope(self.engine) as session:
            updated = session.execute(
                update(ProcessingTask)
                .where(ProcessingTask.id == task_id, ProcessingTask.status == PROCESSING, ProcessingTask.worker == worker)
                .values(heartbeat_at=utcnow())
            ).rowcount
        return bool(updated)

    def report_progress(self, task_id: str, stage: str, progress: int) -> bool:
        """Record stage and percent (also the heartbeat). False when the task is no longer running."""
        with session_scope(self.engine) as session:
            updated = session.execute(
                update(ProcessingTask)
                .where(ProcessingTask.id == task_id, ProcessingTask.status == PROCESSING)
                .values(stage=stage, progress=max(0, min(100, int(progress))), heartbeat_at=utcnow())
            ).rowcount
        return bool(updated)

    def release(self, task_id: str, worker: str, reason: str) -> bool:
        """Hand a running task back to the queue (a transient error; it will be retried)."""
        with session_scope(self.engine) as session:
            updated = session.execute(
                update(ProcessingTask)
                .where(ProcessingTask.id == task_id, ProcessingTask.status == PROCESSING, ProcessingTask.worker == worker)
                .values(status=QUEUED, stage="queued", progress=0, heartbeat_at=None, error=reason)
            ).rowcount
            if updated:
                session.add(TaskEvent(task_id=task_id, event="released", worker=worker, detail=reason, at=utcnow()))
        return bool(updated)

    def requeue_stale(self, task_id: str, stale_before: datetime) -> bool:
        """Put a ``processing`` task whose heartbeat went stale back to ``queued`` (the reaper's job)."""
        with session_scope(self.engine) as session:
            updated = session.execute(
                update(ProcessingTask)
                .where(
                    ProcessingTask.id == task_id,
                    ProcessingTask.status == PROCESSING,
                    ProcessingTask.heartbeat_at < stale_before,
                )
                .values(status=QUEUED, stage="queued", progress=0, heartbeat_at=None, enqueued_at=None)
            ).rowcount
            if updated:
                session.add(TaskEvent(task_id=task_id, event="reaped", detail="heartbeat went stale", at=utcnow()))
        return bool(updated)

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
            status=QUEUED, stage="queued", progress=0, error=None, attempts=0, worker=None, started_at=None,
            heartbeat_at=None, completed_at=None, enqueued_at=None, rerun=rerun,
        )  # fmt: skip
        if options is not None:
            values["options"] = options
        with session_scope(self.engine) as session:
            updated = session.execute(
                update(ProcessingTask)
                .where(ProcessingTask.id == task_id, ProcessingTask.status.in_(from_statuses))
                .values(**values)
            ).rowcount
            if updated:
                session.add(TaskEvent(task_id=task_id, event="requeued", detail=reason or rerun or "analysis", at=utcnow()))
        return self.get(task_id) if updated else None

    def mark_enqueued(self, task_id: str) -> None:
        """Remember that a message for this task was just handed to the broker."""
        with session_scope(self.engine) as session:
            session.execute(update(ProcessingTask).where(ProcessingTask.id == task_id).values(enqueued_at=utcnow()))

    def complete(
        self,
        task_id: str,
        result: dict[str, Any],
        worker: str | None = None,
        *,
        also: Callable[[Session], None] | None = None,
    ) -> bool:
        """Store the result and mark the task ``completed``.

        Args:
            also: more writes that belong to the result (its artifacts, the edits that still
                apply); run in the same transaction, only when the task was ours to complete.
        """
        return self._finish(
            task_id,
            "completed",
            worker,
            also=also,
            status=COMPLETED,
            stage="done",
            progress=100,
            result=result,
            num_speakers=len(result.get("speakers") or ()),
            error=None,
            rerun=None,
        )

    def fail(self, task_id: str, message: str, worker: str | None = None) -> bool:
        """Mark the task ``failed`` with a message for a person."""
        return self._finish(task_id, "failed", worker, status=FAILED, stage="failed", error=message)

    def _finish(
        self, task_id: str, event: str, worker: str | None, *, also: Callable[[Session], None] | None = None, **values: Any
    ) -> bool:
        now = utcnow()
        condition = [ProcessingTask.id == task_id, ProcessingTask.status.not_in(FINAL_STATUSES)]
        if worker is not None:
            condition.append(ProcessingTask.worker == worker)  # only the copy that holds the claim
        with session_scope(self.engine) as session:
            updated = session.execute(
                update(ProcessingTask).where(*condition).values(completed_at=now, heartbeat_at=None, **values)
            ).rowcount
            if updated and also is not None:
                also(session)
            if updated or session.get(ProcessingTask, task_id) is not None:
                # "-ignored": a late copy tried to finish a task that is final or no longer its own
                outcome = event if updated else f"{event}-ignored"
                session.add(TaskEvent(task_id=task_id, event=outcome, worker=worker, at=now))
        return bool(updated)

    # --- what the reaper and housekeeping look at ---------------------------------------------

    def stale_processing(self, stale_before: datetime, limit: int = 500) -> list[TaskView]:
        query = (
            select(ProcessingTask)
            .options(joinedload(ProcessingTask.recording), defer(ProcessingTask.result))
            .where(ProcessingTask.status == PROCESSING, ProcessingTask.heartbeat_at < stale_before)
            .limit(limit)
        )
        with session_scope(self.engine) as session:
            return [TaskView.of(row, with_result=False) for row in session.scalars(query)]

    def queued_not_sent_since(self, sent_before: datetime, limit: int = 500) -> list[TaskView]:
        """Queued tasks never handed to the broker, or handed over before ``sent_before``."""
        query = (
            select(ProcessingTask)
            .options(joinedload(ProcessingTask.recording), defer(ProcessingTask.result))
            .where(
                ProcessingTask.status == QUEUED,
                (ProcessingTask.enqueued_at.is_(None)) | (ProcessingTask.enqueued_at < sent_before),
            )
            .order_by(ProcessingTask.created_at)
            .limit(limit)
        )
        with session_scope(self.engine) as session:
            return [TaskView.of(row, with_result=False) for row in session.scalars(query)]

    def events(self, task_id: str) -> list[tuple[str, str | None, str | None]]:
        """``(event, worker, detail)`` for a task, oldest first."""
        query = select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)
        with session_scope(self.engine) as session:
            return [(e.event, e.worker, e.detail) for e in session.scalars(query)]

    def ids_older_than(self, created_before: datetime, limit: int = 500) -> list[str]:
        query = (
            select(ProcessingTask.id)
            .where(ProcessingTask.created_at < created_before, ProcessingTask.status.in_(FINAL_STATUSES))
            .limit(limit)
        )
        with session_scope(self.engine) as session:
            return list(session.scalars(query))

    def stored_keys(self) -> set[str]:
        """Every storage key a recording row points at."""
        with session_scope(self.engine) as session:
            return {k for k in session.scalars(select(Recording.stored_path)) if k}

    # --- removing -------------------------------------------------------------------------

    def delete(self, task_id: str) -> DeletedTask | None:
        """Delete a task row, and its recording row when no other task uses it. None: no such task.

        A worker still running the task finds its row gone: its progress and final writes change
        nothing (they are conditional updates), so deleting a running task is safe.
        """
        with session_scope(self.engine) as session:
            row = session.get(ProcessingTask, task_id, options=[joinedload(ProcessingTask.recording)])
            if row is None:
                return None
            view = TaskView.of(row, with_result=False)
            session.execute(delete(ProcessingTask).where(ProcessingTask.id == task_id))
            others = session.scalar(
                select(func.count()).select_from(ProcessingTask).where(ProcessingTask.recording_id == view.recording.id)
            )
            if not others:
                session.execute(delete(Recording).where(Recording.id == view.recording.id))
        return DeletedTask(task=view, recording_removed=not others)
