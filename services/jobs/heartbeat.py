"""A background thread that keeps a running task's heartbeat fresh.

Progress reports refresh the heartbeat too, but some steps (loading a model, clustering a long
file) report nothing for a while; without this the reaper would take a busy task for a dead one.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from services.store.task_lifecycle import TaskLifecycle

log = logging.getLogger(__name__)


class Heartbeat:
    """``with Heartbeat(repo, task_id, worker, interval):`` beats every ``interval`` seconds."""

    def __init__(self, repo: TaskLifecycle, task_id: str, worker: str, interval: float) -> None:
        self.repo = repo
        self.task_id = task_id
        self.worker = worker
        self.interval = interval
        self.lost = threading.Event()  # set when the row is no longer ours (taken over, deleted)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{task_id[:8]}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self.repo.heartbeat(self.task_id, self.worker):
                    self.lost.set()
                    return
            except Exception:  # a locked or briefly unreachable database: try again next beat
                log.warning("heartbeat for %s failed", self.task_id, exc_info=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
