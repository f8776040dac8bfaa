"""FastAudio across machines: PostgreSQL, an S3 bucket and Redis shared, nothing else.

Two real Celery workers and a real API server run as separate processes, each in its own working
directory with its own DATA_DIR and TMPDIR, as if on three machines. They share only Redis (a
private queue), a private PostgreSQL database and a bucket on a real S3-compatible server (moto).
Files go in through the API and every job must complete exactly once, on either worker, with no
file left on any local disk.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from services.config import Settings
from services.runtime.broker import free_port
from services.storage.files import open_storage
from services.store.db import get_engine
from services.store.tasks_repo import TaskRepo
from tests.helpers import child_env, normalize, start_api, start_worker, stop_process
from tests.postgres import temporary_database
from tests.s3 import s3_server

FILES = ["jfk.flac", "stereo_diarization.wav", "sample.wav", "jfk.flac"]


@pytest.fixture(scope="module")
def cluster(environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with temporary_database() as database_url, s3_server() as s3:
        shared = dict(
            environment,
            DATABASE_URL=database_url,
            CELERY_QUEUE=f"fastaudio-dist-{uuid.uuid4().hex[:8]}",  # the session's worker never sees these jobs
            CPU_THREADS="1",
            **s3.environment,
        )
        machines = {name: tmp_path_factory.mktemp(name) for name in ("worker-a", "worker-b", "api")}
        for home in machines.values():
            (home / "tmp").mkdir()

        def env(name: str) -> dict[str, str]:
            home = machines[name]
            return child_env(**{**shared, "DATA_DIR": str(home / "data"), "TMPDIR": str(home / "tmp")})

        procs = []
        workers = {}
        try:
            for name in ("worker-a", "worker-b"):
                workers[name] = start_worker(
                    env(name), machines[name] / "worker.log", cwd=machines[name], name=name, timeout=180
                )
                procs.append(workers[name])
            port = free_port()
            procs.append(start_api(env("api"), machines["api"] / "api.log", port, cwd=machines["api"]))
            settings = Settings(**{k.lower(): v for k, v in s3.environment.items()}, data_dir=machines["api"] / "data")
            yield {
                "api": f"http://127.0.0.1:{port}",
                "repo": TaskRepo(get_engine(database_url)),
                "storage": open_storage(settings),
                "s3": s3,
                "machines": machines,
                "workers": workers,
            }
        finally:
            for proc in procs:
                stop_process(proc)


def test_jobs_spread_over_two_workers_that_share_no_disk(cluster, data: Path) -> None:  # type: ignore[no-untyped-def]
    repo: TaskRepo = cluster["repo"]
    with httpx.Client(base_url=cluster["api"], timeout=60) as api:
        ids = []
        for name in FILES:
            with open(data / name, "rb") as f:
                answer = api.post("/analyze", files={"file": (name, f)})
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["task_id"])

        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            tasks = [api.get(f"/api/tasks/{task_id}").json() for task_id in ids]
            if all(t["status"] in ("completed", "failed") for t in tasks):
                break
            time.sleep(1)
        assert [t["status"] for t in tasks] == ["completed"] * len(FILES), [t["error"] for t in tasks]

        texts = [normalize(t["result"]["text"]) for t in tasks]
        assert "ask not what your country can do for you" in texts[0] and texts[0] == texts[3]
        assert "new jersey" in texts[2]
        assert len(tasks[1]["result"]["speakers"]) >= 1

        # exactly once: one claim per row, and four successful Celery runs over both workers together
        rows = [repo.require(task_id) for task_id in ids]
        assert [row.attempts for row in rows] == [1] * len(FILES)
        logs = {name: (cluster["machines"][name] / "worker.log").read_text() for name in ("worker-a", "worker-b")}
        succeeded = {
            name: len(re.findall(r"process_audio_file\[[0-9a-f-]+\] succeeded", log)) for name, log in logs.items()
        }
        assert sum(succeeded.values()) == len(FILES), succeeded
        assert not any("not queued" in log for log in logs.values())
        # prefetch 1: while one worker is busy, the other takes the next job (a row names its pool process, host:pid)
        pool = {
            name: {c.pid for c in psutil.Process(p.pid).children(recursive=True)}
            for name, p in cluster["workers"].items()
        }
        used = {name for row in rows for name, pids in pool.items() if int(row.worker.rpartition(":")[2]) in pids}
        assert used == {"worker-a", "worker-b"}, [row.worker for row in rows]

        # the uploads live in the bucket only; no machine kept a file, and downloads were cleaned up
        keys = cluster["s3"].object_keys()
        assert sorted(keys) == sorted(f"uploads/{row.recording.stored_path}" for row in rows)
        for name, home in cluster["machines"].items():
            assert not (home / "data" / "uploads").exists(), name
            leftovers = [p for p in (home / "tmp").rglob("*") if p.name.startswith("fastaudio-") or p.name in FILES]
            assert leftovers == [], name

        # deleting through the API removes the object from the bucket
        assert api.delete(f"/api/tasks/{ids[0]}").status_code == 204
        assert f"uploads/{rows[0].recording.stored_path}" not in cluster["s3"].object_keys()
        assert not cluster["storage"].exists(rows[0].recording.stored_path)
