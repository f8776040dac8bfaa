"""The Celery app: broker, queue and reliability settings, and ``enqueue`` for the edges.

Pages and the CLI import this module to send tasks by name; it imports no model code, so the web
process never loads torch. Workers load ``worker.tasks`` through ``include``.
"""

from __future__ import annotations

from typing import Callable

from celery import Celery
from celery.signals import worker_init, worker_process_init

from services.config import Settings, get_settings
from services.store.db import dispose_after_fork, migrate
from worker.held import HeldMessages

ANALYZE_TASK = "worker.tasks.process_audio_file"
REAP_TASK = "worker.tasks.reap_tasks"
HOUSEKEEPING_TASK = "worker.tasks.housekeeping"
VAD_TASK = "worker.tasks.process_vad_recording"
REDIARIZE_TASK = "worker.tasks.rediarize_task"
TASK_FOR_KIND = {"analyze": ANALYZE_TASK, "vad_recording": VAD_TASK, "rediarize": REDIARIZE_TASK}
"""The Celery task that runs a task row of each job (``TaskView.job``: its ``kind``, or ``rediarize``
for a re-run of the speakers); a reaper re-sending rows needs it too."""
LONGEST_JOB_S = 4 * 3600  # above the longest allowed recording's analysis time
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


def make_app(settings: Settings) -> Celery:
    """A Celery app for ``settings`` with the reliability options docs/RELIABILITY.md explains."""
    celery = Celery(
        "fastaudio",
        broker=settings.celery_broker_url,
        backend=settings.celery_result_backend,
        include=["worker.tasks"],
    )
    celery.conf.update(
        task_default_queue=settings.celery_queue,
        result_expires=settings.task_result_expires,
        task_serializer="json",
        accept_content=["json"],
        # at-least-once delivery; the task table makes a repeated delivery harmless
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": LONGEST_JOB_S + 3600},
        result_backend_transport_options={"visibility_timeout": LONGEST_JOB_S + 3600},
        task_time_limit=LONGEST_JOB_S,
        task_soft_time_limit=LONGEST_JOB_S - 60,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        worker_send_task_events=True,
        task_send_sent_event=True,
        beat_schedule={
            "reap-lost-and-abandoned-tasks": {"task": REAP_TASK, "schedule": settings.reaper_interval_seconds},
            "housekeeping": {"task": HOUSEKEEPING_TASK, "schedule": 3600.0},
        },
    )
    celery.steps["consumer"].add(HeldMessages)  # what this worker holds, so the reaper can tell orphans apart
    return celery


settings = get_settings()
app = make_app(settings)


def enqueue(task_id: str, task_name: str = ANALYZE_TASK, *, via: Celery | None = None) -> None:
    """Send a task row to the workers. Raises when the broker cannot be reached within seconds."""
    celery = via or app
    celery.send_task(
        task_name,
        args=[task_id],
        task_id=task_id,  # the row id is the message id: the reaper finds it in the broker by it
        queue=celery.conf.task_default_queue,
        # Nobody waits on Celery's result: the task table is the truth. Without this, the first
        # send while Redis is down spends ~19 s retrying the result backend's subscription (the
        # upload page would hang that long) and leaves the backend needing a process restart.
        ignore_result=True,
        retry=True,
        retry_policy=PUBLISH_RETRY,
    )


def enqueue_job(task_id: str, job: str) -> None:
    """Send a task row to the Celery task for ``job`` (``TaskView.job``)."""
    enqueue(task_id, TASK_FOR_KIND[job])


def enqueuer(kind: str) -> Callable[[str], None]:
    """``enqueue`` for task rows of ``kind`` (what ``services.jobs.submissions.submit`` takes)."""
    task_name = TASK_FOR_KIND[kind]
    return lambda task_id: enqueue(task_id, task_name)


@worker_init.connect
def _migrate_on_start(**_kwargs: object) -> None:
    migrate(settings.database_url)


@worker_process_init.connect
def _fresh_connections(**_kwargs: object) -> None:
    dispose_after_fork()
