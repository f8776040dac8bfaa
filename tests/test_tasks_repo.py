"""The task table's life cycle on a real SQLite file (WAL mode)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from services.store.db import create_db_engine, migrate
from services.store.models import utcnow
from services.store.tasks_repo import TaskRepo

LONG_AGO = utcnow() - timedelta(days=1)


@pytest.fixture()
def repo(tmp_path: Path) -> TaskRepo:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    migrate(url)
    return TaskRepo(create_db_engine(url))


def _new(repo: TaskRepo, name: str = "call.wav") -> str:
    return repo.create(
        filename=name, stored_path=f"x/{name}", size_bytes=10, duration=3.0, options={"num_speakers": 2}
    ).id


def test_migration_creates_tables_in_wal_mode(repo: TaskRepo) -> None:
    with repo.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert int(conn.execute(text("PRAGMA busy_timeout")).scalar()) >= 5000
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
    assert {"recordings", "processing_tasks", "alembic_version"} <= tables


def test_life_cycle_queued_processing_completed(repo: TaskRepo) -> None:
    task_id = _new(repo)
    task = repo.require(task_id)
    assert (task.status, task.progress, task.options) == ("queued", 0, {"num_speakers": 2})
    claimed = repo.claim(task_id, "worker-1", stale_before=LONG_AGO)
    assert claimed is not None and claimed.status == "processing" and claimed.attempts == 1
    assert claimed.started_at is not None and claimed.worker == "worker-1"
    assert repo.report_progress(task_id, "transcribe", 40)
    assert repo.require(task_id).stage == "transcribe"
    assert repo.complete(task_id, {"speakers": [{"id": "SPEAKER_00"}], "segments": []})
    done = repo.require(task_id)
    assert (done.status, done.progress, done.num_speakers) == ("completed", 100, 1)
    assert done.completed_at is not None and done.completed_at >= done.started_at


def test_a_second_copy_cannot_claim_a_running_task(repo: TaskRepo) -> None:
    task_id = _new(repo)
    assert repo.claim(task_id, "a", stale_before=LONG_AGO) is not None
    assert repo.claim(task_id, "b", stale_before=LONG_AGO) is None
    assert repo.require(task_id).worker == "a"
    # ...unless the holder is known dead, or its heartbeat is older than the cut-off
    assert repo.claim(task_id, "c", stale_before=LONG_AGO, takeover="a") is not None
    assert repo.claim(task_id, "d", stale_before=utcnow() + timedelta(seconds=1)) is not None
    task = repo.require(task_id)
    assert (task.worker, task.attempts) == ("d", 3)
    assert [e for e, _, _ in repo.events(task_id)] == ["claimed"] * 3


def test_final_states_are_final(repo: TaskRepo) -> None:
    task_id = _new(repo)
    repo.claim(task_id, "a", stale_before=LONG_AGO)
    assert not repo.complete(task_id, {"speakers": []}, worker="someone-else")  # not the claim holder
    assert repo.fail(task_id, "bad file")
    assert not repo.report_progress(task_id, "diarize", 80)  # a late report changes nothing
    assert not repo.complete(task_id, {"speakers": []})
    task = repo.require(task_id)
    assert (task.status, task.error) == ("failed", "bad file")


def test_list_newest_first_with_paging_and_counts(repo: TaskRepo) -> None:
    ids = [_new(repo, f"r{i}.wav") for i in range(5)]
    listed = repo.list_tasks(limit=3)
    assert [t.id for t in listed] == ids[::-1][:3]
    assert listed[0].result is None  # history rows do not carry result payloads
    assert [t.id for t in repo.list_tasks(limit=3, offset=3)] == ids[::-1][3:]
    assert repo.count() == 5 and repo.count("queued") == 5 and repo.count("failed") == 0
