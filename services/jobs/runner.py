"""What a worker does with one task row: claim it, analyse its recording, store the outcome.

Celery delivers a message at least once, so this module makes a repeated or lost delivery
harmless: the claim is atomic, an abandoned task (dead worker, stale heartbeat) can be taken over,
attempts are capped, transient errors are handed back for a retry and bad input fails at once.
``run_job`` does that for any work on a task row; ``run_analysis`` (here) and
``services.jobs.rediarize.run_rediarization`` are the two kinds of work. The Celery task bodies call them
and act on the ``Outcome``; nothing here knows Celery.
"""

from __future__ import annotations

import enum
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from services.analysis.artifacts import Artifacts
from services.analysis.asr.transcribe import Transcriber
from services.analysis.options import AnalysisOptions
from services.analysis.pipeline import BuiltinDiarizer, Diarizer, analyze_file
from services.config import Settings
from services.errors import FastAudioError, OutOfMemory, TaskCancelled, UnsupportedAudio
from services.jobs.heartbeat import Heartbeat
from services.jobs.progress import ProgressWriter
from services.jobs.voice_matching import match_in, prints_of
from services.results.names import labels, names_by_appearance, stored_names
from services.schema import AnalysisResult
from services.storage.files import Storage
from services.store.artifacts_repo import ArtifactRepo
from services.store.edits_repo import EditsRepo
from services.store.models import CANCELLED, PROCESSING, QUEUED, utcnow
from services.store.task_views import TaskView
from services.store.tasks_repo import TaskRepo
from services.store.voices_repo import VoiceRepo

log = logging.getLogger(__name__)

CRASHED = "the worker running it stopped unexpectedly (a crash, or the system ran out of memory)"


def out_of_memory(filename: str) -> str:
    """What a person reads when the analysis of ``filename`` ran out of memory (never retried)."""
    return (
        f"The server ran out of memory analysing {filename}. Trying again would fail the same way: "
        "split the recording, or ask an administrator to give the worker more memory or to lower "
        "MAX_DURATION_MINUTES."
    )


class Outcome(enum.Enum):
    COMPLETED = "completed"
    FAILED = "failed"
    RETRY = "retry"  # handed back to the queue after a transient error
    SKIPPED = "skipped"  # not ours: another live copy runs it, it is already final, or it was deleted
    CANCELLED = "cancelled"  # a person cancelled it while it ran; the analysis stopped, the row is untouched


@dataclass(frozen=True)
class JobPolicy:
    """The reliability knobs (from Settings) that one run needs."""

    max_attempts: int = 3
    retry_backoff_s: float = 5.0
    heartbeat_interval_s: float = 5.0
    stale_after_s: float = 60.0

    def backoff(self, retries_so_far: int) -> float:
        """Seconds to wait before the next try: ``retry_backoff_s``, doubled for each earlier retry."""
        return self.retry_backoff_s * 2**retries_so_far

    @classmethod
    def from_settings(cls, settings: Settings) -> JobPolicy:
        return cls(
            max_attempts=settings.max_attempts,
            retry_backoff_s=settings.retry_backoff_seconds,
            heartbeat_interval_s=settings.heartbeat_interval_seconds,
            stale_after_s=settings.stale_after_seconds,
        )


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    task: TaskView | None = None
    retry_in: float = 0.0


def worker_identity() -> str:
    """``host:pid`` of this process: enough to tell whether a claim's holder is still alive."""
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_local_worker(task: TaskView) -> str | None:
    """The task's worker id when that worker is a process on this machine that no longer exists."""
    if task.status != PROCESSING or not task.worker:
        return None
    host, _, pid = task.worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return task.worker
    except PermissionError:
        return None  # exists, owned by someone else
    return None


def is_transient(exc: BaseException) -> bool:
    """Could the same task succeed if tried again later?"""
    if isinstance(exc, FastAudioError):
        return exc.retryable
    # Not MemoryError: the same recording on the same worker runs out of memory again.
    return isinstance(exc, (OperationalError, ConnectionError, TimeoutError))


