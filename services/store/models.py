"""The tables: ``recordings`` (an uploaded file), ``processing_tasks`` (one analysis of it), its events,
and ``transcript_segments`` (the searchable copy of each completed transcript).

The task table is the source of truth for every job: pages poll it, workers write progress and
results into it. ``processing_tasks.result`` is always the machine's result; what analysts change
(speaker names, merges, corrected segments) lives beside it in ``speaker_labels`` and
``segment_edits``, and what a re-run can reuse (the transcript, the voice embeddings) in
``task_artifacts``. Schema changes go through an Alembic migration in ``services/store/migrations``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

QUEUED = "queued"
PROCESSING = "processing"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
"""Stopped by a person: a queued task never runs, a running one stops at its next progress report."""
STATUSES = (QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED)
FINAL_STATUSES = (COMPLETED, FAILED, CANCELLED)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Recording(Base):
    """An uploaded or recorded file, stored under the storage root."""

    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str | None] = mapped_column(String(1024))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tasks: Mapped[list[ProcessingTask]] = relationship(back_populates="recording")


class ProcessingTask(Base):
    """One analysis of a recording and everything the worker reports about it."""

    __tablename__ = "processing_tasks"
    __table_args__ = (
        Index("ix_processing_tasks_status", "status"),
        Index("ix_processing_tasks_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32), default="analyze")
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(64), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    num_speakers: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rerun: Mapped[str | None] = mapped_column(String(32))
    """``"diarize"`` while a re-run of the speaker separation is queued or running (else None)."""

    recording: Mapped[Recording] = relationship(back_populates="tasks")
    events: Mapped[list[TaskEvent]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class TaskEvent(Base):
    """One thing that happened to a task (claimed, released, reaped, completed, failed, ...).

    The log is what the reliability tests count (attempts, duplicate runs) and what an operator
    reads when a task took more than one attempt.
    """

    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("processing_tasks.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    worker: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SpeakerLabel(Base):
    """What an analyst said about one speaker of a task: a name, or that it is another speaker."""

    __tablename__ = "speaker_labels"

    task_id: Mapped[str] = mapped_column(ForeignKey("processing_tasks.id", ondelete="CASCADE"), primary_key=True)
    speaker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    merged_into: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SegmentEdit(Base):
    """An analyst's correction of one segment of the machine result (by its index there)."""

    __tablename__ = "segment_edits"

    task_id: Mapped[str] = mapped_column(ForeignKey("processing_tasks.id", ondelete="CASCADE"), primary_key=True)
    segment_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str | None] = mapped_column(Text)
    speaker: Mapped[str | None] = mapped_column(String(64))
    edited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TaskArtifact(Base):
    """A named blob an analysis left for later re-runs (the transcript, the voice embeddings)."""

    __tablename__ = "task_artifacts"

    task_id: Mapped[str] = mapped_column(ForeignKey("processing_tasks.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TranscriptSegment(Base):
    """One segment of a completed task's transcript, kept for full-text search.

    The result JSON stays the source of truth; these rows are a copy written in the same
    transaction as the result or the correction (``services.store.edits_repo.reindex``). The search
    index over ``text`` is dialect-specific and lives only in the migration (``0004_search``):
    an FTS5 table kept in step by triggers on SQLite, a GIN index over ``to_tsvector`` on PostgreSQL.
    """

    __tablename__ = "transcript_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("processing_tasks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)


class WebhookDelivery(Base):
    """Where to POST a task's status when it ends (``callback_url``), and how that is going.

    The row is due when its task is final and has ended since ``done_at`` (a re-run that ends again
    is reported again); ``claimed_until`` is the lease of the process posting it now.
    """

    __tablename__ = "webhook_deliveries"

    task_id: Mapped[str] = mapped_column(ForeignKey("processing_tasks.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claim: Mapped[str | None] = mapped_column(String(36))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    """When the last end was delivered or given up on; None while an end waits to be posted."""
    delivered_status: Mapped[str | None] = mapped_column(String(16))
    """The task status the receiver last accepted (None until one was)."""
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WatchedFile(Base):
    """An audio file content (by SHA-256) the watch folder submitted: never analysed twice."""

    __tablename__ = "watched_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    task_id: Mapped[str | None] = mapped_column(ForeignKey("processing_tasks.id", ondelete="SET NULL"))
    path: Mapped[str] = mapped_column(String(4096))
    """Where the file was last seen (its exports are written beside it)."""
    state: Mapped[str] = mapped_column(String(16), index=True)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Voice(Base):
    """A person of the voice library (``services.voices``): a name and the recordings they were confirmed in."""

    __tablename__ = "voices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VoiceEmbedding(Base):
    """One recording a voice was confirmed in: which speaker, how long they talked, and their print.

    ``vector`` is None once the voice's bounded summary dropped it (``services.voices.summary``); the
    recording stays listed. ``task_id`` becomes None when the task is deleted: the voice keeps what it
    learnt, with the file name and date for its page.
    """

    __tablename__ = "voice_embeddings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    voice_id: Mapped[str] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(ForeignKey("processing_tasks.id", ondelete="SET NULL"), index=True)
    speaker_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The same speech's telephone print (``services.analysis.phone_band``); dropped with ``vector``."""
    talk_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    share: Mapped[float] = mapped_column(Float, default=0.0)
    """The speaker's part of the recording's talk time (0..1)."""
    heard_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    """When the recording was made (its task's creation)."""


class SpeakerPrint(Base):
    """One speaker's voiceprint in one task (``services.voices.prints``): what naming or confirming adds."""

    __tablename__ = "speaker_prints"

    task_id: Mapped[str] = mapped_column(ForeignKey("processing_tasks.id", ondelete="CASCADE"), primary_key=True)
    speaker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    phone_vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The telephone print, when the sampled windows held enough of the speaker (``services.voices.prints``)."""
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


SUGGESTED, AUTO, CONFIRMED, REJECTED = "suggested", "auto", "confirmed", "rejected"
"""States of a ``voice_matches`` row: suggested, applied as the name without asking, confirmed, turned down."""
OPEN = (SUGGESTED, AUTO)
"""States of a suggestion still waiting for an analyst's answer."""


class VoiceMatch(Base):
    """A voice suggested for (or linked to, or rejected for) one speaker of one task."""

    __tablename__ = "voice_matches"

    task_id: Mapped[str] = mapped_column(ForeignKey("processing_tasks.id", ondelete="CASCADE"), primary_key=True)
    speaker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    voice_id: Mapped[str] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"), primary_key=True, index=True)
    similarity: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))
    """``suggested``, ``auto`` (applied as the name, VOICE_AUTO_NAME), ``confirmed`` or ``rejected``."""
