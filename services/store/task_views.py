"""What the task table hands out: frozen snapshots of rows, never live ORM objects.

``TaskView`` is one task and its recording; ``SearchPage``/``SearchHit`` a page of transcript
matches; ``QueueAhead`` the queue before a task; ``DeletedTask`` what a deletion removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, overload

from services.store.models import FINAL_STATUSES, ProcessingTask
from services.store.search_query import SearchQuery

SEARCH_COUNT_CAP = 1000
"""Search counts matches up to this many. Beyond it, counting and sorting every match would cost
more than the page is worth: the matches then come most recently indexed first."""


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """``value`` in UTC: SQLite hands back naive datetimes, and everything stored is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
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
                created_at=aware(rec.created_at),
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
            created_at=aware(row.created_at),
            started_at=aware(row.started_at),
            heartbeat_at=aware(row.heartbeat_at),
            completed_at=aware(row.completed_at),
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
    """What ``TaskLifecycle.delete`` removed: the task, and whether its recording row went too."""

    task: TaskView
    recording_removed: bool
