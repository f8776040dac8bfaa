"""Deleting a task: its rows, and the stored upload when no other task needs it."""

from __future__ import annotations

import logging

from services.errors import StorageError, TaskNotFound
from services.storage.files import Storage
from services.store.task_lifecycle import TaskLifecycle
from services.store.task_views import TaskView

log = logging.getLogger(__name__)


def delete_task(task_id: str, *, repo: TaskLifecycle, storage: Storage) -> TaskView:
    """Remove a task (and its recording and stored file when nothing else uses them).

    The rows go first, so the task disappears for everyone at once; a file that cannot be
    removed afterwards (storage unreachable) is logged and left behind, never resurrecting the task.

    Raises:
        TaskNotFound: there is no task ``task_id``.
    """
    deleted = repo.delete(task_id)
    if deleted is None:
        raise TaskNotFound(f"There is no task {task_id!r}.")
    key = deleted.task.recording.stored_path
    if deleted.recording_removed and key:
        try:
            storage.delete(key)
        except StorageError:
            log.warning("task %s deleted, but its upload %s could not be removed", task_id, key, exc_info=True)
    return deleted.task
