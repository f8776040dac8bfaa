"""Celery task bodies: thin wrappers over ``services.jobs.runner``, ``services.jobs.reaper`` and housekeeping."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache

from celery import Task
from celery.signals import worker_ready

from services.analysis.asr.transcribe import Transcriber
from services.analysis.engines import make_diarizer, make_transcriber
from services.analysis.pipeline import Diarizer, analyze_file
from services.analysis.trim import analyze_trimmed_file
from services.jobs.housekeeping import clean_up
from services.jobs.reaper import reap
from services.jobs.rediarize import run_rediarization
from services.jobs.runner import AnalyzeFile, JobPolicy, Outcome, RunResult, is_transient, run_analysis
from services.runtime.context import get_context
from services.runtime.monitor import task_ids_in_broker
from worker.celery_app import ANALYZE_TASK, HOUSEKEEPING_TASK, REAP_TASK, REDIARIZE_TASK, VAD_TASK, app, enqueue_job
from worker.held import recover_orphans

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _transcriber() -> Transcriber:
    # One model per worker process, loaded by the first task and reused by every later one.
    return make_transcriber(get_context().settings)


@lru_cache(maxsize=1)
def _diarizer() -> Diarizer:
    return make_diarizer(get_context().settings)


def _run(task: Task, task_id: str, analyze: AnalyzeFile) -> str:
    ctx = get_context()
    policy = JobPolicy.from_settings(ctx.settings)
    return _attempt(task, policy, lambda: run_analysis(
        task_id, repo=ctx.repo, storage=ctx.storage, transcriber=_transcriber, diarizer=_diarizer,
        analyze=analyze, artifacts=ctx.artifacts, edits=ctx.edits, voices=ctx.voices, policy=policy,
        max_seconds=ctx.settings.max_duration_minutes * 60,
    ))  # fmt: skip


def _attempt(task: Task, policy: JobPolicy, job: Callable[[], RunResult]) -> str:
    """Run a job and turn its outcome (or a transient failure to even start it) into Celery's terms."""
    try:
        run = job()
    except Exception as exc:
        # The task row could not be read or claimed (database locked or unreachable): try this
        # message again with backoff; should that fail too, the reaper sends the row again later.
        if is_transient(exc) and task.request.retries < policy.max_attempts:
            raise task.retry(exc=exc, countdown=policy.backoff(task.request.retries)) from exc
        raise
    if run.outcome is Outcome.RETRY:
        # The row is back to `queued`; if this re-send is lost too, the reaper sends it again.
        raise task.retry(countdown=run.retry_in, max_retries=None)
    return run.outcome.value


@app.task(name=ANALYZE_TASK, bind=True)
def process_audio_file(self: Task, task_id: str) -> str:
    """Analyse the recording of task row ``task_id``; the outcome is written to that row."""
    return _run(self, task_id, analyze_file)


@app.task(name=VAD_TASK, bind=True)
def process_vad_recording(self: Task, task_id: str) -> str:
    """Trim the silence of a browser recording (task row ``task_id``), then analyse it like any upload."""
    return _run(self, task_id, analyze_trimmed_file)


@app.task(name=REDIARIZE_TASK, bind=True)
def rediarize_task(self: Task, task_id: str) -> str:
    """Separate the speakers of task row ``task_id`` again with the options in its row (no transcription)."""
    ctx = get_context()
    policy = JobPolicy.from_settings(ctx.settings)
    return _attempt(
        self,
        policy,
        lambda: run_rediarization(
            task_id, repo=ctx.repo, artifacts=ctx.artifacts, edits=ctx.edits, voices=ctx.voices, policy=policy
        ),
    )


@app.task(name=REAP_TASK)
def reap_tasks() -> dict[str, int]:
    """Re-send tasks the broker lost; recover tasks whose worker died, and messages it held."""
    ctx = get_context()
    s = ctx.settings
    try:
        # First, so that a message put back counts as in the broker below and is not sent twice.
        restored = recover_orphans(app, s.stale_after_seconds)
    except Exception:  # the broker is down: nothing to restore from, the next pass tries again
        log.warning("could not look for messages held by dead workers", exc_info=True)
        restored = 0
    report = reap(
        ctx.repo,
        enqueue=enqueue_job,
        in_broker=task_ids_in_broker(s),
        max_attempts=s.max_attempts,
        stale_after_s=s.stale_after_seconds,
        requeue_after_s=s.requeue_after_seconds,
    )
    return {**report.__dict__, "restored": restored}


@app.task(name=HOUSEKEEPING_TASK)
def housekeeping() -> dict[str, int]:
    """Delete tasks past TASK_RETENTION_DAYS and uploads that no task refers to."""
    ctx = get_context()
    report = clean_up(
        ctx.repo,
        ctx.storage,
        retention_days=ctx.settings.task_retention_days,
        orphan_grace_hours=ctx.settings.orphan_grace_hours,
    )
    return report.__dict__


@worker_ready.connect
def _reap_at_start(**_kwargs: object) -> None:
    # A worker that starts after an outage picks up what was lost without waiting for beat.
    try:
        reap_tasks()
    except Exception:  # never keep a worker from starting
        log.warning("reaper at start-up failed", exc_info=True)
