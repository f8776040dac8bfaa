"""The job queue as the edges see it: Celery's configuration and sending a task row to the workers.

Edges (pages, the API, the CLI) reach the queue through ``AppContext.queue``, a ``JobQueue`` that
builds its Celery app on the first send: importing a page or the API neither imports ``worker/``
nor builds a Celery app. This module and ``services.runtime.monitor`` are the only ones in
``services`` that know Celery: they are the adapter between the task table and the broker.
The worker process builds its own app with ``make_app`` (``worker.celery_app``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from services.config import Settings

if TYPE_CHECKING:
    from celery import Celery

ANALYZE_TASK = "worker.tasks.process_audio_file"
REAP_TASK = "worker.tasks.reap_tasks"
HOUSEKEEPING_TASK = "worker.tasks.housekeeping"
VAD_TASK = "worker.tasks.process_vad_recording"
REDIARIZE_TASK = "worker.tasks.rediarize_task"
TASK_FOR_KIND = {"analyze": ANALYZE_TASK, "vad_recording": VAD_TASK, "rediarize": REDIARIZE_TASK}
"""The Celery task that runs a task row of each job (``TaskView.job``: its ``kind``, or ``rediarize``
for a re-run of the speakers); a reaper re-sending rows needs it too."""
LONGEST_JOB_S = 4 * 3600  # above the longest allowed recording's analysis time
VISIBILITY_MARGIN_S = 3600
"""A delivered message is given back to the queue only this long after the longest job could end."""
HOUSEKEEPING_INTERVAL_S = 3600.0
SOFT_LIMIT_MARGIN_S = 60
"""The soft time limit comes this long before the hard one, so a job can fail its task in words."""
BROKER_CONNECTION_TIMEOUT_S = 3
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


def make_app(settings: Settings) -> Celery:
    """A Celery app for ``settings`` with the reliability options docs/RELIABILITY.md explains."""
    from celery import Celery

    celery = Celery(
        "fastaudio",
        broker=settings.celery_broker_url,
        backend=settings.celery_result_backend,
        include=["worker.tasks"],
    )
    visibility = {"visibility_timeout": LONGEST_JOB_S + VISIBILITY_MARGIN_S}
    celery.conf.update(
        task_default_queue=settings.celery_queue,
        result_expires=settings.task_result_expires,
        task_serializer="json",
        accept_content=["json"],
        # at-least-once delivery; the task table makes a repeated delivery harmless
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=visibility,
        result_backend_transport_options=visibility,
        task_time_limit=LONGEST_JOB_S,
        task_soft_time_limit=LONGEST_JOB_S - SOFT_LIMIT_MARGIN_S,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=BROKER_CONNECTION_TIMEOUT_S,
        worker_send_task_events=True,
        task_send_sent_event=True,
        beat_schedule={
            "reap-lost-and-abandoned-tasks": {"task": REAP_TASK, "schedule": settings.reaper_interval_seconds},
            "housekeeping": {"task": HOUSEKEEPING_TASK, "schedule": HOUSEKEEPING_INTERVAL_S},
        },
    )
    return celery


def send(celery: Celery, task_id: str, task_name: str = ANALYZE_TASK) -> None:
    """Send a task row to the workers through ``celery``. Raises when the broker cannot be reached within seconds."""
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


class JobQueue:
    """Sends task rows to the workers; the Celery app is built on first use, once per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def app(self) -> Celery:
        return make_app(self.settings)

    def enqueue_job(self, task_id: str, job: str) -> None:
        """Send a task row to the Celery task for ``job`` (``TaskView.job``)."""
        send(self.app, task_id, TASK_FOR_KIND[job])

    def enqueuer(self, kind: str) -> Callable[[str], None]:
        """Sending for task rows of ``kind`` (what ``services.jobs.submissions.submit`` takes)."""
        task_name = TASK_FOR_KIND[kind]
        return lambda task_id: send(self.app, task_id, task_name)
