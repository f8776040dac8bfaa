"""``make run``: bring up Redis (or reuse one), migrate, start a worker, Streamlit and the API; stop all on Ctrl-C.

The children get the resolved Redis URL through their environment, so every process agrees on it
even when the embedded server was started on a free port.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from services.config import Settings
from services.runtime.broker import EmbeddedRedis, ensure_redis
from services.store.db import migrate

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT_S = 15.0


def worker_command(settings: Settings, *, beat: bool = True) -> list[str]:
    """One Celery worker; with ``beat`` it also schedules the reaper and housekeeping.

    A deployment with several workers runs beat once (``celery -A worker.celery_app beat``).
    """
    command = [
        sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker",
        "--loglevel", "INFO",
        "--queues", settings.celery_queue,
        "--concurrency", str(settings.worker_concurrency),
        "--pool", "prefork",
    ]  # fmt: skip
    if beat:
        command += ["--beat", "--schedule", str(settings.data_dir / "celerybeat-schedule")]
    return command


def streamlit_command(settings: Settings, port: int = 8501, address: str = "localhost") -> list[str]:
    """Streamlit on app.py through ``ui.serve``, which refuses a non-local address without a sign-in."""
    return [
        sys.executable, "-m", "ui.serve",
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--server.maxUploadSize", str(settings.max_upload_mb),
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def api_command(settings: Settings) -> list[str]:
    """uvicorn serving ``api.main:app`` on API_HOST:API_PORT (127.0.0.1:8000 by default)."""
    return [
        sys.executable, "-m", "uvicorn", "api.main:app",
        "--host", settings.api_host,
        "--port", str(settings.api_port),
        "--no-access-log",
    ]  # fmt: skip


def watcher_command() -> list[str]:
    """The watch folder's polling loop (only when WATCH_DIR is set)."""
    return [sys.executable, "-m", "services.runtime.watcher"]


def child_environment(settings: Settings, redis_url: str, address: str = "localhost") -> dict[str, str]:
    """The parent's environment plus the Redis every child must use.

    When the pages and the API both stay on this machine, the player streams recordings from the API
    (``services.storage.media_links``): the children get its address and one fresh link secret.
    """
    env = dict(os.environ)  # pass-through for the children; configuration is still read by Settings
    local = {"localhost", "127.0.0.1", "::1"}
    if not settings.public_api_url and address in local and settings.api_host in local:
        env["PUBLIC_API_URL"] = f"http://{settings.api_host}:{settings.api_port}"
    if not settings.media_url_secret:
        env["MEDIA_URL_SECRET"] = secrets.token_hex(32)
    env["REDIS_URL"] = redis_url
    if settings.celery_broker_url == settings.redis_url:
        env["CELERY_BROKER_URL"] = redis_url
    if settings.celery_result_backend == settings.redis_url:
        env["CELERY_RESULT_BACKEND"] = redis_url
    env["DATA_DIR"] = str(settings.data_dir)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


@dataclass
class Stack:
    """The processes ``make run`` started."""

    redis_url: str
    embedded: EmbeddedRedis | None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in self.processes.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.embedded:
            self.embedded.stop()


def start_stack(settings: Settings, *, port: int = 8501, address: str = "localhost") -> Stack:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    redis_url, embedded = ensure_redis(settings.redis_url, settings.data_dir, allow_embedded=settings.embedded_redis)
    migrate(settings.database_url)
    env = child_environment(settings, redis_url, address)
    stack = Stack(redis_url=redis_url, embedded=embedded)
    stack.processes["worker"] = subprocess.Popen(worker_command(settings), cwd=ROOT, env=env)
    stack.processes["web"] = subprocess.Popen(streamlit_command(settings, port, address), cwd=ROOT, env=env)
    stack.processes["api"] = subprocess.Popen(api_command(settings), cwd=ROOT, env=env)
    if settings.watch_dir is not None:
        stack.processes["watch"] = subprocess.Popen(watcher_command(), cwd=ROOT, env=env)
    return stack


def masked_url(url: str) -> str:
    """``url`` fit to print: a password (``redis://:secret@host``, ``redis://user:secret@host``) becomes ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def run(settings: Settings, *, port: int = 8501, address: str = "localhost") -> int:
    """Start everything and wait; Ctrl-C (or SIGTERM) stops every child. Returns an exit code."""
    stack = start_stack(settings, port=port, address=address)
    redis_url = masked_url(stack.redis_url)  # the banner ends up in terminals, logs and screenshots
    where = "embedded Redis at " + redis_url if stack.embedded else "Redis at " + redis_url
    api = f"http://{settings.api_host}:{settings.api_port}"
    print(
        f"\nFastAudio is starting: http://localhost:{port}  ({where}; data in {settings.data_dir})"
        f"\nHTTP API: {api}  (docs at {api}/docs{'; API_TOKEN required' if settings.api_token else ''})"
        + (f"\nWatch folder: {settings.watch_dir}" if settings.watch_dir else "")
        + "\n",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            for name, proc in stack.processes.items():
                if proc.poll() is not None:
                    print(f"FastAudio: the {name} process exited ({proc.returncode}); stopping.", flush=True)
                    return proc.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nFastAudio: stopping…", flush=True)
    finally:
        stack.stop()
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the stack the same way Ctrl-C does