def process_stop_behind(exc: BaseException) -> BaseException | None:
    """The ``SystemExit`` or ``KeyboardInterrupt`` an ordinary error was raised from, if any.

    A signal that stops a process raises ``SystemExit`` wherever the process happens to be; inside
    an import or a library call it can come back wrapped (``ImportError: initialization failed``).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if not isinstance(current, Exception):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


AnalyzeFile = Callable[..., AnalysisResult]
"""``analyze_file``'s signature: (path, transcriber, options, on_progress, *, diarizer, on_artifacts) -> result."""

Work = Callable[[TaskView, str, threading.Event], Callable[[], bool]]
"""The work on a claimed task: ``work(task, worker, stop)`` does it and returns the final write
(which returns False when the task is no longer ours). ``stop`` is set when the row stops being
ours (cancelled, deleted, taken over); raising ``TaskCancelled`` then ends the run quietly.
Raising anything else fails or retries the task."""


def run_analysis(
    task_id: str,
    *,
    repo: TaskRepo,
    storage: Storage,
    transcriber: Callable[[], Transcriber],
    diarizer: Callable[[], Diarizer] = BuiltinDiarizer,
    analyze: AnalyzeFile = analyze_file,
    artifacts: ArtifactRepo | None = None,
    edits: EditsRepo | None = None,
    voices: VoiceRepo | None = None,
    policy: JobPolicy = JobPolicy(),
    worker: str | None = None,
    max_seconds: float | None = None,
) -> RunResult:
    """Run one task to a final state, or hand it back for a retry.

    ``transcriber`` and ``diarizer`` are factories so that a model that cannot be loaded fails
    this task (with the reason) instead of the worker. ``analyze`` is the analysis to run on the
    stored file (``analyze_file``, or e.g. ``services.analysis.trim.analyze_trimmed_file``). The file is
    read through ``storage.open_local``, so a worker never assumes it shares the uploader's disk.
    With ``artifacts``, what a later re-run can reuse (``services.analysis.artifacts``) is stored with the
    result, in the same transaction; with ``edits``, the speaker names given at upload
    (``services.results.names``) become the task's names, and with ``voices`` the speakers are matched
    against the voice library (``services.jobs.voice_matching``), in that transaction too. ``max_seconds``
    (MAX_DURATION_MINUTES) bounds the audio decoded, whatever the file's header claimed at upload.

    A task cancelled (or deleted, or taken over) while it runs stops at the next progress report:
    the progress callback raises ``TaskCancelled`` and the outcome is ``CANCELLED`` (or ``SKIPPED``)
    with the row left as the canceller wrote it.
    """

    def work(task: TaskView, worker: str, stop: threading.Event) -> Callable[[], bool]:
        if not task.recording.stored_path or not storage.exists(task.recording.stored_path):
            raise UnsupportedAudio(f"The uploaded file {task.recording.filename} is no longer stored on the server.")
        kept: list[Artifacts] = []
        with storage.open_local(task.recording.stored_path) as local:
            result = analyze(
                local,
                transcriber(),
                AnalysisOptions.from_dict(task.options),
                ProgressWriter(repo, task_id, stop=stop),
                diarizer=diarizer(),
                on_artifacts=kept.append,
                max_seconds=max_seconds,
            )
        files = kept[0].to_files() if kept else {}
        named = labels(names_by_appearance(result, stored_names(task.options)))
        prints = prints_of(result, kept[0] if kept else None) if voices is not None and voices.enabled else ()

        def also(session: Session) -> None:
            if artifacts is not None:
                artifacts.replace_in(session, task_id, files)
            if edits is not None and named:
                edits.name_in(session, task_id, named)
            match_in(session, task_id, prints, voices=voices, edits=edits or EditsRepo(repo.engine))

        return lambda: repo.complete(task_id, result.to_dict(), worker=worker, also=also)

    return run_job(task_id, work, repo=repo, policy=policy, worker=worker)


