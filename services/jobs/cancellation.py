"""Cancelling a task a person no longer wants analysed."""

from __future__ import annotations

from services.errors import TaskAlreadyFinished
from services.store.task_views import TaskView
from services.store.tasks_repo import TaskRepo


def cancel_task(task_id: str, *, repo: TaskRepo) -> TaskView:
    """Cancel a queued or running task; returns it as it is now (``cancelled``).

    A queued task never starts; a running one stops within seconds, at the worker's next progress
    report, and keeps no result.

    Raises:
        TaskNotFound: there is no task ``task_id``.
        TaskAlreadyFinished: it has completed, failed or been cancelled already.
    """
    if repo.cancel(task_id):
        return repo.require(task_id)
    task = repo.require(task_id)
    raise TaskAlreadyFinished(
        f"{task.recording.filename} has already {_finished(task.status)}; there is nothing to cancel."
    )


def _finished(status: str) -> str:
    return {"completed": "been analysed", "failed": "failed", "cancelled": "been cancelled"}.get(status, status)
