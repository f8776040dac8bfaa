"""Operating the queue with Celery's own tools, as the README says: inspect, Flower, the reaper."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from services.config import get_settings
from services.jobs.housekeeping import clean_up
from services.jobs.reaper import reap
from services.runtime.broker import free_port
from services.runtime.context import AppContext
from services.runtime.monitor import task_ids_in_broker
from services.store.models import utcnow
from tests.helpers import ROOT, child_env, stop_process, wait_for
from worker.celery_app import enqueue, make_app


def test_celery_inspect_active_answers(worker, environment: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker.celery_app", "inspect", "active", "--timeout", "5"],
        cwd=ROOT, env=child_env(**environment), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "celery@test-" in done.stdout or "test-" in done.stdout


def test_flower_serves_its_dashboard(worker, environment: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    with open(tmp_path / "flower.log", "wb") as log:
        flower = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.celery_app",
                "flower",
                f"--port={port}",
                "--address=127.0.0.1",
            ],
            cwd=ROOT,
            env=child_env(**environment),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=2) as r:
                    return r.read().strip() == b"OK"
            except OSError:
                return False

        wait_for(healthy, 60, message="Flower")
    finally:
        stop_process(flower)


def test_reaper_resends_lost_tasks_and_recovers_stale_ones(ctx: AppContext) -> None:
    lost = ctx.repo.create(filename="lost.wav", stored_path=None, size_bytes=1, duration=1.0)
    held = ctx.repo.create(filename="held.wav", stored_path=None, size_bytes=1, duration=1.0)
    stale = ctx.repo.create(filename="stale.wav", stored_path=None, size_bytes=1, duration=1.0)
    spent = ctx.repo.create(filename="spent.wav", stored_path=None, size_bytes=1, duration=1.0)
    for task in (stale, spent):
        ctx.repo.claim(task.id, "gone-host:1", stale_before=utcnow())
    for _ in range(2):  # spent has used up its attempts
        ctx.repo.claim(spent.id, "gone-host:1", stale_before=utcnow() + timedelta(seconds=1))
    sent: list[str] = []
    send = lambda task_id, kind: sent.append(task_id)  # noqa: E731
    later = utcnow() + timedelta(minutes=10)
    report = reap(
        ctx.repo, enqueue=send, in_broker={held.id}, max_attempts=3, stale_after_s=60, requeue_after_s=60, now=later
    )
    assert lost.id in sent and held.id not in sent  # the broker still holds `held`
    assert stale.id in sent and ctx.repo.require(stale.id).status == "queued"  # reaped, then re-sent
    spent_now = ctx.repo.require(spent.id)
    assert spent_now.status == "failed" and spent_now.error.startswith("Gave up after 3 attempts.")
    assert report.requeued_stale >= 1 and report.failed_exhausted >= 1
    # broker unreadable: nothing is re-sent (the next pass will)
    assert (
        reap(ctx.repo, enqueue=send, in_broker=None, max_attempts=3, stale_after_s=60, requeue_after_s=60).resent == 0
    )


def test_message_ids_in_the_broker_are_task_ids(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_QUEUE", f"fastaudio-idle-{uuid.uuid4().hex[:8]}")  # no worker serves it
    get_settings.cache_clear()
    try:
        idle = make_app(get_settings())
        task = ctx.repo.create(filename="x.wav", stored_path=None, size_bytes=1, duration=1.0)
        before = task_ids_in_broker(get_settings())
        enqueue(task.id, via=idle)
        after = task_ids_in_broker(get_settings())
        assert before is not None and task.id not in before
        assert after is not None and task.id in after
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_housekeeping_deletes_only_folders_fastaudio_wrote(ctx: AppContext, tmp_path: Path) -> None:
    """A storage root shared with other programs: their folders and files stay, whatever their age."""
    from services.storage.files import LocalStorage

    storage = LocalStorage(tmp_path / "shared")
    ours = storage.save("orphan.wav", b"RIFF")
    theirs = [
        tmp_path / "shared" / name for name in ("backups", "0b9a6f0e-8c1e-4b5e-9d2a-3f1c2b4a5d6e", "fastaudio-notes")
    ]
    for folder in theirs:
        folder.mkdir(parents=True)
        (folder / "keep.txt").write_text("not FastAudio's")
    report = clean_up(ctx.repo, storage, retention_days=0, orphan_grace_hours=-1)
    assert report.orphans_deleted == 1 and not storage.exists(ours.key)
    assert all((folder / "keep.txt").read_text() == "not FastAudio's" for folder in theirs)


def test_housekeeping_deletes_old_tasks_and_orphans(ctx: AppContext, data: Path) -> None:
    stored = ctx.storage.save("old.flac", (data / "jfk.flac").read_bytes())
    old = ctx.repo.create(filename="old.flac", stored_path=stored.key, size_bytes=stored.size_bytes, duration=11.0)
    ctx.repo.fail(old.id, "test")
    orphan = ctx.storage.save("orphan.wav", b"RIFF")
    report = clean_up(ctx.repo, ctx.storage, retention_days=0, orphan_grace_hours=-1)
    assert not ctx.storage.exists(orphan.key) and report.orphans_deleted >= 1
    assert ctx.storage.exists(stored.key) and ctx.repo.get(old.id) is not None  # retention 0 keeps tasks
    with ctx.repo.engine.begin() as conn:  # age the task past a 1-day retention
        conn.exec_driver_sql("UPDATE processing_tasks SET created_at = '2020-01-01 00:00:00' WHERE id = ?", (old.id,))
    report = clean_up(ctx.repo, ctx.storage, retention_days=1, orphan_grace_hours=24)
    assert report.tasks_deleted >= 1
    assert ctx.repo.get(old.id) is None and not ctx.storage.exists(stored.key)
