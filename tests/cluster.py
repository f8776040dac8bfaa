"""A queue of a test's own: its settings, a Celery client for it, and real worker processes.

Fault-injection tests kill workers and restart Redis; they do it on their own queue (and, for
Redis, their own server on a free port) so the session's worker and the machine's Redis are
never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psutil
import pytest

from services.analysis.options import AnalysisOptions
from services.config import Settings
from services.jobs.submissions import Submission, submit
from services.runtime.context import AppContext, build_context
from tests.helpers import child_env, start_worker, stop_process
from worker.celery_app import enqueue, make_app

FAST = {  # reliability timings shortened so recovery is measured in seconds, not minutes
    "HEARTBEAT_INTERVAL_SECONDS": "1",
    "STALE_AFTER_SECONDS": "6",
    "REAPER_INTERVAL_SECONDS": "2",
    "REQUEUE_AFTER_SECONDS": "3",
    "RETRY_BACKOFF_SECONDS": "1",
    "CPU_THREADS": "1",
}


class Cluster:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: dict[str, str], **overrides: str) -> None:
        self.tmp_path = tmp_path
        values = dict(base, CELERY_QUEUE=f"fastaudio-fault-{uuid.uuid4().hex[:8]}", **overrides)
        redis_url = values["REDIS_URL"]
        values.setdefault("CELERY_BROKER_URL", redis_url)
        values["CELERY_BROKER_URL"] = values["CELERY_RESULT_BACKEND"] = redis_url
        for key, value in values.items():
            monkeypatch.setenv(key, value)  # Celery reads CELERY_BROKER_URL from the environment first
        self.values = values
        self.settings = Settings()
        self.ctx: AppContext = build_context(self.settings)
        self.app = make_app(self.settings)
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_worker(
        self, *, concurrency: int = 1, beat: bool = False, session: bool = False, **env: str
    ) -> subprocess.Popen[bytes]:
        n = len(self.workers)
        proc = start_worker(
            child_env(**self.values, **env),
            self.tmp_path / f"worker{n}.log",
            concurrency=concurrency,
            beat=beat,
            session=session,
        )
        self.workers.append(proc)
        return proc

    def log(self, n: int = 0) -> str:
        return (self.tmp_path / f"worker{n}.log").read_text(errors="replace")

    def submit(self, path: Path, name: str | None = None, *, send: bool = True, **options: int) -> Submission:
        """Submit a recording; ``send=False`` records the task without sending its message (``send`` does)."""
        with open(path, "rb") as data:
            return submit(
                filename=name or path.name, data=data, options=AnalysisOptions(**options), repo=self.ctx.repo,
                storage=self.ctx.storage, settings=self.settings,
                enqueue=(lambda task_id: enqueue(task_id, via=self.app)) if send else (lambda _task_id: None),
            )  # fmt: skip

    def send(self, task_id: str) -> None:
        enqueue(task_id, via=self.app)

    def wait_final(self, task_ids: list[str], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            states = {t: self.ctx.repo.require(t).status for t in task_ids}
            if all(s in ("completed", "failed") for s in states.values()) or time.monotonic() > deadline:
                return states
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.workers:
            stop_process(proc)


def kill_task_process(worker_id: str) -> int:
    """SIGKILL the pool process named in a task row's ``worker`` column (``host:pid``)."""
    pid = int(worker_id.rpartition(":")[2])
    os.kill(pid, signal.SIGKILL)
    return pid


def alive_children(proc: subprocess.Popen[bytes]) -> int:
    return len(psutil.Process(proc.pid).children())
