"""What a worker does with one task row: claim it, analyse its recording, store the outcome.

The Celery task bodies call ``run_analysis`` and nothing else, so this logic is tested without
Celery. Every failure a user can cause ends as a ``failed`` row with a message a person can act on.
"""

from __future__ import annotations

import logging
from typing import Callable

from services.errors import FastAudioError, UnsupportedAudio
from services.pipeline import AnalysisOptions, BuiltinDiarizer, Diarizer, analyze_file
from services.progress import ProgressWriter
from services.schema import AnalysisResult
from services.storage import Storage
from services.tasks_repo import TaskRepo, TaskView
from services.transcribe import Transcriber

log = logging.getLogger(__name__)

AnalyzeFile = Callable[..., AnalysisResult]
"""``analyze_file``'s signature: (path, transcriber, options, on_progress, *, diarizer) -> result."""


def run_analysis(
    task_id: str,
    *,
    repo: TaskRepo,
    storage: Storage,
    transcriber: Callable[[], Transcriber],
    worker_name: str,
    diarizer: Callable[[], Diarizer] = BuiltinDiarizer,
    analyze: AnalyzeFile = analyze_file,
) -> TaskView | None:
    """Run one queued task to a final state. Returns None when the task is not ours to run.

    ``transcriber`` and ``diarizer`` are factories so that a model that cannot be loaded fails
    this task (with the reason) instead of the worker. ``analyze`` is the analysis to run on the
    stored file (``analyze_file``, or e.g. ``services.vad_trim.analyze_trimmed_file``). The file is
    read through ``storage.open_local``, so a worker never assumes it shares the uploader's disk.
    """
    task = repo.claim(task_id, worker_name)
    if task is None:
        log.info("task %s is not queued (already taken, finished or deleted); skipping", task_id)
        return None
    try:
        if not task.recording.stored_path or not storage.exists(task.recording.stored_path):
            raise UnsupportedAudio(f"The uploaded file {task.recording.filename} is no longer stored on the server.")
        with storage.open_local(task.recording.stored_path) as local:
            result = analyze(
                local,
                transcriber(),
                AnalysisOptions.from_dict(task.options),
                ProgressWriter(repo, task_id),
                diarizer=diarizer(),
            )
    except FastAudioError as exc:
        log.info("task %s failed: %s", task_id, exc)
        repo.fail(task_id, str(exc))
    except Exception as exc:  # a bug or a broken model: record it, keep the worker alive
        log.exception("task %s crashed", task_id)
        repo.fail(task_id, f"The analysis stopped on an unexpected error ({type(exc).__name__}: {exc}).")
    else:
        repo.complete(task_id, result.to_dict())
    return repo.get(task_id)
