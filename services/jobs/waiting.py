"""What a person waiting for a task wants to know: place in the queue and time left.

Reads the task table (``TaskQueries``) and hands the numbers to ``services.jobs.eta``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.jobs.eta import processing_rate, queued_left, running_left
from services.store.models import PROCESSING, QUEUED, utcnow
from services.store.task_queries import RECENT_RUNS, TaskQueries
from services.store.task_views import TaskView

MAX_RUNNING = 200
"""The most running tasks read for an estimate (more than any deployment runs at once)."""


@dataclass(frozen=True)
class Wait:
    ahead: int | None
    """Queued tasks that go first (None once the task runs)."""
    seconds_left: float | None
    """Estimated seconds until it is done; None when nothing tells."""
    measured: bool
    """Whether the speed comes from completed analyses (False: the default guess)."""


def estimate_wait(task: TaskView, repo: TaskQueries, *, now: datetime | None = None) -> Wait:
    """Queue position and time left of ``task`` (a final task has neither)."""
    if task.status not in (QUEUED, PROCESSING):
        return Wait(None, None, False)
    now = now or utcnow()
    runs = repo.recent_runs(RECENT_RUNS)
    rate = processing_rate(runs)
    if task.status == PROCESSING:
        return Wait(None, _left(task, rate, now), bool(runs))
    ahead = repo.queue_ahead(task.id)
    running = repo.list_tasks(status=PROCESSING, limit=MAX_RUNNING)
    left = queued_left(
        duration=task.recording.duration,
        ahead_audio=ahead.audio_seconds,
        running=[_left(r, rate, now) or 0.0 for r in running],
        rate=rate,
        slots=len(running),
    )
    return Wait(ahead.tasks, left, bool(runs))


def _left(task: TaskView, rate: float, now: datetime) -> float | None:
    elapsed = (now - task.started_at).total_seconds() if task.started_at else 0.0
    return running_left(duration=task.recording.duration, done=task.progress / 100, elapsed=elapsed, rate=rate)
