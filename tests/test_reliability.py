"""Fault injection with real workers, a real Redis and the real task table; figures for RELIABILITY.md.

Each test runs on a queue of its own (tests/cluster.py); a test that restarts Redis starts its own
server on a free port and never touches the machine's shared one.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from services.analysis.audio import decode
from services.jobs.submissions import QUEUE_DOWN_MESSAGE
from services.runtime.broker import free_port, start_embedded_redis
from tests.cluster import FAST, Cluster, kill_task_process
from tests.helpers import wait_for
from tests.media import encode_audio


@pytest.fixture(scope="module")
def clip(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 4 seconds of jfk.flac: a real job that finishes in a couple of seconds."""
    audio = decode(data / "jfk.flac")[: 4 * 16000]
    return encode_audio(tmp_path_factory.mktemp("clip") / "clip.wav", audio, 16000, "pcm_s16le", fmt="wav")


def _runs(cluster: Cluster, task_id: str) -> tuple[int, int]:
    """(claims, completions recorded) for a task, from its event log."""
    events = [e for e, _, _ in cluster.ctx.repo.events(task_id)]
    return events.count("claimed"), events.count("completed")


def test_sigkill_of_the_worker_child_mid_job_loses_nothing(cluster: Cluster, data: Path, figures: list[str]) -> None:
    worker = cluster.start_worker()
    kills, recoveries, task_ids = 0, [], []
    for _ in range(10):
        task_id = cluster.submit(data / "jfk.flac").task.id
        task_ids.append(task_id)
        running = wait_for(
            lambda task_id=task_id: (
                (t := cluster.ctx.repo.require(task_id)).status == "processing" and t.stage == "transcribe" and t
            ),
            120,
            interval=0.02,
            message="the job to be mid-transcription",
        )
        killed_at = time.monotonic()
        kill_task_process(running.worker)
        kills += 1
        # recovered = claimed again by a new pool process
        wait_for(
            lambda task_id=task_id, running=running: (
                (t := cluster.ctx.repo.require(task_id)).worker != running.worker and t.status != "queued"
            ),
            120,
            interval=0.05,
            message="the job to be picked up again",
        )
        recoveries.append(time.monotonic() - killed_at)
    states = cluster.wait_final(task_ids, 240)
    lost = sum(s != "completed" for s in states.values())
    duplicates = sum(max(0, _runs(cluster, t)[1] - 1) for t in task_ids)
    figures.append(
        f"SIGKILL child mid-job x{kills}: lost {lost}/{len(task_ids)}, duplicate runs {duplicates}, "
        f"recovery median {np.median(recoveries):.1f} s, max {max(recoveries):.1f} s"
    )
    assert lost == 0, states
    assert duplicates == 0
    assert all(cluster.ctx.repo.require(t).attempts == 2 for t in task_ids)
    assert worker.poll() is None


