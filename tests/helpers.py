"""Shared test plumbing: where the reference audio is, and starting real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

ROOT = Path(__file__).resolve().parents[1]


DATA_DIR = ROOT / "tests" / "data"
"""The reference recordings and their ground truth (sources and licences in its README)."""


def data_dir() -> Path:
    """The folder of reference audio that ships with the repository."""
    return DATA_DIR


def decode_reference(name: str):  # type: ignore[no-untyped-def]
    """16 kHz mono float32 of a reference file."""
    from services.analysis.audio import decode

    return decode(DATA_DIR / name)


def normalize(text: str) -> str:
    """Lower case, punctuation removed, single spaces: how WER tools compare transcripts."""
    import re

    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def start_worker(
    env: dict[str, str],
    log_path: Path,
    *,
    concurrency: int = 1,
    beat: bool = False,
    timeout: float = 90.0,
    cwd: Path = ROOT,
    name: str = "test",
    session: bool = False,
) -> subprocess.Popen[bytes]:
    """A real Celery worker process (prefork pool) for the settings in ``env``; waits until ready.

    ``cwd`` other than the checkout runs it as on another machine (the code found through PYTHONPATH).
    ``session``: in a process group of its own (its pid is the group id), for a test to kill it whole.
    """
    hostname = f"{name}-{uuid.uuid4().hex[:8]}@%h"
    command = [
        sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker",
        "--loglevel", "INFO", "--queues", env["CELERY_QUEUE"], "--concurrency", str(concurrency),
        "--pool", "prefork", "--hostname", hostname, "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    if beat:
        command += ["--beat", "--schedule", str(log_path.with_suffix(".beat"))]
    log = open(log_path, "wb")  # noqa: SIM115  the worker writes to it after this returns
    proc = subprocess.Popen(
        command, cwd=cwd, env=_importable(env, cwd), stdout=log, stderr=subprocess.STDOUT, start_new_session=session
    )
    deadline = time.monotonic() + timeout
    while b" ready." not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            raise RuntimeError("worker did not start:\n" + log_path.read_text(errors="replace")[-3000:])
        time.sleep(0.2)
    return proc


def start_api(
    env: dict[str, str], log_path: Path, port: int, *, timeout: float = 60.0, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """The API in a real uvicorn server process on 127.0.0.1:``port``; waits until /health answers."""
    import urllib.request

    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)]
    log = open(log_path, "wb")  # noqa: SIM115  the API process writes to it after this returns
    proc = subprocess.Popen(command, cwd=cwd, env=_importable(env, cwd), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if answer.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            raise RuntimeError("the API did not start:\n" + log_path.read_text(errors="replace")[-3000:])
        time.sleep(0.2)


@contextmanager
def api_client(
    env: dict[str, str], log_path: Path, *, timeout: float
) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    """A real API process on a free port (``start_api``) and an HTTP client for it; stopped after.

    Args:
        timeout: the client's per-request timeout, in seconds.
    """
    import httpx

    from services.runtime.broker import free_port

    port = free_port()
    proc = start_api(env, log_path, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=timeout) as client:
            yield client, proc
    finally:
        stop_process(proc)


def _importable(env: dict[str, str], cwd: Path) -> dict[str, str]:
    if Path(cwd).resolve() == ROOT:
        return env
    return dict(env, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p))


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(predicate, timeout: float, interval: float = 0.2, message: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)


def final_task(api: httpx.Client, poll_url: str, timeout: float = 300) -> dict:  # type: ignore[type-arg]
    """GET a task until it is ``completed`` or ``failed`` and return it; fail the test after ``timeout`` s."""

    def ended() -> dict | None:  # type: ignore[type-arg]
        task = api.get(poll_url).json()
        return task if task["status"] in ("completed", "failed") else None

    return wait_for(ended, timeout, interval=0.3, message=f"{poll_url} to end")  # type: ignore[no-any-return]


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def app_test(page: str, **query: str):  # type: ignore[no-untyped-def]
    """An ``AppTest`` of the whole app (``app.py``, its sidebar included) opened at ``page`` with ``query``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page(page)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def shown(markdown: str) -> str:
    """What a reader sees of Markdown the pages escaped with ``ui.format.plain``: the escapes removed,
    and the transcript's highlights of unsure words (``ui.confidence_view``) without their markup."""
    import re
    import string

    markdown = re.sub(r"(?<!\\):orange-background\[((?:\\.|[^\\\]])*)\]", r"\1", markdown)
    return re.sub("\\\\([" + re.escape(string.punctuation) + "])", r"\1", markdown).replace("\u2060", "")
