"""Fixtures: a private data folder and SQLite file, a real Redis, a real Celery worker.

The whole session shares one configuration, written into the environment in ``pytest_configure``
(before any test module imports the app), so pages (AppTest), worker subprocesses and the test code
all see the same database and queue. A unique queue name keeps a developer's running ``make run``
worker away from the tests' jobs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from services.config import DEFAULT_REDIS_URL, get_settings
from services.runtime.broker import EmbeddedRedis, ensure_redis
from services.runtime.context import AppContext, get_context
from tests.helpers import DATA_DIR, child_env, start_worker, stop_process

_SESSION: dict[str, object] = {}
FIGURES: list[str] = []
"""Lines the reliability tests measure; printed at the end of the run (docs/RELIABILITY.md)."""


def pytest_configure(config: pytest.Config) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="fastaudio-test-"))
    # The machine's Redis if it answers, else an embedded one: the same path `make run` takes.
    url, embedded = ensure_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL), data_dir)
    values = {
        "DATA_DIR": str(data_dir),
        "REDIS_URL": url,
        "CELERY_BROKER_URL": url,
        "CELERY_RESULT_BACKEND": url,
        "CELERY_QUEUE": f"fastaudio-test-{uuid.uuid4().hex[:8]}",
        "DATABASE_URL": f"sqlite:///{data_dir / 'fastaudio.db'}",
    }
    _SESSION.update(values=values, saved={k: os.environ.get(k) for k in values}, embedded=embedded, dir=data_dir)
    os.environ.update(values)
    get_settings.cache_clear()
    get_context.cache_clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    for key, value in dict(_SESSION.get("saved") or {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    embedded = _SESSION.get("embedded")
    if isinstance(embedded, EmbeddedRedis):
        embedded.stop()
    if _SESSION.get("dir"):
        shutil.rmtree(str(_SESSION["dir"]), ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    if FIGURES:
        terminalreporter.section("measured figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def figures() -> list[str]:
    return FIGURES


@pytest.fixture(scope="session")
def environment() -> dict[str, str]:
    """The session's configuration as environment variables (for subprocesses)."""
    return dict(_SESSION["values"])  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def data() -> Path:
    return DATA_DIR


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR


@pytest.fixture(scope="session")
def sample_embeddings():  # type: ignore[no-untyped-def]
    """The speaker embeddings of sample.wav (computed once: the expensive half of diarization)."""
    from services.analysis.diarization.diarize import embed_speech
    from tests.helpers import decode_reference

    return embed_speech(decode_reference("sample.wav"))


@pytest.fixture(scope="session")
def ctx(environment: dict[str, str]) -> AppContext:
    return get_context()


@pytest.fixture(scope="session")
def transcriber():  # type: ignore[no-untyped-def]
    from services.analysis.asr.transcribe import FasterWhisperEngine

    return FasterWhisperEngine()


@pytest.fixture(scope="session")
def worker(environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One real Celery worker process for the session, on the session's queue."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    proc = start_worker(child_env(**environment), log)
    yield proc
    stop_process(proc)


@pytest.fixture()
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]):  # type: ignore[no-untyped-def]
    """A queue of the test's own with short reliability timings; workers are started by the test."""
    from tests.cluster import FAST, Cluster

    c = Cluster(tmp_path, monkeypatch, environment, **FAST)
    yield c
    c.stop()


@pytest.fixture(scope="session")
def analysed(ctx: AppContext, data: Path, transcriber) -> str:  # type: ignore[no-untyped-def]
    """One real analysis of sample.wav by the worker's job, artifacts included. Read it; change a ``copy_task``."""
    from tests.tasks import analysed_task

    return analysed_task(ctx, data, transcriber)
