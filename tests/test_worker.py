"""A real Celery worker over the real Redis takes a submitted file through the task table."""

from __future__ import annotations

import time
from pathlib import Path

from services.analysis.options import AnalysisOptions
from services.analysis.pipeline import STAGE_SHARES
from services.jobs.submissions import submit
from services.runtime.context import AppContext
from tests.helpers import normalize
from worker.celery_app import enqueue


def _watch(ctx: AppContext, task_id: str, timeout: float = 240.0) -> list[tuple[str, int, str]]:
    """Every distinct (status, progress, stage) the row shows until it is final."""
    seen: list[tuple[str, int, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = ctx.repo.require(task_id)
        state = (task.status, task.progress, task.stage)
        if not seen or seen[-1] != state:
            seen.append(state)
        if task.is_final:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} not final after {timeout} s; saw {seen}")


def _submit(ctx: AppContext, path: Path, on_enqueue=enqueue, **options: int):  # type: ignore[no-untyped-def]
    with open(path, "rb") as f:
        return submit(
            filename=path.name, data=f, options=AnalysisOptions(**options), repo=ctx.repo, storage=ctx.storage,
            settings=ctx.settings, enqueue=on_enqueue,
        )  # fmt: skip


def test_queued_processing_completed_with_rising_progress(ctx: AppContext, worker, data: Path) -> None:  # type: ignore[no-untyped-def]
    at_enqueue: list[str] = []

    def look_then_enqueue(task_id: str) -> None:
        at_enqueue.append(ctx.repo.require(task_id).status)
        enqueue(task_id)

    submission = _submit(ctx, data / "sample.wav", on_enqueue=look_then_enqueue)
    assert submission.enqueued and at_enqueue == ["queued"]
    seen = _watch(ctx, submission.task.id)

    # The idle worker may claim the task before the first poll, so "queued" is seen at the enqueue.
    statuses = list(dict.fromkeys(status for status, _, _ in seen))
    assert statuses in (["queued", "processing", "completed"], ["processing", "completed"]), seen
    progress = [p for status, p, _ in seen if status == "processing"]
    assert progress == sorted(progress) and len(set(progress)) >= 3, seen
    stages = list(dict.fromkeys(stage for status, _, stage in seen if status == "processing"))
    # Polling sees the long stages; short ones (embeddings that finished during transcription,
    # clustering) can pass between two polls. The full sequence is checked in test_pipeline.
    order = ["starting", *STAGE_SHARES]  # "starting": claimed, models loading
    assert "transcribe" in stages and stages == sorted(stages, key=order.index), stages

    task = ctx.repo.require(submission.task.id)
    assert task.progress == 100 and task.num_speakers == 2 and task.attempts == 1
    assert task.started_at <= task.completed_at
    assert "new jersey" in normalize(task.result["text"])
    assert {s["speaker"] for s in task.result["segments"]} == {"SPEAKER_00", "SPEAKER_01"}


def test_bad_file_fails_and_the_worker_serves_the_next_job(ctx: AppContext, worker, data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A file that probes as audio but is gone by the time the worker looks: the worker's own check.
    good = _submit(ctx, data / "jfk.flac", num_speakers=1)
    ctx.storage.delete(good.task.recording.stored_path)
    gone = _watch(ctx, good.task.id)
    assert gone[-1][0] == "failed"
    assert "no longer stored" in ctx.repo.require(good.task.id).error

    after = _submit(ctx, data / "jfk.flac")
    assert _watch(ctx, after.task.id)[-1][0] == "completed"
    assert worker.poll() is None  # the worker process is still up