def run_job(
    task_id: str, work: Work, *, repo: TaskRepo, policy: JobPolicy = JobPolicy(), worker: str | None = None
) -> RunResult:
    """Claim the task, do ``work`` under a heartbeat, and store its outcome (or hand it back for a retry)."""
    worker = worker or worker_identity()
    task = _claim(task_id, repo, policy, worker)
    if not isinstance(task, TaskView):
        return task
    with Heartbeat(repo, task_id, worker, policy.heartbeat_interval_s) as heartbeat:
        try:
            finish = work(task, worker, heartbeat.lost)
        except TaskCancelled:
            return _stopped(task_id, repo)
        except Exception as exc:
            stopping = process_stop_behind(exc)
            if stopping is not None:
                # This process is being stopped (Celery terminates a job whose broker connection
                # was lost; a shutdown) and a library turned the SystemExit into an ordinary error.
                # Not the job's fault: leave the row as a crash leaves it, for the next claim.
                raise stopping from exc
            return _after_error(task, exc, repo, policy, worker)
    if not _store(finish):
        log.warning("task %s finished here but is no longer ours; result dropped", task_id)
        return _stopped(task_id, repo)
    return RunResult(Outcome.COMPLETED, repo.get(task_id))


def _stopped(task_id: str, repo: TaskRepo) -> RunResult:
    """The outcome of a run whose task stopped being ours; the row is left as it is."""
    current = repo.get(task_id)
    if current is not None and current.status == CANCELLED:
        log.info("task %s was cancelled; its analysis stopped", task_id)
        return RunResult(Outcome.CANCELLED, current)
    log.info("task %s is no longer ours (deleted, reset or taken over); its analysis stopped", task_id)
    return RunResult(Outcome.SKIPPED, current)


def _store(write: Callable[[], bool], tries: int = 4) -> bool:
    """A final write, tried again while the database is briefly locked or unreachable.

    Losing a finished analysis to a one-second lock would cost a whole re-run.
    """
    for attempt in range(tries):
        try:
            return write()
        except OperationalError:
            if attempt == tries - 1:
                raise
            log.warning("storing a task's outcome failed; trying again", exc_info=True)
            time.sleep(2**attempt)
    return False


def _claim(task_id: str, repo: TaskRepo, policy: JobPolicy, worker: str) -> TaskView | RunResult:
    current = repo.get(task_id)
    if current is None or current.is_final:
        return RunResult(Outcome.SKIPPED, current)
    stale_before = utcnow() - timedelta(seconds=policy.stale_after_s)
    takeover = dead_local_worker(current)
    abandoned = (
        current.status == QUEUED
        or takeover is not None
        or (current.heartbeat_at is not None and current.heartbeat_at < stale_before)
    )
    if abandoned and current.attempts >= policy.max_attempts:
        reason = current.error or CRASHED
        repo.fail(task_id, f"Gave up after {current.attempts} attempts. The last one failed because {reason}.")
        return RunResult(Outcome.FAILED, repo.get(task_id))
    task = repo.claim(task_id, worker, stale_before=stale_before, takeover=takeover)
    if task is None:
        log.info("task %s is running elsewhere; this copy is skipped", task_id)
        return RunResult(Outcome.SKIPPED, repo.get(task_id))
    return task


def _after_error(task: TaskView, exc: Exception, repo: TaskRepo, policy: JobPolicy, worker: str) -> RunResult:
    if isinstance(exc, MemoryError):
        exc = OutOfMemory(out_of_memory(task.recording.filename))
    if isinstance(exc, FastAudioError) and not exc.retryable:
        log.info("task %s failed: %s", task.id, exc)
        repo.fail(task.id, str(exc), worker=worker)
        return RunResult(Outcome.FAILED, repo.get(task.id))
    if is_transient(exc) and task.attempts < policy.max_attempts:
        reason = f"{type(exc).__name__}: {exc}"
        log.warning("task %s hit a transient error (%s); it will be retried", task.id, reason)
        repo.release(task.id, worker, reason)
        return RunResult(Outcome.RETRY, repo.get(task.id), retry_in=policy.backoff(task.attempts - 1))
    log.exception("task %s failed", task.id, exc_info=exc)
    if is_transient(exc):
        message = f"Gave up after {task.attempts} attempts. The last one failed because {type(exc).__name__}: {exc}."
    else:  # a bug or a broken model: trying again would fail the same way
        message = f"The analysis stopped on an unexpected error ({type(exc).__name__}: {exc})."
    repo.fail(task.id, message, worker=worker)
    return RunResult(Outcome.FAILED, repo.get(task.id))
