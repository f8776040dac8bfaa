"""Which tasks a list shows and in what order: History's filters and sort keys as SQL.

``TaskFilter`` and ``SORTS`` are shared by ``TaskQueries.list_tasks``, ``TaskQueries.count`` and
``TaskQueries.search``, so a filter means the same thing in the table and in search results. Every
condition and order is SQL: paging stays in the database however many tasks there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import aliased

from services.errors import InvalidOptions
from services.store.models import REJECTED, ProcessingTask, Recording, SpeakerLabel, VoiceMatch

SORTS: dict[str, str] = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "longest": "Longest recording first",
    "shortest": "Shortest recording first",
    "name": "Name (A–Z)",
}
"""Sort keys and how a person reads them."""


@dataclass(frozen=True)
class TaskFilter:
    """Conditions a task must meet; ``None`` (or empty) means "any".

    Times are timezone-aware; ``created_from`` is inclusive, ``created_before`` exclusive. Durations
    are seconds of recording; a task whose duration is unknown only passes when no duration bound
    is set (the same holds for speakers, known once a task completed).
    """

    statuses: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_before: datetime | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    voice_id: str | None = None
    """Only recordings in which this voice of the library speaks (confirmed or suggested, not rejected);
    a search then finds only what that voice said (``voice_segments``)."""

    def __post_init__(self) -> None:
        pairs: tuple[tuple[Any, Any, str], ...] = (
            (self.min_speakers, self.max_speakers, "speakers"),
            (self.min_duration, self.max_duration, "duration"),
            (self.created_from, self.created_before, "dates"),
        )
        for low, high, what in pairs:
            if low is not None and high is not None and low > high:
                raise InvalidOptions(f"The {what} range is empty: its lower end is above its upper end.")

    def clauses(self) -> list[ColumnElement[bool]]:
        """WHERE conditions over ``processing_tasks`` joined with ``recordings``."""
        clauses: list[ColumnElement[bool]] = []
        if self.statuses:
            clauses.append(ProcessingTask.status.in_(self.statuses))
        if self.created_from is not None:
            clauses.append(ProcessingTask.created_at >= _utc(self.created_from))
        if self.created_before is not None:
            clauses.append(ProcessingTask.created_at < _utc(self.created_before))
        if self.min_speakers is not None:
            clauses.append(ProcessingTask.num_speakers >= self.min_speakers)
        if self.max_speakers is not None:
            clauses.append(ProcessingTask.num_speakers <= self.max_speakers)
        if self.min_duration is not None:
            clauses.append(Recording.duration >= self.min_duration)
        if self.max_duration is not None:
            clauses.append(Recording.duration <= self.max_duration)
        if self.voice_id is not None:
            heard = select(VoiceMatch.task_id).where(VoiceMatch.voice_id == self.voice_id, VoiceMatch.state != REJECTED)
            clauses.append(ProcessingTask.id.in_(heard))
        return clauses


def voice_segments(voice_id: str, segments: Any) -> ColumnElement[bool]:
    """Search segments (``transcript_segments`` columns) said by a speaker linked to ``voice_id``.

    The index holds each segment's speaker as analysts see it: the speaker's name, else its id
    (``services.store.edits_repo.reindex``); so a segment is the voice's when its speaker is the name or
    the id of a speaker of its task linked to the voice.
    """
    label = aliased(SpeakerLabel)
    linked = (
        select(VoiceMatch.task_id)
        .outerjoin(label, (label.task_id == VoiceMatch.task_id) & (label.speaker_id == VoiceMatch.speaker_id))
        .where(
            VoiceMatch.task_id == segments.task_id,
            VoiceMatch.voice_id == voice_id,
            VoiceMatch.state != REJECTED,
            segments.speaker == func.coalesce(label.name, VoiceMatch.speaker_id),
        )
    )
    return linked.exists()


class SortColumns(NamedTuple):
    """The columns a sort reads: the tables' own, or the same-named columns of a subquery."""

    created_at: Any = ProcessingTask.created_at
    id: Any = ProcessingTask.id
    duration: Any = Recording.duration
    filename: Any = Recording.filename


def order_by(sort: str, columns: SortColumns = SortColumns()) -> list[Any]:
    """ORDER BY terms for a key of ``SORTS``; ties fall back to newest first, then the id (stable paging).

    Time and id run in the same direction, so newest and oldest are one walk over an index.

    Raises:
        InvalidOptions: ``sort`` is not a key of ``SORTS``.
    """
    c = columns
    newest = [c.created_at.desc(), c.id.desc()]
    if sort == "newest":
        return newest
    if sort == "oldest":
        return [c.created_at.asc(), c.id.asc()]
    if sort == "longest":
        return [c.duration.desc().nulls_last(), *newest]
    if sort == "shortest":
        return [c.duration.asc().nulls_last(), *newest]
    if sort == "name":
        return [func.lower(c.filename), *newest]
    raise InvalidOptions(f"Unknown sort {sort!r}; choose one of {', '.join(SORTS)}.")


def needs_recording(sort: str, filters: TaskFilter | None) -> bool:
    """Whether the sort or the filters read the ``recordings`` table (duration or name)."""
    by_duration = filters is not None and (filters.min_duration is not None or filters.max_duration is not None)
    return sort in ("longest", "shortest", "name") or by_duration


def _utc(value: datetime) -> datetime:
    # SQLite compares the stored text; every stored time is UTC, so bounds must be too.
    if value.tzinfo is None:
        raise InvalidOptions("Date filters need a timezone-aware time.")
    return value.astimezone(UTC)
