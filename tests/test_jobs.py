"""``run_job`` on a real SQLite task table: what a run leaves in the row when its work goes wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.jobs.runner import JobPolicy, Outcome, process_stop_behind, run_job
from services.store.db import create_db_engine, migrate
from services.store.tasks_repo import TaskRepo

POLICY = JobPolicy(heartbeat_interval_s=60)


@pytest.fixture()
def repo(tmp_path: Path) -> TaskRepo:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    migrate(url)
    return TaskRepo(create_db_engine(url))


def _failing(error: Exception):  # type: ignore[no-untyped-def]
    def work(task, worker, stop):  # type: ignore[no-untyped-def]
        raise error

    return work


def _stopped_inside_an_import() -> RuntimeError:
    """What faster-whisper raised when Celery terminated the job while onnxruntime was importing."""
    try:
        try:
            raise SystemExit(-241)  # billiard's signal handler
        except SystemExit as stop:
            raise ImportError("initialization failed") from stop
    except ImportError as error:
        try:
            raise RuntimeError("Applying the VAD filter requires the onnxruntime package") from error
        except RuntimeError as wrapped:
            return wrapped


def test_a_bug_in_the_work_fails_the_task_with_its_name(repo: TaskRepo) -> None:
    task_id = repo.create(filename="a.wav", stored_path="a.wav", size_bytes=1, duration=1.0).id
    run = run_job(task_id, _failing(RuntimeError("boom")), repo=repo, policy=POLICY, worker="host:1")
    assert run.outcome is Outcome.FAILED
    assert repo.require(task_id).error == "The analysis stopped on an unexpected error (RuntimeError: boom)."


def test_a_process_being_stopped_is_not_the_jobs_failure(repo: TaskRepo) -> None:
    task_id = repo.create(filename="a.wav", stored_path="a.wav", size_bytes=1, duration=1.0).id
    with pytest.raises(SystemExit):
        run_job(task_id, _failing(_stopped_inside_an_import()), repo=repo, policy=POLICY, worker="host:1")
    task = repo.require(task_id)
    # left as a crash leaves it: the next claim (dead worker, stale heartbeat) or the reaper takes it over
    assert (task.status, task.error, task.attempts, task.worker) == ("processing", None, 1, "host:1")


def test_process_stop_behind_follows_causes_and_contexts() -> None:
    assert isinstance(process_stop_behind(_stopped_inside_an_import()), SystemExit)
    assert process_stop_behind(RuntimeError("boom")) is None
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise OSError("interrupted")  # noqa: B904 (implicit context, as libraries do)
    except OSError as error:
        assert isinstance(process_stop_behind(error), KeyboardInterrupt)


def test_running_out_of_memory_fails_at_once_instead_of_three_retries(repo: TaskRepo) -> None:
    task_id = repo.create(filename="long.flac", stored_path="a.wav", size_bytes=1, duration=1.0).id
    run = run_job(task_id, _failing(MemoryError()), repo=repo, policy=POLICY, worker="host:1")
    task = repo.require(task_id)
    assert run.outcome is Outcome.FAILED and task.attempts == 1
    assert task.error.startswith("The server ran out of memory analysing long.flac.")
