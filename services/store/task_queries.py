"""Reading the task table: one task, pages of tasks with History's filters, transcript search,
the queue's statistics (for waiting-time estimates) and what the reaper and housekeeping look at.

Nothing here writes; the state machine's writes are ``services.store.task_lifecycle``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, defer, joinedload

from services.errors import TaskNotFound
from services.store import transcript_index
from services.store.db import session_scope
from services.store.models import (
    COMPLETED,
    FINAL_STATUSES,
    PROCESSING,
    QUEUED,
    ProcessingTask,
    Recording,
    TaskEvent,
    TranscriptSegment,
)
from services.store.search_query import parse
from services.store.task_query import SortColumns, TaskFilter, needs_recording, order_by, voice_segments
from services.store.task_views import SEARCH_COUNT_CAP, QueueAhead, SearchHit, SearchPage, TaskView, aware

RECENT_RUNS = 20
"""How many recently completed analyses the processing speed is measured over (``recent_runs``)."""
SCAN_LIMIT = 500
"""The most rows one reaper or housekeeping pass looks at; the next pass takes the rest."""


def _conditions(status: str | None, filters: TaskFilter | None) -> list[Any]:
    conditions = list(filters.clauses()) if filters is not None else []
    if status:
        conditions.append(ProcessingTask.status == status)
    return conditions


def _views(session: Session, task_ids: set[str]) -> dict[str, TaskView]:
    if not task_ids:
        return {}
    query = (
        select(ProcessingTask)
        .options(joinedload(ProcessingTask.recording), defer(ProcessingTask.result))
        .where(ProcessingTask.id.in_(task_ids))
    )
    return {row.id: TaskView.of(row, with_result=False) for row in session.scalars(query)}


class TaskQueries:
    """Reads the task table through one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
        ids_query = select(ProcessingTask.id).where(*_conditions(status, filters))
        if needs_recording(sort, filters):
            ids_query = ids_query.join(Recording, Recording.id == ProcessingTask.recording_id)
        ids_query = ids_query.order_by(*order_by(sort)).limit(limit).offset(offset)
        with session_scope(self.engine) as session:
            ids = list(session.scalars(ids_query))
            views = _views(session, set(ids))
        return [views[task_id] for task_id in ids if task_id in views]

    def count(self, status: str | None = None, *, filters: TaskFilter | None = None) -> int:
        query = select(func.count()).select_from(ProcessingTask)
        if needs_recording("newest", filters):
            query = query.join(Recording, Recording.id == ProcessingTask.recording_id)
        with session_scope(self.engine) as session:
            return int(session.scalar(query.where(*_conditions(status, filters))) or 0)

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
        tasks_query = select(*columns).where(*_conditions(None, filters))
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
        if filters is not None and filters.voice_id is not None:
            matching = matching.where(voice_segments(filters.voice_id, segments))
        counted = matching.with_only_columns(segments.id).limit(SEARCH_COUNT_CAP + 1).subquery()
        with session_scope(self.engine) as session:
            total = int(session.scalar(select(func.count()).select_from(counted)) or 0)
            order: list[Any]
            if total > SEARCH_COUNT_CAP:
                order = [match.recency.desc()]
            else:
                order = [*order_by(sort, sort_columns), segments.start]
            rows = session.execute(matching.order_by(*order).limit(limit).offset(offset)).all()
            snippets = transcript_index.snippets(session, dialect, query, [r.id for r in rows])
            views = _views(session, {r.task_id for r in rows})
        hits = tuple(SearchHit(views[r.task_id], r.start, r.end, r.speaker, snippets.get(r.id, "")) for r in rows)
        return SearchPage(hits, total, query)

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
        return QueueAhead(int(tasks), float(seconds or 0.0))

    def recent_runs(self, limit: int = RECENT_RUNS) -> list[tuple[float, float]]:
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
        return [
            (float(d), (aware(done) - aware(started)).total_seconds())
            for d, started, done in rows
            if d is not None and started is not None and done is not None  # the query's conditions, for the types
        ]

    # --- what the reaper and housekeeping look at ---------------------------------------------

    def stale_processing(self, stale_before: datetime, limit: int = SCAN_LIMIT) -> list[TaskView]:
        query = (
            select(ProcessingTask)
            .options(joinedload(ProcessingTask.recording), defer(ProcessingTask.result))
            .where(ProcessingTask.status == PROCESSING, ProcessingTask.heartbeat_at < stale_before)
            .limit(limit)
        )
        with session_scope(self.engine) as session:
            return [TaskView.of(row, with_result=False) for row in session.scalars(query)]

    def queued_not_sent_since(self, sent_before: datetime, limit: int = SCAN_LIMIT) -> list[TaskView]:
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

    def ids_older_than(self, created_before: datetime, limit: int = SCAN_LIMIT) -> list[str]:
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
