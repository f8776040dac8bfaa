"""A worker that dies holding a message: the message comes back within a minute, the job runs once.

Real Redis, real Celery workers (killed whole, process group and all), the real task table; each
test on a queue of its own (tests/cluster.py) with the short reliability timings of ``FAST``
(a worker's held-messages key expires after STALE_AFTER_SECONDS = 6 s, the reaper runs every 2 s).
Figures for docs/RELIABILITY.md ("A worker that dies holding a message").
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from services.analysis.audio import decode
from tests.cluster import Cluster
from tests.helpers import child_env, wait_for
from tests.media import encode_audio

RAW_CONSUMER = """
import os, sys
from kombu import Connection, Exchange, Queue
url, name = sys.argv[1], sys.argv[2]
with Connection(url) as connection:
    def took(body, message):
        print(message.headers.get("id"), flush=True)
        os._exit(0)  # dies holding it: no acknowledgement, and no goodbye that would give it back
    queue = Queue(name, Exchange(name), routing_key=name)
    with connection.Consumer(queue, callbacks=[took], accept=["json"]) as consumer:
        consumer.qos(prefetch_count=1)
        connection.drain_events(timeout=60)
sys.exit(3)
"""


@pytest.fixture(scope="module")
def clip(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    audio = decode(data / "jfk.flac")[: 4 * 16000]
    return encode_audio(tmp_path_factory.mktemp("clip") / "clip.wav", audio, 16000, "pcm_s16le", fmt="wav")


def _unacked_ids(cluster: Cluster) -> set[str]:
    """Task ids of the messages Redis counts as delivered and not acknowledged."""
    client = redis.Redis.from_url(cluster.settings.celery_broker_url)
    try:
        return {json.loads(raw)[0]["headers"]["id"] for raw in client.hvals("unacked")}
    finally:
        client.close()


def _events(cluster: Cluster, task_id: str) -> list[str]:
    return [event for event, _, _ in cluster.ctx.repo.events(task_id)]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a worker started with ``session=True``: its main process and every pool process at once."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def test_a_message_taken_by_a_consumer_that_died_is_recovered(
    cluster: Cluster, clip: Path, environment: dict[str, str], figures: list[str]
) -> None:
    """Deterministic: a bare kombu consumer takes the message without acknowledging it and exits."""
    task_id = cluster.submit(clip).task.id  # no worker yet: the message waits in the queue
    taker = subprocess.run(
        [sys.executable, "-c", RAW_CONSUMER, cluster.settings.celery_broker_url, cluster.settings.celery_queue],
        env=child_env(**cluster.values),
        check=False,
        capture_output=True,
        timeout=90,
    )
    assert taker.stdout.decode().strip() == task_id, taker.stderr.decode()[-2000:]
    died_at = time.monotonic()
    assert task_id in _unacked_ids(cluster)  # Redis would keep it for the visibility timeout: 5 hours
    assert cluster.ctx.repo.require(task_id).status == "queued"

    cluster.start_worker(beat=True, concurrency=2, DATABASE_BUSY_TIMEOUT_SECONDS="60")
    wait_for(lambda: cluster.ctx.repo.require(task_id).status != "queued", 120, interval=0.1, message="a claim")
    claimed_s = time.monotonic() - died_at
    state = cluster.wait_final([task_id], 120)[task_id]
    took = time.monotonic() - died_at
    assert state == "completed", _events(cluster, task_id)
    assert _events(cluster, task_id).count("claimed") == 1 and _events(cluster, task_id).count("completed") == 1
    # Acknowledged late (task_acks_late): the row says completed a moment before the message is acked.
    wait_for(lambda: task_id not in _unacked_ids(cluster), 30, interval=0.05, message="the acknowledgement")

    # A live worker's message is left alone, however long it holds it: here 10 s before the claim
    # (the database locked), while its other pool process runs the reaper every 2 s.
    held = cluster.submit(clip, send=False).task.id
    cluster.ctx.repo.mark_enqueued(held)  # so the reaper does not send it first (REQUEUE_AFTER_SECONDS)
    blocker = _locked(environment["DATABASE_URL"].removeprefix("sqlite:///"))
    try:
        cluster.send(held)  # only now: the claim is sure to meet the lock
        wait_for(lambda: held in _unacked_ids(cluster), 60, interval=0.05, message="the worker to fetch it")
        reaps_before = cluster.log().count("reap_tasks[")
        time.sleep(10)
        reaps = cluster.log().count("reap_tasks[") - reaps_before
    finally:
        blocker.rollback()
        blocker.close()
    assert cluster.wait_final([held], 120)[held] == "completed"
    assert reaps >= 2  # the reaper did look while the message was held
    assert cluster.log().count("their worker is gone") == 1  # only the dead consumer's message was put back
    assert _events(cluster, held) == ["claimed", "completed"], _events(cluster, held)
    figures.append(
        f"Message taken by a consumer that died before the claim: claimed {claimed_s:.1f} s and completed "
        f"{took:.1f} s after it died "
        f"(worker start included), 1 claim, 1 completion; a live worker's message held 10 s through {reaps} "
        "reaper passes was left alone"
    )


def _locked(database: str) -> sqlite3.Connection:
    blocker = sqlite3.connect(database, timeout=30)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock: the claim waits
    return blocker


@pytest.mark.parametrize("moment", ["fetched, claim waiting", "just claimed", "mid-transcription"])
def test_a_worker_killed_whole_at_any_moment_of_a_job_loses_nothing(
    cluster: Cluster, clip: Path, data: Path, environment: dict[str, str], moment: str, figures: list[str]
) -> None:
    recording = data / "jfk.flac" if moment == "mid-transcription" else clip
    task_id = cluster.submit(recording).task.id
    blocker = _locked(environment["DATABASE_URL"].removeprefix("sqlite:///")) if moment.startswith("fetched") else None
    try:
        victim = cluster.start_worker(session=True, DATABASE_BUSY_TIMEOUT_SECONDS="60")
        if blocker is not None:
            wait_for(lambda: task_id in _unacked_ids(cluster), 60, interval=0.05, message="the worker to fetch it")
            time.sleep(1)  # inside the claim, waiting for the lock
        else:
            stage = "transcribe" if moment == "mid-transcription" else None
            wait_for(
                lambda: (
                    (t := cluster.ctx.repo.require(task_id)).status == "processing"
                    and (stage is None or t.stage == stage)
                ),
                120,
                interval=0.02,
                message=f"the job to be {moment}",
            )
        _kill_group(victim)
        killed_at = time.monotonic()
    finally:
        if blocker is not None:
            blocker.rollback()
            blocker.close()
    assert task_id in _unacked_ids(cluster)  # the dead worker's message, which Redis would hold for 5 hours
    dead = cluster.ctx.repo.require(task_id).worker  # the killed pool process's claim (None: not claimed yet)

    cluster.start_worker(beat=True)
    wait_for(
        lambda: (t := cluster.ctx.repo.require(task_id)).status != "queued" and t.worker not in (None, dead),
        120,
        interval=0.1,
        message="another worker to claim it",
    )
    claimed_s = time.monotonic() - killed_at
    state = cluster.wait_final([task_id], 180)[task_id]
    events = _events(cluster, task_id)
    figures.append(
        f"Worker process group SIGKILLed ({moment}): claimed again {claimed_s:.1f} s later (worker start included), "
        f"{state}; claims {events.count('claimed')}, completions {events.count('completed')}"
    )
    assert state == "completed", events
    assert events.count("completed") == 1
    assert events.count("claimed") == (1 if blocker is not None else 2)
