"""Migrations on PostgreSQL and SQLite, with several processes starting (and migrating) at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from services.store.db import alembic_config, get_engine, migrate
from services.store.tasks_repo import TaskRepo
from tests.helpers import ROOT, child_env
from tests.postgres import temporary_database

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""
"""The newest revision in services/store/migrations (read, so that adding a migration needs no edit here)."""
EDIT_TABLES = {"speaker_labels", "segment_edits", "task_artifacts"}
MIGRATE = "from services.store.db import migrate; import sys; migrate(sys.argv[1]); print('migrated')"


def _migrate_concurrently(url: str, processes: int = 4) -> list[subprocess.CompletedProcess[str]]:
    """``processes`` interpreters that each call ``migrate(url)`` at the same moment."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, url],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def _version(url: str) -> list[str]:
    with get_engine(url).connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


@pytest.fixture(scope="module")
def postgres_url():  # type: ignore[no-untyped-def]
    with temporary_database() as url:
        yield url


def test_concurrent_migrations_on_postgres_all_succeed_once(postgres_url: str) -> None:
    results = _migrate_concurrently(postgres_url)
    assert all(r.returncode == 0 for r in results), [r.stderr[-2000:] for r in results]
    assert _version(postgres_url) == [HEAD]
    tables = set(inspect(get_engine(postgres_url)).get_table_names())
    assert {"recordings", "processing_tasks", "alembic_version"} | EDIT_TABLES <= tables


def test_the_task_table_life_cycle_on_postgres(postgres_url: str) -> None:
    migrate(postgres_url)  # a process started later: nothing to do
    repo = TaskRepo(get_engine(postgres_url))
    task = repo.create(
        filename="Besprechung_Müller.m4a",
        stored_path="k/x.m4a",
        size_bytes=3,
        duration=1.5,
        options={"num_speakers": 2},
    )
    soon = task.created_at  # nothing is stale yet
    assert repo.claim(task.id, "w1", stale_before=soon) is not None
    assert repo.claim(task.id, "w2", stale_before=soon) is None
    assert repo.complete(task.id, {"speakers": [{"id": "SPEAKER_00"}], "segments": [], "text": "ä"})
    done = repo.require(task.id)
    assert (done.status, done.num_speakers, done.result["text"], done.worker) == ("completed", 1, "ä", "w1")
    assert done.created_at.tzinfo is not None and done.completed_at >= done.started_at
    assert repo.count("completed") == 1 and [t.id for t in repo.list_tasks(status="completed")] == [task.id]


def test_concurrent_migrations_on_sqlite_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    results = _migrate_concurrently(url)
    assert all(r.returncode == 0 for r in results), [r.stderr[-2000:] for r in results]
    assert _version(url) == [HEAD]
    assert set(inspect(get_engine(url)).get_table_names()) >= EDIT_TABLES


def test_the_edits_migration_goes_down_and_up_again(tmp_path: Path) -> None:
    from alembic import command

    from services.store.db import alembic_config

    url = f"sqlite:///{tmp_path / 'downgrade.db'}"
    migrate(url)
    command.downgrade(alembic_config(url), "0002")
    engine = get_engine(url)
    assert not EDIT_TABLES & set(inspect(engine).get_table_names())
    assert "rerun" not in {c["name"] for c in inspect(engine).get_columns("processing_tasks")}
    migrate(url)
    assert _version(url) == [HEAD] and set(inspect(get_engine(url)).get_table_names()) >= EDIT_TABLES
