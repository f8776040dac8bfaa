"""Cancelling: a running analysis stops within seconds on a real worker, which then serves the next
job; a queued task never runs. The progress callback is where a run learns it was cancelled."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from services.analysis.audio import decode
from services.errors import TaskCancelled
from services.jobs.cancellation import cancel_task
from services.jobs.progress import ProgressWriter
from services.store.db import create_db_engine, migrate
from services.store.tasks_repo import TaskRepo
from tests.cluster import Cluster
from tests.helpers import wait_for
from tests.media import encode_audio


def test_the_progress_callback_raises_once_the_task_is_cancelled(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    migrate(url)
    repo = TaskRepo(create_db_engine(url))
    task_id = repo.create(filename="a.wav", stored_path=None, size_bytes=1, duration=1.0).id
    repo.claim(task_id, "w")
    report = ProgressWriter(repo, task_id, min_interval=0)
    report("transcribe", 0.1)
    assert repo.require(task_id).progress == 10
    repo.cancel(task_id)
    with pytest.raises(TaskCancelled):
        report("transcribe", 0.2)
    assert repo.require(task_id).progress == 10  # the refused write changed nothing

    # the heartbeat thread's verdict stops it too, even between throttled writes
    lost = threading.Event()
    other = repo.create(filename="b.wav", stored_path=None, size_bytes=1, duration=1.0).id
    repo.claim(other, "w")
    report = ProgressWriter(repo, other, min_interval=3600, stop=lost)
    report("transcribe", 0.1)
    report("transcribe", 0.2)  # throttled: no write, no check
    lost.set()
    with pytest.raises(TaskCancelled):
        report("transcribe", 0.3)


@pytest.fixture(scope="module")
def long_recording(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two minutes of real speech (sample.wav four times): long enough to cancel mid-analysis."""
    audio = np.concatenate([decode(data / "sample.wav")] * 4)
    return encode_audio(tmp_path_factory.mktemp("long") / "long.wav", audio, 16000, "pcm_s16le", fmt="wav")


def _outcome(cluster: Cluster, task_id: str) -> str | None:
    """What the worker's Celery task returned for this row ('completed', 'cancelled', 'skipped'...)."""
    found = re.search(rf"\[{task_id}\] succeeded in [0-9.]+s: '(\w+)'", cluster.log())
    return found.group(1) if found else None


@pytest.fixture()
def own_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]):  # type: ignore[no-untyped-def]
    """A queue and one worker of the test's own, with the default heartbeat (5 s): stopping must not
    wait for it, since the progress callback notices first."""
    c = Cluster(tmp_path, monkeypatch, environment, CPU_THREADS="1")
    c.start_worker()
    yield c
    c.stop()


def test_cancelling_a_running_task_stops_it_within_seconds(
    own_queue: Cluster, long_recording: Path, data: Path, figures: list[str]
) -> None:
    repo = own_queue.ctx.repo
    task_id = own_queue.submit(long_recording).task.id
    running = wait_for(
        lambda: (
            (t := repo.require(task_id)).status == "processing" and t.stage == "transcribe" and t.progress > 5 and t
        ),
        180,
        interval=0.1,
        message="the analysis to be mid-transcription",
    )
    cancelled_at = time.monotonic()
    assert cancel_task(task_id, repo=repo).status == "cancelled"
    outcome = wait_for(
        lambda: _outcome(own_queue, task_id), 30, interval=0.1, message="the worker to stop the analysis"
    )
    stopped_after = time.monotonic() - cancelled_at
    figures.append(f"Cancel a running 2-minute analysis: the worker stopped {stopped_after:.1f} s later")
    assert outcome == "cancelled"  # stopped mid-way: a run left to finish would have succeeded

    task = repo.require(task_id)
    assert (task.status, task.result, task.error, task.num_speakers) == ("cancelled", None, None, None)
    assert task.progress < 100 and task.attempts == 1
    assert [e for e, _, _ in repo.events(task_id)] == ["claimed", "cancelled"]  # nothing written after

    # the same pool process takes the next job and completes it
    after = own_queue.submit(data / "jfk.flac").task.id
    assert own_queue.wait_final([after], 120)[after] == "completed"
    assert repo.require(after).worker == running.worker
    assert own_queue.workers[0].poll() is None


def test_a_cancelled_queued_task_never_runs(own_queue: Cluster, data: Path) -> None:
    repo = own_queue.ctx.repo
    busy = own_queue.submit(data / "sample.wav").task.id
    waiting = own_queue.submit(data / "jfk.flac").task.id
    wait_for(lambda: repo.require(busy).status == "processing", 120, interval=0.1, message="the first job to start")
    assert repo.require(waiting).status == "queued"
    cancel_task(waiting, repo=repo)

    assert own_queue.wait_final([busy], 180)[busy] == "completed"
    assert (
        wait_for(lambda: _outcome(own_queue, waiting), 60, message="the worker to receive the cancelled message")
        == "skipped"
    )
    task = repo.require(waiting)
    assert (task.status, task.attempts, task.started_at, task.result) == ("cancelled", 0, None, None)
    assert [e for e, _, _ in repo.events(waiting)] == ["cancelled"]
