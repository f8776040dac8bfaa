"""The app started the way ``make run`` starts it, and Debian's Chromium to look at it.

Shared by the browser tests and ``docs/screenshots.py``. ``python -m cli run`` brings up Redis (when
none answers), the API, one Celery worker with beat and Streamlit; here it gets a data folder, a
queue and ports of its own, so it never meets a developer's ``make run`` or another test run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil

from services.runtime.broker import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 180.0
"""Streamlit, the API and a worker (which loads torch) on a busy two-core machine."""
STOP_TIMEOUT_S = 60.0
ANALYSIS_TIMEOUT_S = 240.0
"""From Analyze to the finished result of a short recording (model loading included)."""

# Settings the app must not inherit from the caller: each would point it at someone else's data.
_INHERITED = (
    "DATABASE_URL", "STORAGE_URL", "API_HOST", "API_TOKEN", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "PAGES_USERS",
    "PAGES_USERS_FILE",
)  # fmt: skip


@dataclass
class RunningApp:
    """A ``python -m cli run`` process and where it answers."""

    process: subprocess.Popen[bytes]
    url: str
    api_url: str
    data_dir: Path
    log: Path

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or None when Debian's Chromium is installed."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (make test installs Debian's chromium when it can; no browser is downloaded)"
    return None


def app_environment(data_dir: Path, redis_url: str, api_port: int, **extra: str) -> dict[str, str]:
    """The caller's environment with a data folder, queue and API port of the app's own (plus ``extra``)."""
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED}
    env.update(extra)
    env.update(
        DATA_DIR=str(data_dir),
        REDIS_URL=redis_url,
        CELERY_QUEUE=f"fastaudio-browser-{uuid.uuid4().hex[:8]}",
        API_PORT=str(api_port),
        PYTHONUNBUFFERED="1",
    )
    return env


def start_app(data_dir: Path, redis_url: str, *, timeout: float = START_TIMEOUT_S, **extra: str) -> RunningApp:
    """``python -m cli run`` on free ports; returns once Streamlit, the API and the worker answer.

    Args:
        data_dir: the app's DATA_DIR (uploads, SQLite file); the log goes beside it as ``run.log``.
        redis_url: the Redis to use; the supervisor starts one of its own when it does not answer.
        timeout: seconds to wait for all three to come up.
        extra: more settings for the app (``PAGES_USERS=...``).

    Raises:
        RuntimeError: with the end of the log, when something did not start in time.
    """
    port, api_port = free_port(), free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}-run.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "run", "--port", str(port)],
            cwd=ROOT,
            env=app_environment(data_dir, redis_url, api_port, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_default_ctrl_c,
        )
    app = RunningApp(process, f"http://localhost:{port}", f"http://127.0.0.1:{api_port}", data_dir, log)
    checks = {
        "Streamlit": lambda: _answers(f"{app.url}/_stcore/health", b"ok"),
        "the API": lambda: _answers(f"{app.api_url}/health", b'{"status":"ok"}'),
        "the worker": lambda: b" ready." in log.read_bytes(),
    }
    deadline = time.monotonic() + timeout
    for name, check in checks.items():
        while not check():
            if process.poll() is not None or time.monotonic() > deadline:
                stop_app(app)
                raise RuntimeError(f"{name} did not start (python -m cli run):\n{app.log_tail()}")
            time.sleep(0.3)
    return app


def stop_app(app: RunningApp, timeout: float = STOP_TIMEOUT_S) -> int:
    """Ctrl-C, as a person stops ``make run``; returns its exit code.

    When it does not stop in time, it and every process it started are killed, so a hung stop
    never leaves a worker or a web server behind (the code returned is then negative).
    """
    if app.process.poll() is not None:
        return app.process.returncode
    children = psutil.Process(app.process.pid).children(recursive=True)
    app.process.send_signal(signal.SIGINT)
    try:
        return app.process.wait(timeout)
    except subprocess.TimeoutExpired:
        for proc in [psutil.Process(app.process.pid), *children]:
            with suppress(psutil.NoSuchProcess):
                proc.kill()
        return app.process.wait()


@contextmanager
def running_app(data_dir: Path, redis_url: str) -> Iterator[RunningApp]:
    app = start_app(data_dir, redis_url)
    try:
        yield app
    finally:
        stop_app(app)


def _default_ctrl_c() -> None:
    # A process started in the background of a non-interactive shell (CI, `make test &`) inherits an
    # ignored SIGINT, and Python then never raises KeyboardInterrupt: give the app back Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _answers(url: str, expected: bytes) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return re.sub(rb"\s", b"", answer.read()) == expected
    except OSError:
        return False
