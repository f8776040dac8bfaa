"""The command line, and `make run`'s supervisor brought up from nothing (embedded Redis included)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import psutil

from services.runtime.broker import free_port, redis_answers
from services.runtime.context import AppContext
from tests.helpers import ROOT, child_env, normalize, wait_for

JFK = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_analyze_prints_rttm_with_the_file_stem(data: Path) -> None:
    done = _cli("analyze", str(data / "jfk.flac"), "--format", "rttm")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines and all(
        re.fullmatch(r"SPEAKER jfk 1 \d+\.\d{3} \d+\.\d{3} <NA> <NA> SPEAKER_00 <NA> <NA>", x) for x in lines
    )


def test_analyze_of_a_non_audio_file_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "report.wav"
    fake.write_text("quarterly report")
    done = _cli("analyze", str(fake))
    assert done.returncode == 2
    assert "error: report.wav is not an audio file we can read" in done.stderr


def test_submit_prints_only_the_task_id_on_stdout(ctx: AppContext, data: Path, tmp_path: Path) -> None:
    """``id=$(python -m cli submit f.wav)``: stdout is the id alone; what a person reads goes to stderr."""
    done = _cli("submit", str(data / "jfk.flac"), env=child_env())
    assert done.returncode == 0, done.stderr
    task_id = done.stdout.strip()
    assert done.stdout == f"{task_id}\n" and ctx.repo.require(task_id).recording.filename == "jfk.flac"
    assert re.search(rf"task {task_id}: (queued|processing|completed)\. ", done.stderr)  # a worker may have it already

    fake = tmp_path / "report.wav"
    fake.write_text("quarterly report")
    refused = _cli("submit", str(fake), env=child_env())
    failed = ctx.repo.require(refused.stdout.strip())  # a task that failed at upload still has its id
    assert refused.returncode == 1 and failed.status == "failed"
    assert "report.wav is not an audio file we can read" in refused.stderr


def test_make_run_starts_everything_and_stops_on_ctrl_c(data: Path, tmp_path: Path) -> None:
    """No Redis at REDIS_URL: the supervisor starts one, a worker, Streamlit and the API; submit --wait works."""
    port, api_port = free_port(), free_port()
    env = child_env(
        API_PORT=str(api_port),
        DATA_DIR=str(tmp_path / "data"),
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        CELERY_QUEUE=f"fastaudio-run-{uuid.uuid4().hex[:8]}",
        WATCH_DIR=str(tmp_path / "watch"),
    )
    for key in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DATABASE_URL", "API_HOST", "API_TOKEN", "STORAGE_URL"):
        env.pop(key, None)
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        stack = subprocess.Popen(
            [sys.executable, "-m", "cli", "run", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        banner = wait_for(lambda: re.search(r"embedded Redis at (redis://\S+);", log.read_text()), 60, message="banner")
        redis_url = banner.group(1)
        assert redis_answers(redis_url)
        assert (tmp_path / "data" / "redis").is_dir()  # the embedded Redis keeps its files under DATA_DIR

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
                    return r.read() == b"ok"
            except OSError:
                return False

        wait_for(healthy, 90, message="Streamlit health")
        assert f"HTTP API: http://127.0.0.1:{api_port}  (docs at http://127.0.0.1:{api_port}/docs)" in log.read_text()

        def api_healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=2) as r:
                    return json.loads(r.read()) == {"status": "ok"}
            except OSError:
                return False

        wait_for(api_healthy, 60, message="API health")
        wait_for(lambda: b" ready." in log.read_bytes(), 90, message="worker ready")

        client_env = dict(env, REDIS_URL=redis_url)
        done = _cli("submit", str(data / "jfk.flac"), "--wait", "--format", "json", env=client_env)
        assert done.returncode == 0, done.stderr + log.read_text()[-3000:]
        assert normalize(json.loads(done.stdout)["text"]) == JFK
        assert "transcribe" in done.stderr  # progress was shown while it ran
        shutil.copy(data / "jfk.flac", tmp_path / "watch" / "dropped.flac")  # WATCH_DIR: the watcher runs too
        wait_for(lambda: (tmp_path / "watch" / "dropped.srt").exists(), 120, message="the watch folder's SRT")
        children = psutil.Process(stack.pid).children(recursive=True)
        assert len(children) >= 5  # redis-server, celery worker (+ its pool), streamlit, uvicorn, the watcher
    finally:
        stack.send_signal(signal.SIGINT)
        # The stop itself is bounded (STOP_TIMEOUT_S, then kill; Redis 10 s); this only catches a hang, with
        # room for a machine busy with the rest of the suite (60 s ran out once under a full CI load).
        code = stack.wait(180)
    assert code == 0, log.read_text()[-3000:]
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not redis_answers(redis_url)


def test_make_run_never_prints_the_redis_password(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The banner of ``make run`` names the Redis it uses, with the password masked."""
    from services.config import get_settings
    from services.runtime import supervisor

    secret = "s3cr3t-Pa55"
    exited = subprocess.Popen([sys.executable, "-c", "pass"])  # a child that has stopped: run() returns at once
    exited.wait()
    stack = supervisor.Stack(redis_url=f"redis://fastaudio:{secret}@queue.internal:6380/2", embedded=None)
    stack.processes["web"] = exited
    monkeypatch.setattr(supervisor, "start_stack", lambda *a, **k: stack)
    monkeypatch.setattr(supervisor.signal, "signal", lambda *a: None)  # leave pytest's SIGTERM handler alone
    assert supervisor.run(get_settings()) == 1
    out = capsys.readouterr().out
    assert secret not in out and "Redis at redis://fastaudio:***@queue.internal:6380/2;" in out
    assert supervisor.masked_url("redis://:pw@[::1]:6379/0") == "redis://:***@[::1]:6379/0"
    assert supervisor.masked_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
