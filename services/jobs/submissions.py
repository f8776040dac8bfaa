"""Accepting a recording: store it, probe it, write the task row, hand it to the queue.

Pages, the CLI and the API all submit through ``submit``; the queue is passed in as ``enqueue`` so
this module knows nothing of Celery. A file that cannot be analysed still gets a row, ``failed``
with the reason, so the analyst sees what happened in History.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from services.analysis.audio import probe, too_long
from services.analysis.options import AnalysisOptions
from services.config import Settings
from services.errors import FastAudioError, UploadTooLarge
from services.results.names import Names, names_option
from services.storage.files import Storage, safe_name
from services.store.task_views import TaskView
from services.store.tasks_repo import TaskRepo

log = logging.getLogger(__name__)

# Task kinds: what the worker does with the stored file (worker.celery_app.TASK_FOR_KIND).
ANALYZE = "analyze"
VAD_RECORDING = "vad_recording"
"""A browser or microphone recording: silence is trimmed before the analysis (``services.analysis.trim``)."""

QUEUE_DOWN_MESSAGE = (
    "The queue is unreachable right now. Your recording is saved and the analysis will start "
    "as soon as the queue is back; there is nothing you need to do."
)


@dataclass(frozen=True)
class Submission:
    task: TaskView
    enqueued: bool
    message: str = ""
    error: FastAudioError | None = None
    """Why the task failed at once (the row says the same); None when it was accepted."""


def _size(data: bytes | BinaryIO) -> int:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return len(data)
    position = data.tell()
    data.seek(0, os.SEEK_END)
    size = data.tell()
    data.seek(position)
    return size


def _refused(
    repo: TaskRepo, name: str, size: int, options: dict[str, Any], kind: str, error: FastAudioError
) -> Submission:
    """A ``failed`` task for an upload refused before it was stored, with the reason for the person."""
    task = repo.create(filename=name, stored_path=None, size_bytes=size, duration=None, options=options, kind=kind)
    repo.fail(task.id, str(error))
    return Submission(repo.require(task.id), enqueued=False, message=str(error), error=error)


def submit(
    *,
    filename: str,
    data: bytes | BinaryIO,
    options: AnalysisOptions,
    repo: TaskRepo,
    storage: Storage,
    settings: Settings,
    enqueue: Callable[[str], None],
    kind: str = ANALYZE,
    speaker_names: Names = (),
) -> Submission:
    """Store, validate and queue one recording; always returns the task row it created.

    The row is read again after queueing, so an idle worker may already show it ``processing``.
    ``speaker_names`` (``services.results.names.parse_speaker_names``) wait in the row's options
    until the analysis completes, then name the speakers in order of first appearance.
    """
    name = safe_name(filename)
    stored_options = {**options.to_dict(), **names_option(speaker_names)}
    size = _size(data)
    if size > settings.max_upload_bytes:
        error = UploadTooLarge(
            f"{name} is {size / 1024 / 1024:.0f} MB; the limit is {settings.max_upload_mb} MB (MAX_UPLOAD_MB)."
        )
        return _refused(repo, name, size, stored_options, kind, error)

    stored = storage.save(name, io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data)
    try:
        limit = settings.max_duration_minutes * 60
        with storage.open_local(stored.key) as local:
            info = probe(local, max_seconds=limit)  # a file without a stated length is measured up to the limit
        if info.duration > limit:
            raise too_long(name, limit, info.duration)
    except FastAudioError as exc:
        storage.delete(stored.key)  # nothing to analyse; keep no unusable files
        return _refused(repo, name, stored.size_bytes, stored_options, kind, exc)

    task = repo.create(
        filename=name,
        stored_path=stored.key,
        size_bytes=stored.size_bytes,
        duration=info.duration,
        options=stored_options,
        kind=kind,
    )
    try:
        enqueue(task.id)
    except Exception:  # broker down or unreachable: the row stays queued and is re-sent later
        log.warning("could not enqueue task %s; it stays queued", task.id, exc_info=True)
        return Submission(task, enqueued=False, message=QUEUE_DOWN_MESSAGE)
    repo.mark_enqueued(task.id)
    return Submission(repo.require(task.id), enqueued=True, message="Queued for analysis.")
