"""Periodic clean-up: finished tasks past the retention period, and uploads no task refers to."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from services.jobs.deletion import delete_task
from services.storage.files import Storage, is_upload_folder
from services.store.models import utcnow
from services.store.tasks_repo import TaskRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanupReport:
    tasks_deleted: int = 0
    orphans_deleted: int = 0


def clean_up(repo: TaskRepo, storage: Storage, *, retention_days: int, orphan_grace_hours: float) -> CleanupReport:
    """Delete finished tasks older than ``retention_days`` (0 keeps all) and orphaned uploads.

    An upload folder is an orphan when FastAudio made it (``fastaudio-<uuid>``, see
    ``services.storage.new_key``), no recording points at it and it is older than the grace period
    (a page may be between saving a file and writing its row). Anything else in the storage root is
    someone else's and is never touched; so are folders of uploads stored before the prefix existed
    (plain ``<uuid>``), which are removed with their tasks.
    """
    deleted = 0
    if retention_days > 0:
        for task_id in repo.ids_older_than(utcnow() - timedelta(days=retention_days)):
            delete_task(task_id, repo=repo, storage=storage)
            deleted += 1
    orphans = 0
    known = {key.split("/", 1)[0] for key in repo.stored_keys()}
    oldest_allowed = time.time() - orphan_grace_hours * 3600
    for folder, modified in storage.folders():
        if is_upload_folder(folder) and folder not in known and modified < oldest_allowed:
            storage.delete_folder(folder)
            orphans += 1
    if deleted or orphans:
        log.info("housekeeping: %d tasks and %d orphaned uploads deleted", deleted, orphans)
    return CleanupReport(deleted, orphans)