class OwnRedis:
    """A Redis server of the test's own on a free port, to kill and start again, and a queue on it."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> None:
        self.folder, self.port = folder, free_port()
        self.server = start_embedded_redis(folder / "redis", self.port, persist=False)
        (folder / "own").mkdir()
        self.cluster = Cluster(folder / "own", monkeypatch, environment, REDIS_URL=self.server.url, **FAST)

    def restart(self) -> None:
        """Start Redis again on the same port: empty, as after a restart without persistence."""
        self.server = start_embedded_redis(self.folder / "redis", self.port, persist=False)


@pytest.fixture
def own_redis(cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]):  # type: ignore[no-untyped-def]
    cluster.stop()
    own = OwnRedis(tmp_path, monkeypatch, environment)
    try:
        yield own
    finally:
        own.cluster.stop()
        own.server.stop()


def test_redis_restart_without_persistence_loses_no_queued_job(
    own_redis: OwnRedis, clip: Path, figures: list[str]
) -> None:
    own = own_redis.cluster
    own.start_worker(beat=True)
    task_ids = [own.submit(clip).task.id for _ in range(20)]
    assert all(own.ctx.repo.require(t).status in ("queued", "processing") for t in task_ids)
    own_redis.server.kill()  # every message in the queue is gone with it
    own_redis.restart()
    restarted_at = time.monotonic()
    states = own.wait_final(task_ids, 300)
    took = time.monotonic() - restarted_at
    lost = sum(s != "completed" for s in states.values())
    duplicates = sum(max(0, _runs(own, t)[1] - 1) for t in task_ids)
    resent = sum(any(e == "claimed" for e, _, _ in own.ctx.repo.events(t)) for t in task_ids)
    figures.append(
        f"Redis restarted (no persistence) with 20 queued: lost {lost}/20, duplicate runs {duplicates}, "
        f"all done {took:.1f} s after the restart"
    )
    assert lost == 0, states
    assert duplicates == 0 and resent == 20


def test_a_job_that_always_kills_its_process_stops_at_the_attempt_cap(
    cluster: Cluster, data: Path, clip: Path, figures: list[str]
) -> None:
    worker = cluster.start_worker()
    task_id = cluster.submit(data / "jfk.flac").task.id
    pids: list[str] = []
    started = time.monotonic()
    while True:  # crash the process every time it starts the job
        task = wait_for(
            lambda: (
                (t := cluster.ctx.repo.require(task_id)).is_final
                or (t.status == "processing" and t.worker not in pids and t)
            ),
            120,
            interval=0.02,
            message="the next attempt",
        )
        if task is True or task.is_final:
            break
        pids.append(task.worker)
        kill_task_process(task.worker)
    task = cluster.ctx.repo.require(task_id)
    figures.append(
        f"Poison job (kills its process every time): {len(pids)} attempts, then '{task.status}' "
        f"after {time.monotonic() - started:.1f} s"
    )
    assert task.status == "failed" and task.attempts == 3 and len(pids) == 3
    assert task.error.startswith("Gave up after 3 attempts.")
    assert "stopped unexpectedly" in task.error
    assert worker.poll() is None
    after = cluster.submit(clip).task.id
    assert cluster.wait_final([after], 120)[after] == "completed"


def test_four_workers_and_polling_pages_fifty_jobs_without_lock_errors(
    cluster: Cluster, clip: Path, figures: list[str]
) -> None:
    cluster.start_worker(concurrency=4)
    stop = threading.Event()
    reads, errors = [0], []

    def page_poller() -> None:  # what the task and history pages do, as fast as they can
        while not stop.is_set():
            try:
                cluster.ctx.repo.list_tasks(limit=50)
                cluster.ctx.repo.count("queued")
                for t in cluster.ctx.repo.list_tasks(limit=5, status="processing"):
                    cluster.ctx.repo.get(t.id)
                reads[0] += 1
            except Exception as exc:  # any error here is a failure of the test
                errors.append(repr(exc))

    pollers = [threading.Thread(target=page_poller, daemon=True) for _ in range(2)]
    for p in pollers:
        p.start()
    started = time.monotonic()
    task_ids = [cluster.submit(clip).task.id for _ in range(50)]
    states = cluster.wait_final(task_ids, 600)
    took = time.monotonic() - started
    stop.set()
    for p in pollers:
        p.join()
    log = cluster.log()
    locked = log.count("database is locked") + sum("locked" in e for e in errors)
    done = sum(s == "completed" for s in states.values())
    figures.append(
        f"4 worker processes + 2 polling readers, 50 jobs: {done}/50 completed, {locked} 'database is locked', "
        f"{reads[0]} page polls, {took:.0f} s"
    )
    assert locked == 0 and not errors, errors[:3]
    assert done == 50, states


def test_the_same_message_twice_runs_the_job_once(cluster: Cluster, clip: Path) -> None:
    from worker.celery_app import enqueue

    cluster.start_worker(concurrency=2)
    task_id = cluster.submit(clip).task.id
    enqueue(task_id, via=cluster.app)  # a duplicate delivery, as at-least-once brokers do
    assert cluster.wait_final([task_id], 120)[task_id] == "completed"
    time.sleep(2)  # let the second copy finish whatever it does
    assert _runs(cluster, task_id) == (1, 1)


def test_a_locked_database_is_waited_out_with_retries(
    cluster: Cluster, clip: Path, environment: dict[str, str], figures: list[str]
) -> None:
    """A transient error before the job could even be claimed: Celery retries with backoff, the job runs once."""
    task_id = cluster.submit(clip).task.id  # queued, its message waiting in the broker
    database = environment["DATABASE_URL"].removeprefix("sqlite:///")
    blocker = sqlite3.connect(database, timeout=30)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        cluster.start_worker(DATABASE_BUSY_TIMEOUT_SECONDS="0.5")
        wait_for(lambda: "database is locked" in cluster.log(), 60, message="the worker to meet the lock")
        held_until = time.monotonic() + 2
        while time.monotonic() < held_until:
            time.sleep(0.1)
    finally:
        blocker.rollback()
        blocker.close()
    released = time.monotonic()
    assert cluster.wait_final([task_id], 120)[task_id] == "completed"
    task = cluster.ctx.repo.require(task_id)
    retries = cluster.log().count("Retry in")
    figures.append(
        f"SQLite write-locked by another process for 2 s+: {retries} Celery retries with backoff, "
        f"completed {time.monotonic() - released:.1f} s after the lock went, claimed {task.attempts} time(s)"
    )
    assert retries >= 1 and task.attempts == 1


def test_uploads_while_redis_is_down_start_by_themselves_when_it_is_back(
    own_redis: OwnRedis, clip: Path, figures: list[str]
) -> None:
    own = own_redis.cluster
    worker = own.start_worker(beat=True)
    own_redis.server.kill()
    down_at = time.monotonic()
    submissions = [own.submit(clip) for _ in range(3)]
    upload_s = (time.monotonic() - down_at) / len(submissions)
    assert all(not s.enqueued and s.message == QUEUE_DOWN_MESSAGE for s in submissions)
    task_ids = [s.task.id for s in submissions]
    assert {own.ctx.repo.require(t).status for t in task_ids} == {"queued"}  # recorded, nothing lost
    time.sleep(3)  # the worker notices the broker is gone and keeps trying to reconnect
    own_redis.restart()
    back_at = time.monotonic()
    states = own.wait_final(task_ids, 180)
    took = time.monotonic() - back_at
    figures.append(
        f"Redis down during 3 uploads: each recorded 'queued' in {upload_s:.1f} s; "
        f"{sum(s == 'completed' for s in states.values())}/3 completed {took:.1f} s after Redis was back, no one acting"
    )
    assert set(states.values()) == {"completed"}, states
    assert worker.poll() is None
