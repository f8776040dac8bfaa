"""Turns the pipeline's ``on_progress(stage, fraction)`` calls into throttled task-row updates."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from services.errors import TaskCancelled
from services.store.task_lifecycle import TaskLifecycle

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 0.5


class ProgressWriter:
    """Writes stage and percent to a task row at most every ``min_interval`` seconds.

    A new stage is always written at once, so the page never skips a stage; within a stage, a
    write happens when the interval has passed and the percent moved. Each write is also the
    task's heartbeat.

    It is also where a running analysis learns that it should stop: when the row is no longer
    ``processing`` (cancelled, deleted, reset by the reaper) a write changes nothing, and when
    ``stop`` is set (the ``Heartbeat`` found the row is no longer this worker's) every call
    raises ``TaskCancelled``, which unwinds the pipeline at its next progress report.
    """

    def __init__(
        self,
        repo: TaskLifecycle,
        task_id: str,
        *,
        min_interval: float = MIN_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
    ) -> None:
        self.repo = repo
        self.task_id = task_id
        self.stop = stop
        self.min_interval = min_interval
        self.clock = clock
        self._last: tuple[str, int] | None = None
        self._last_time = float("-inf")
        self.writes = 0

    def __call__(self, stage: str, fraction: float) -> None:
        """Record progress, or raise ``TaskCancelled`` when the task is no longer this run's."""
        if self.stop is not None and self.stop.is_set():
            raise TaskCancelled(f"Task {self.task_id} is no longer this worker's to run; the analysis stopped.")
        # 100 % is the completed state; while running the most we show is 99.
        percent = min(99, int(max(0.0, min(1.0, fraction)) * 100))
        now = self.clock()
        if self._last is not None:
            last_stage, last_percent = self._last
            if stage == last_stage and (percent == last_percent or now - self._last_time < self.min_interval):
                return
        try:
            running = self.repo.report_progress(self.task_id, stage, percent)
        except OperationalError:
            # Progress is for people watching; a briefly locked database must not stop the analysis.
            log.warning("could not record progress of %s", self.task_id, exc_info=True)
            return
        if not running:
            raise TaskCancelled(
                f"Task {self.task_id} is no longer running (cancelled or deleted); the analysis stopped."
            )
        self.writes += 1
        self._last = (stage, percent)
        self._last_time = now
