"""Time-left estimates: the arithmetic with hand-built numbers, then read from a real task table."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from services.jobs.eta import DEFAULT_RATE, processing_rate, queued_left, running_left
from services.jobs.waiting import estimate_wait
from services.store.db import create_db_engine, migrate
from services.store.models import utcnow
from services.store.tasks_repo import TaskRepo


def test_rate_is_the_median_seconds_per_audio_second() -> None:
    runs = [(60.0, 30.0), (10.0, 4.0), (100.0, 60.0), (20.0, 200.0)]  # 0.5, 0.4, 0.6 and one outlier, 10
    assert processing_rate(runs) == pytest.approx(0.55)
    assert processing_rate([(30.0, 15.0)]) == 0.5
    assert processing_rate([]) == DEFAULT_RATE
    assert processing_rate([(0.0, 5.0), (10.0, -1.0)], default=0.7) == 0.7  # nothing usable


def test_a_running_task_blends_measured_speed_with_its_own_progress() -> None:
    # 100 s of audio at 0.5 s/s: 50 s in all; it has run 10 s.
    assert running_left(duration=100, done=0.0, elapsed=10, rate=0.5) == 40  # no progress yet: speed only
    assert running_left(duration=100, done=0.02, elapsed=10, rate=0.5) == 40  # too little progress to trust
    # 50 % after 30 s: its own pace says 30 s more, the speed says 20 s; halfway, each counts half
    assert running_left(duration=100, done=0.5, elapsed=30, rate=0.5) == pytest.approx(25)
    # nearly done, its own pace dominates
    assert running_left(duration=100, done=0.9, elapsed=90, rate=0.5) == pytest.approx(0.9 * 10 + 0.1 * 0)
    assert running_left(duration=None, done=0.25, elapsed=20, rate=0.5) == 60  # unknown duration: progress only
    assert running_left(duration=None, done=0.0, elapsed=20, rate=0.5) is None
    assert running_left(duration=10, done=0.0, elapsed=60, rate=0.5) == 0  # overdue: never negative


def test_a_queued_task_waits_for_the_work_ahead_shared_over_the_running_slots() -> None:
    # 120 s of audio ahead (60 s of work) and two running tasks with 10 s and 30 s left, two at a time:
    # (60 + 40) / 2 = 50 s of waiting, then its own 30 s recording takes 15 s.
    assert queued_left(duration=30, ahead_audio=120, running=[10, 30], rate=0.5, slots=2) == 65
    assert queued_left(duration=30, ahead_audio=0, running=[], rate=0.5, slots=0) == 15  # next in line
    assert queued_left(duration=None, ahead_audio=20, running=[], rate=0.5, slots=1) == 10


@pytest.fixture()
def repo(tmp_path: Path) -> TaskRepo:
    url = f"sqlite:///{tmp_path / 'eta.db'}"
    migrate(url)
    return TaskRepo(create_db_engine(url))


def test_estimate_reads_the_queue_and_the_measured_speed(repo: TaskRepo) -> None:
    now = utcnow()
    past = repo.create(filename="past.wav", stored_path=None, size_bytes=1, duration=40.0).id
    repo.claim(past, "w")
    repo.complete(past, {"speakers": [], "segments": []})
    with repo.engine.begin() as conn:  # it took 10 s for 40 s of audio: 0.25 s/s
        conn.execute(
            text("UPDATE processing_tasks SET started_at = :s, completed_at = :c WHERE id = :id"),
            {"s": now - timedelta(seconds=70), "c": now - timedelta(seconds=60), "id": past},
        )
    running = repo.create(filename="running.wav", stored_path=None, size_bytes=1, duration=80.0).id
    ahead = repo.create(filename="ahead.wav", stored_path=None, size_bytes=1, duration=20.0).id
    mine = repo.create(filename="mine.wav", stored_path=None, size_bytes=1, duration=100.0).id
    repo.claim(running, "w")
    with repo.engine.begin() as conn:  # running for 10 s, not far enough along to extrapolate
        conn.execute(
            text("UPDATE processing_tasks SET started_at = :s WHERE id = :id"),
            {"s": now - timedelta(seconds=10), "id": running},
        )

    wait = estimate_wait(repo.require(mine), repo, now=now)
    # ahead: 20 s of audio (5 s of work) + the running task's 80 * 0.25 - 10 = 10 s; then 100 * 0.25 = 25 s
    assert (wait.ahead, wait.measured) == (1, True)
    assert wait.seconds_left == pytest.approx(5 + 10 + 25)
    assert estimate_wait(repo.require(ahead), repo, now=now).ahead == 0

    started = estimate_wait(repo.require(running), repo, now=now)
    assert (started.ahead, started.seconds_left) == (None, pytest.approx(10))
    repo.cancel(mine)
    assert estimate_wait(repo.require(mine), repo, now=now).seconds_left is None
