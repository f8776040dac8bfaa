"""A worker configured with a model or backend this machine lacks fails the task once, with the reason.

Each case starts a real Celery worker of its own, with its own settings and on its own queue (the
session's worker keeps serving the session's queue), and submits jfk.flac to it the way a page does.
"""

from __future__ import annotations

import importlib.util
import time
import uuid
from pathlib import Path

import pytest

from services.analysis.options import AnalysisOptions
from services.jobs.submissions import submit
from services.runtime.context import AppContext
from tests.helpers import child_env, start_worker, stop_process, wait_for
from worker.celery_app import ANALYZE_TASK, app

PYANNOTE_INSTALLED = importlib.util.find_spec("pyannote.audio") is not None

CASES = {
    "openai-whisper checkpoint missing": (
        {"WHISPER_ENGINE": "openai-whisper", "WHISPER_MODEL_PATH": "/nonexistent/tiny.en.pt"},
        ["/nonexistent/tiny.en.pt", "never downloads"],
    ),
    "faster-whisper size not in the cache": (
        {"WHISPER_MODEL_SIZE": "small.en", "HF_HUB_CACHE": "{tmp}/empty-hf-cache"},
        ["'small.en'", "{tmp}/empty-hf-cache", "never downloads"],
    ),
    "pyannote not installed": (
        {"DIARIZATION_BACKEND": "pyannote"},
        ["pyannote.audio", "pip install -r requirements-pyannote.txt"],
    ),
}


@pytest.fixture(scope="module", params=list(CASES))
def misconfigured(request, environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """(worker process, its queue, the phrases its failure message must hold) for one case."""
    if request.param == "pyannote not installed" and PYANNOTE_INSTALLED:
        pytest.skip("pyannote.audio is installed in this environment")
    tmp = tmp_path_factory.mktemp("misconfigured")
    overrides, phrases = CASES[request.param]
    queue = f"{environment['CELERY_QUEUE']}-{uuid.uuid4().hex[:6]}"
    env = {**environment, **{k: v.format(tmp=tmp) for k, v in overrides.items()}, "CELERY_QUEUE": queue}
    proc = start_worker(child_env(**env), tmp / "worker.log")
    yield proc, queue, [p.format(tmp=tmp) for p in phrases]
    stop_process(proc)


def test_task_fails_once_with_a_message_that_says_what_is_missing(ctx: AppContext, misconfigured, data: Path) -> None:  # type: ignore[no-untyped-def]
    proc, queue, phrases = misconfigured
    with open(data / "jfk.flac", "rb") as f:
        submission = submit(
            filename="jfk.flac", data=f, options=AnalysisOptions(), repo=ctx.repo, storage=ctx.storage,
            settings=ctx.settings, enqueue=lambda task_id: app.send_task(ANALYZE_TASK, args=[task_id], queue=queue),
        )  # fmt: skip
    assert submission.enqueued

    task = wait_for(
        lambda: (t := ctx.repo.require(submission.task.id)).is_final and t, timeout=120, message="a final state"
    )
    assert task.status == "failed", task
    for phrase in phrases:
        assert phrase in task.error, task.error
    assert task.attempts == 1

    time.sleep(1.0)  # a retry or a redelivery would have claimed it again by now
    again = ctx.repo.require(submission.task.id)
    assert (again.status, again.attempts, again.error) == ("failed", 1, task.error)
    assert proc.poll() is None  # the worker is still up for the next job
