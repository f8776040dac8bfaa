"""The task table's life cycle: create, claim, progress, complete, fail, list.

Every state change is one short transaction and a conditional UPDATE, so two copies of the same
job (Celery delivers at least once) cannot both claim it, and a late progress report can never
overwrite a final state. Callers get frozen ``TaskView`` snapshots, never live ORM objects.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import defer, joinedload

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

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

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

    def claim(self, task_id: str, worker: str) -> TaskView | None:
        """Move a ``queued`` task to ``processing`` for ``worker``; None if another copy has it."""
        now = utcnow()
        with session_scope(self.engine) as session:
            claimed = session.execute(
                update(ProcessingTask)
                .where(ProcessingTask.id == task_id, ProcessingTask.status == QUEUED)
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
        return self.get(task_id) if claimed else None

    def report_progress(self, task_id: str, stage: str, progress: int) -> bool:
        """Record stage and percent (also the heartbeat). False when the task is no longer running."""
        with session_scope(self.engine) as session:
            updated = session.execute(
                update(ProcessingTask)
                .where(ProcessingTask.id == task_id, ProcessingTask.status == PROCESSING)
                .values(stage=stage, progress=max(0, min(100, int(progress))), heartbeat_at=utcnow())
            ).rowcount
        return bool(updated)

    def complete(self, task_id: str, result: dict[str, Any]) -> bool:
        """Store the result and mark the task ``completed``."""
        return self._finish(
            task_id,
            status=COMPLETED,
            stage="done",
            progress=100,
            result=result,
            num_speakers=len(result.get("speakers") or ()),
            error=None,
        )

    def fail(self, task_id: str, message: str) -> bool:
        """Mark the task ``failed`` with a message for a person."""
        return self._finish(task_id, status=FAILED, stage="failed", error=message)

    def _finish(self, task_id: str, **values: Any) -> bool:
        with session_scope(self.engine) as session:
            updated = session.execute(
                update(ProcessingTask)
                .where(ProcessingTask.id == task_id, ProcessingTask.status.not_in(FINAL_STATUSES))
                .values(completed_at=utcnow(), heartbeat_at=None, **values)
            ).rowcount
        return bool(updated)

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
