"""The worker's Celery app (``celery -A worker.celery_app worker``) and sending from inside a worker.

Its configuration is ``services.runtime.queue.make_app``; the web processes never import this
module: they send through ``AppContext.queue``. Workers load ``worker.tasks`` through ``include``.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_init, worker_process_init

from services.config import Settings, get_settings
from services.runtime.queue import (
    ANALYZE_TASK,
    HOUSEKEEPING_TASK,
    REAP_TASK,
    REDIARIZE_TASK,
    TASK_FOR_KIND,
    VAD_TASK,
    send,
)
from services.runtime.queue import make_app as make_queue_app
from services.store.db import dispose_after_fork, migrate
from worker.held import HeldMessages

__all__ = ["ANALYZE_TASK", "HOUSEKEEPING_TASK", "REAP_TASK", "REDIARIZE_TASK", "TASK_FOR_KIND", "VAD_TASK"]
__all__ += ["app", "enqueue", "enqueue_job", "make_app", "settings"]


def make_app(settings: Settings) -> Celery:
    """The Celery app of a worker process: the queue's configuration plus the held-messages step."""
    celery = make_queue_app(settings)
    celery.steps["consumer"].add(HeldMessages)  # what this worker holds, so the reaper can tell orphans apart
    return celery


settings = get_settings()
app = make_app(settings)


def enqueue(task_id: str, task_name: str = ANALYZE_TASK, *, via: Celery | None = None) -> None:
    """Send a task row to the workers. Raises when the broker cannot be reached within seconds."""
    send(via or app, task_id, task_name)


def enqueue_job(task_id: str, job: str) -> None:
    """Send a task row to the Celery task for ``job`` (``TaskView.job``)."""
    enqueue(task_id, TASK_FOR_KIND[job])


@worker_init.connect
def _migrate_on_start(**_kwargs: object) -> None:
    migrate(settings.database_url)


@worker_process_init.connect
def _fresh_connections(**_kwargs: object) -> None:
    dispose_after_fork()
