"""The task table's life cycle: create, claim, progress, complete, fail, cancel, list, search.

Every state change is one short transaction and a conditional UPDATE, so two copies of the same
job (Celery delivers at least once) cannot both claim it, and a late progress report can never
overwrite a final state. Callers get frozen ``TaskView`` snapshots, never live ORM objects.
A completed task's transcript is also written, in the same transaction, to the searchable
``transcript_segments`` (``services.store.transcript_index``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import Engine, delete, false, func, select, update
from sqlalchemy.orm import Session, defer, joinedload

from services.errors import TaskNotFound
from services.store import transcript_index
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
from services.store.search_query import SearchQuery, parse
from services.store.task_query import SortColumns, TaskFilter, needs_recording, order_by

SEARCH_COUNT_CAP = 1000
"""Search counts matches up to this many. Beyond it, counting and sorting every match would cost
more than the page is worth: the matches then come most recently indexed first."""


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
class SearchHit:
    """One transcript segment that matches a search, with its task (without the result payload)."""

    task: TaskView
    start: float
    end: float
    speaker: str | None
    snippet: str
    """The segment's text around the match; matched words between ``transcript_index.MARK_START``
    and ``MARK_END`` (``transcript_index.snippet_pieces`` splits it)."""


@dataclass(frozen=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    total: int
    """Matching segments across all pages, counted up to ``SEARCH_COUNT_CAP`` + 1."""
    query: SearchQuery

    @property
    def capped(self) -> bool:
        """More than ``SEARCH_COUNT_CAP`` matches: they come most recently indexed first, not in ``sort`` order."""
        return self.total > SEARCH_COUNT_CAP


@dataclass(frozen=True)
class QueueAhead:
    """The queued tasks that were submitted before a given one (the queue is first in, first out)."""

    tasks: int
    audio_seconds: float
    """Their recordings' total duration (tasks whose duration is unknown count as 0)."""


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
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        status: str | None = None,
        oldest_first: bool = False,
        filters: TaskFilter | None = None,
        sort: str | None = None,
    ) -> list[TaskView]:
        """A page of tasks, without their (large) result payloads.

        The page's ids are chosen first (filter, order, limit: on SQLite all from the covering
        listing index), then only those rows are read: a row's other columns sit behind its result.

        Args:
            status: only tasks in this status (shorthand for ``filters.statuses``).
            oldest_first: shorthand for ``sort="oldest"``.
            filters: History's conditions (``services.store.task_query.TaskFilter``).
            sort: a key of ``services.store.task_query.SORTS``; newest first by default.
        """
        sort = sort or ("oldest" if oldest_first else "newest")
        ids_query = select(ProcessingTask.id).where(*self._conditions(status, filters))
        if needs_recording(sort, filters):
            ids_query = ids_query.join(Recording, Recording.id == ProcessingTask.recording_id)
        ids_query = ids_query.order_by(*order_by(sort)).limit(limit).offset(offset)
        with session_scope(self.engine) as session:
            ids = list(session.scalars(ids_query))
            views = self._views(session, set(ids))
        return [views[task_id] for task_id in ids if task_id in views]

    def count(self, status: str | None = None, *, filters: TaskFilter | None = None) -> int:
        query = select(func.count()).select_from(ProcessingTask)
        if needs_recording("newest", filters):
            query = query.join(Recording, Recording.id == ProcessingTask.recording_id)
        with session_scope(self.engine) as session:
            return int(session.scalar(query.where(*self._conditions(status, filters))) or 0)

    @staticmethod
    def _conditions(status: str | None, filters: TaskFilter | None) -> list[Any]:
        conditions = list(filters.clauses()) if filters is not None else []
        if status:
            conditions.append(ProcessingTask.status == status)
        return conditions

    def search(
        self, text: str, *, filters: TaskFilter | None = None, sort: str = "newest", limit: int = 50, offset: int = 0
    ) -> SearchPage:
        """Transcript segments that match ``text`` (``services.store.search_query``), a page at a time.

        Hits are ordered by their task (``sort``, as in ``list_tasks``), then by time in the
        recording; ``filters`` apply to their tasks. When more than ``SEARCH_COUNT_CAP`` segments
        match (a very common word), they come most recently indexed first instead, which the index
        yields without sorting them all (``SearchPage.capped``). The full-text SQL is the
        database's own (``services.store.transcript_index``): FTS5 on SQLite, ``tsvector`` on
        PostgreSQL. Snippets are made for the page's hits only.
        """
        query = parse(text)
        if query.empty:
            return SearchPage((), 0, query)
        dialect = self.engine.dialect.name
        match = transcript_index.matcher(dialect, query)
        segments = TranscriptSegment.__table__.c
        columns = [ProcessingTask.id, ProcessingTask.created_at]
        tasks_query = select(*columns).where(*self._conditions(None, filters))
        if needs_recording(sort, filters):
            columns += [Recording.duration, Recording.filename]
            tasks_query = tasks_query.add_columns(Recording.duration, Recording.filename).join(
                Recording, Recording.id == ProcessingTask.recording_id
            )
        tasks = tasks_query.cte("matching_tasks")
        if match.materialize_tasks:
            tasks = tasks.prefix_with("MATERIALIZED")
        sort_columns = SortColumns(tasks.c.created_at, tasks.c.id, tasks.c.get("duration"), tasks.c.get("filename"))
        matching = (
            select(segments.id, segments.task_id, segments.start, segments.end, segments.speaker)
            .select_from(match.source)
            .join(tasks, tasks.c.id == segments.task_id)
            .where(match.condition)
        )
        counted = matching.with_only_columns(segments.id).limit(SEARCH_COUNT_CAP + 1).subquery()
        with session_scope(self.engine) as session:
            total = int(session.scalar(select(func.count()).select_from(counted)) or 0)
            if total > SEARCH_COUNT_CAP:
                order = [match.recency.desc()]
            else:
                order = [*order_by(sort, sort_columns), segments.start]
            rows = session.execute(matching.order_by(*order).limit(limit).offset(offset)).all()
            snippets = transcript_index.snippets(session, dialect, query, [r.id for r in rows])
            views = self._views(session, {r.task_id for r in rows})
        hits = tuple(SearchHit(views[r.task_id], r.start, r.end, r.speaker, snippets.get(r.id, "")) for r in rows)
        return SearchPage(hits, total, query)

    @staticmethod
    def _views(session: Session, task_ids: set[str]) -> dict[str, TaskView]:
        if not task_ids:
            return {}
        query = (
            select(ProcessingTask)
            .options(joinedload(ProcessingTask.recording), defer(ProcessingTask.result))
            .where(ProcessingTask.id.in_(task_ids))
        )
        return {row.id: TaskView.of(row, with_result=False) for row in session.scalars(query)}

    def queue_ahead(self, task_id: str) -> QueueAhead:
        """The queued tasks submitted before ``task_id`` (what a worker takes first)."""
        with session_scope(self.engine) as session:
            row = session.execute(
                select(ProcessingTask.created_at, ProcessingTask.id).where(ProcessingTask.id == task_id)
            ).first()
            if row is None:
                return QueueAhead(0, 0.0)
            created_at, _ = row
            earlier = (ProcessingTask.created_at < created_at) | (
                (ProcessingTask.created_at == created_at) & (ProcessingTask.id < task_id)
            )
            tasks, seconds = session.execute(
                select(func.count(), func.coalesce(func.sum(Recording.duration), 0.0))
                .select_from(ProcessingTask)
                .join(Recording, Recording.id == ProcessingTask.recording_id)
                .where(ProcessingTask.status == QUEUED, earlier)
            ).one()
        return QueueAhead(int(tasks), float(seconds))

    def recent_runs(self, limit: int = 20) -> list[tuple[float, float]]:
        """``(seconds of audio, seconds it took)`` of the last ``limit`` completed analyses, newest first.

        The time is from the last claim to completion: what a person waits once a worker starts.
        """
        query = (
            select(Recording.duration, ProcessingTask.started_at, ProcessingTask.completed_at)
            .select_from(ProcessingTask)
            .join(Recording, Recording.id == ProcessingTask.recording_id)
            .where(
                ProcessingTask.status == COMPLETED,
                ProcessingTask.started_at.is_not(None),
                ProcessingTask.completed_at.is_not(None),
                Recording.duration > 0,
            )
            .order_by(ProcessingTask.completed_at.desc())
            .limit(limit)
        )
        with session_scope(self.engine) as session:
            rows = session.execute(query).all()
        return [(float(d), (_aware(done) - _aware(started)).total_seconds()) for d, started, done in rows]

    # --- the worker's writes ---------------------------------------------------------------

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
                .where(
                    ProcessingTask.id == task_id, ProcessingTask.status == PROCESSING, ProcessingTask.worker == worker
                )
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
                .where(
                    ProcessingTask.id == task_id, ProcessingTask.status == PROCESSING, ProcessingTask.worker == worker
                )
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
                session.add(
                    TaskEvent(task_id=task_id, event="requeued", detail=reason or rerun or "analysis", at=utcnow())
                )
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

        return self._finish(
            task_id,
            "completed",
            worker,
            also=index_and_also,
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

    def cancel(self, task_id: str) -> bool:
        """Stop a ``queued`` or ``processing`` task: it becomes ``cancelled``, a final status.

        A queued task is then never claimed; the worker running a processing one notices at its
        next progress report (``services.jobs.runner``) and stops without writing a result. False when
        the task is final already or does not exist.
        """
        now = utcnow()
        with session_scope(self.engine) as session:
            updated = session.execute(
                update(ProcessingTask)
                .where(ProcessingTask.id == task_id, ProcessingTask.status.in_((QUEUED, PROCESSING)))
                .values(status=CANCELLED, completed_at=now, heartbeat_at=None)  # stage and percent: how far it got
            ).rowcount
            if updated:
                session.add(TaskEvent(task_id=task_id, event="cancelled", at=now))
        return bool(updated)

    def _finish(
        self,
        task_id: str,
        event: str,
        worker: str | None,
        *,
        also: Callable[[Session], object] | None = None,
        **values: Any,
    ) -> bool:
        """Move a task that is not final to a final state; ``also`` runs in the same transaction on success."""
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
            session.execute(delete(TranscriptSegment).where(TranscriptSegment.task_id == task_id))
            session.execute(delete(ProcessingTask).where(ProcessingTask.id == task_id))
            others = session.scalar(
                select(func.count()).select_from(ProcessingTask).where(ProcessingTask.recording_id == view.recording.id)
            )
            if not others:
                session.execute(delete(Recording).where(Recording.id == view.recording.id))
        return DeletedTask(task=view, recording_removed=not others)
