"""Asking for a re-run from a page or the API: the speakers with other options, or a failed task again.

Like ``services.jobs.submissions``, the queue is passed in (``enqueue(task_id, job)``), so this module
knows nothing of Celery; a queue that is down leaves the row ``queued`` for the reaper to send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from services.analysis.artifacts import EMBEDDINGS
from services.analysis.options import AnalysisOptions
from services.errors import RerunNotPossible
from services.jobs.rediarize import NO_EMBEDDINGS
from services.jobs.submissions import QUEUE_DOWN_MESSAGE
from services.results.names import names_option, stored_names
from services.storage.files import Storage
from services.store.artifacts_repo import ArtifactRepo
from services.store.models import COMPLETED, FAILED
from services.store.task_views import TaskView
from services.store.tasks_repo import TaskRepo

log = logging.getLogger(__name__)

Enqueue = Callable[[str, str], None]
"""Sends ``(task id, job)`` to the workers; raises when the broker cannot be reached."""


@dataclass(frozen=True)
class Rerun:
    task: TaskView
    enqueued: bool
    message: str


def can_rediarize(task: TaskView, artifacts: ArtifactRepo) -> str | None:
    """None when the speakers of ``task`` can be separated again; else why not, for a person."""
    if task.status != COMPLETED:
        return f"Only a finished analysis can be re-run; this task is {task.status}."
    if EMBEDDINGS not in artifacts.names(task.id):
        return NO_EMBEDDINGS
    return None


def request_rediarization(
    task_id: str, options: AnalysisOptions, *, repo: TaskRepo, artifacts: ArtifactRepo, enqueue: Enqueue
) -> Rerun:
    """Queue a re-run of the speaker separation of a completed task with ``options``.

    Raises:
        RerunNotPossible: the task is not completed, or its voice embeddings were not saved.
    """
    task = repo.require(task_id)
    reason = can_rediarize(task, artifacts)
    if reason:
        raise RerunNotPossible(reason)
    # The upload's speaker names stay with the task: the re-run gives them again (services.results.names).
    kept = names_option(stored_names(task.options))
    moved = repo.requeue(task_id, from_statuses=(COMPLETED,), options={**options.to_dict(), **kept}, rerun="diarize")
    if moved is None:
        raise RerunNotPossible("The task changed in the meantime; reload the page and try again.")
    return _send(moved, repo, enqueue, "Queued: the speakers are being separated again.")


def retry_failed(task_id: str, *, repo: TaskRepo, storage: Storage, artifacts: ArtifactRepo, enqueue: Enqueue) -> Rerun:
    """Queue a failed task again, from zero attempts: the same job that failed (the whole analysis,
    or a re-run of the speakers when that is what failed and its artifacts are there).

    Raises:
        RerunNotPossible: the task has not failed, or the recording it needs is gone.
    """
    task = repo.require(task_id)
    if task.status != FAILED:
        raise RerunNotPossible(f"Only a failed task can be run again; this task is {task.status}.")
    rerun = "diarize" if task.rerun == "diarize" and EMBEDDINGS in artifacts.names(task_id) else None
    if rerun is None and not (task.recording.stored_path and storage.exists(task.recording.stored_path)):
        raise RerunNotPossible(f"{task.recording.filename} is no longer stored on the server; upload it again.")
    moved = repo.requeue(task_id, from_statuses=(FAILED,), rerun=rerun, reason="run again after failing")
    if moved is None:
        raise RerunNotPossible("The task changed in the meantime; reload the page and try again.")
    return _send(moved, repo, enqueue, "Queued again.")


def _send(task: TaskView, repo: TaskRepo, enqueue: Enqueue, message: str) -> Rerun:
    try:
        enqueue(task.id, task.job)
    except Exception:  # broker down: the row stays queued and the reaper sends it later
        log.warning("could not enqueue task %s; it stays queued", task.id, exc_info=True)
        return Rerun(task, enqueued=False, message=QUEUE_DOWN_MESSAGE)
    repo.mark_enqueued(task.id)
    return Rerun(repo.require(task.id), enqueued=True, message=message)
