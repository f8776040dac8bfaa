"""Submitting uploads: stored under a safe name, probed, queued — or failed at once with the reason."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from services.analysis.options import AnalysisOptions
from services.config import Settings
from services.jobs.submissions import QUEUE_DOWN_MESSAGE, submit
from services.runtime.broker import free_port
from services.runtime.context import AppContext
from worker.celery_app import enqueue, make_app


class Queue:
    """Collects what would be sent to Celery (sending for real is tested in test_worker.py)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, task_id: str) -> None:
        self.sent.append(task_id)


def _submit(ctx: AppContext, name: str, data: bytes, queue: Queue, settings: Settings | None = None, **options: int):  # type: ignore[no-untyped-def]
    return submit(
        filename=name, data=io.BytesIO(data), options=AnalysisOptions(**options), repo=ctx.repo,
        storage=ctx.storage, settings=settings or ctx.settings, enqueue=queue,
    )  # fmt: skip


def test_good_upload_is_stored_probed_and_queued(ctx: AppContext, data: Path) -> None:
    queue = Queue()
    sub = _submit(ctx, "../../jfk.flac", (data / "jfk.flac").read_bytes(), queue, num_speakers=1)
    task = sub.task
    assert sub.enqueued and queue.sent == [task.id]
    assert (task.status, task.recording.filename, task.options) == ("queued", "jfk.flac", {"num_speakers": 1})
    assert task.recording.duration == pytest.approx(11.0)
    stored = ctx.storage.path(task.recording.stored_path)
    assert stored.read_bytes() == (data / "jfk.flac").read_bytes()
    assert ctx.storage.root in stored.parents


def test_text_renamed_wav_fails_at_once_with_a_clear_message(ctx: AppContext) -> None:
    queue = Queue()
    sub = _submit(ctx, "minutes.wav", b"These are the minutes of the meeting.\n" * 50, queue)
    assert not sub.enqueued and queue.sent == []
    task = ctx.repo.require(sub.task.id)
    assert task.status == "failed"
    assert task.error.startswith("minutes.wav is not an audio file we can read")
    assert task.recording.stored_path is None  # the unusable file is not kept


def test_too_large_upload_fails_without_storing(ctx: AppContext, data: Path) -> None:
    small = ctx.settings.model_copy(update={"max_upload_mb": 0})
    sub = _submit(ctx, "jfk.flac", (data / "jfk.flac").read_bytes(), Queue(), settings=small)
    assert sub.task.status == "failed" and "the limit is 0 MB (MAX_UPLOAD_MB)" in sub.task.error


def test_too_long_recording_fails_with_the_limit(ctx: AppContext, data: Path) -> None:
    short = ctx.settings.model_copy(update={"max_duration_minutes": 0})
    sub = _submit(ctx, "sample.wav", (data / "sample.wav").read_bytes(), Queue(), settings=short)
    assert sub.task.status == "failed" and "MAX_DURATION_MINUTES" in sub.task.error


def test_queue_down_keeps_the_task_queued(ctx: AppContext, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real Celery client whose broker address has no server behind it. Celery reads
    # CELERY_BROKER_URL from the environment ahead of its arguments, so that is where it goes.
    dead_url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("CELERY_BROKER_URL", dead_url)
    dead = make_app(ctx.settings.model_copy(update={"celery_broker_url": dead_url}))
    sub = submit(
        filename="jfk.flac", data=(data / "jfk.flac").read_bytes(), options=AnalysisOptions(), repo=ctx.repo,
        storage=ctx.storage, settings=ctx.settings, enqueue=lambda task_id: enqueue(task_id, via=dead),
    )  # fmt: skip
    assert not sub.enqueued and sub.message == QUEUE_DOWN_MESSAGE
    assert ctx.repo.require(sub.task.id).status == "queued"
