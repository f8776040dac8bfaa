"""Celery task bodies: thin wrappers over ``services.jobs``."""

from __future__ import annotations

from functools import lru_cache

from services.context import get_context
from services.jobs import run_analysis
from services.engines import make_diarizer, make_transcriber
from services.pipeline import Diarizer
from services.transcribe import Transcriber
from services.trim import analyze_trimmed_file
from worker.celery_app import ANALYZE_TASK, VAD_TASK, app


@lru_cache(maxsize=1)
def _transcriber() -> Transcriber:
    # One model per worker process, loaded by the first task and reused by every later one.
    return make_transcriber(get_context().settings)


@lru_cache(maxsize=1)
def _diarizer() -> Diarizer:
    return make_diarizer(get_context().settings)


@app.task(name=ANALYZE_TASK, bind=True)
def process_audio_file(self, task_id: str) -> str:  # type: ignore[no-untyped-def]
    """Analyse the recording of task row ``task_id``; the outcome is written to that row."""
    ctx = get_context()
    task = run_analysis(
        task_id, repo=ctx.repo, storage=ctx.storage, transcriber=_transcriber, diarizer=_diarizer, worker_name=self.request.hostname or "worker"
    )
    return task.status if task else "skipped"


@app.task(name=VAD_TASK, bind=True)
def process_vad_recording(self, task_id: str) -> str:  # type: ignore[no-untyped-def]
    """Trim the silence of a browser recording (task row ``task_id``), then analyse it like any upload."""
    ctx = get_context()
    task = run_analysis(
        task_id, repo=ctx.repo, storage=ctx.storage, transcriber=_transcriber, diarizer=_diarizer,
        worker_name=self.request.hostname or "worker", analyze=analyze_trimmed_file,
    )  # fmt: skip
    return task.status if task else "skipped"
