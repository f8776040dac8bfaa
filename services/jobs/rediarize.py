"""Re-run the speaker separation of a finished analysis without transcribing it again.

The first analysis stored its transcript and voice embeddings (``services.analysis.artifacts``); a re-run
clusters those embeddings again with other speaker options (a few milliseconds for minutes of
audio), assigns the transcript's words to the new speakers and maps times back to the original
recording when its silence had been cut. Neither the audio nor the speech recogniser is touched.

``rediarize`` is the pure step; ``run_rediarization`` is the job a worker runs on a task row
(claim, heartbeat, retries: ``services.jobs.runner.run_job``). It replaces the machine's result and keeps
the analyst's corrections that still apply (``services.results.edits.carry_over``), in one transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.orm import Session

from services.analysis.artifacts import Artifacts
from services.analysis.options import AnalysisOptions
from services.analysis.pipeline import BuiltinDiarizer, ReclusteringDiarizer, assemble
from services.analysis.trim import map_result
from services.errors import RerunNotPossible
from services.jobs.progress import ProgressWriter
from services.jobs.runner import JobPolicy, RunResult, run_job
from services.jobs.voice_matching import match_in, prints_of
from services.results.edits import Edits, carry_over
from services.results.names import reapplied, stored_names
from services.schema import AnalysisResult
from services.store.artifacts_repo import ArtifactRepo
from services.store.edits_repo import EditsRepo
from services.store.task_views import TaskView
from services.store.tasks_repo import TaskRepo
from services.store.voices_repo import VoiceRepo

NO_EMBEDDINGS = (
    "The voice embeddings of this analysis were not saved (it was made before re-runs were possible, "
    "or by a diarizer that has none), so the speakers cannot be separated again without starting over."
)


def rediarize(
    artifacts: Artifacts,
    options: AnalysisOptions,
    *,
    diarizer: ReclusteringDiarizer | None = None,
    timings: dict[str, float] | None = None,
) -> AnalysisResult:
    """A new result from the stored transcript and embeddings, with speakers separated per ``options``.

    Args:
        diarizer: what clusters the embeddings (the built-in diarizer, which computed them, by default).
        timings: the first analysis's timings; the answer keeps them and adds ``rediarize``.

    Raises:
        RerunNotPossible: the artifacts hold no voice embeddings.
    """
    if artifacts.embeddings is None:
        raise RerunNotPossible(NO_EMBEDDINGS)
    diarizer = diarizer or BuiltinDiarizer()
    started = time.perf_counter()
    transcript = artifacts.transcript
    turns = diarizer.assign(artifacts.embeddings, options.speaker_options(), words=transcript.words)
    result = assemble(transcript, turns, duration=artifacts.embeddings.duration, diarization=diarizer.name)
    if artifacts.time_base is not None:
        tb = artifacts.time_base
        result = map_result(result, tb.spans, tb.original_duration, edge=tb.edge)
    return replace(result, timings={**(timings or {}), "rediarize": time.perf_counter() - started})


def run_rediarization(
    task_id: str,
    *,
    repo: TaskRepo,
    artifacts: ArtifactRepo,
    edits: EditsRepo,
    voices: VoiceRepo | None = None,
    policy: JobPolicy = JobPolicy(),
    worker: str | None = None,
) -> RunResult:
    """Re-run the speaker separation of task ``task_id`` with the options in its row.

    The row goes ``queued`` -> ``processing`` (stage ``diarize``) -> ``completed`` with the new
    result; names, merges and speaker changes are dropped, text corrections of unchanged segments kept.
    Speaker names given at upload are given again, by first appearance among the new speakers,
    unless the analyst has renamed a speaker since (``services.results.names.reapplied``).
    With ``voices``, the new speakers are matched against the voice library again
    (``services.jobs.voice_matching``); rejections of speaker ids that remain are kept.
    """

    def work(task: TaskView, worker: str, stop: threading.Event) -> Callable[[], bool]:
        ProgressWriter(repo, task_id, stop=stop)("diarize", 0.0)
        stored = Artifacts.from_files(artifacts.load(task_id))
        previous = AnalysisResult.from_dict(task.result) if task.result else None
        options = AnalysisOptions.from_dict(task.options)
        result = rediarize(stored, options, timings=previous.timings if previous else None)
        current = edits.load(task_id)
        kept = carry_over(previous, result, current) if previous else Edits()
        if previous is not None:
            kept = replace(kept, labels=reapplied(previous, result, stored_names(task.options), current))
        prints = prints_of(result, stored) if voices is not None and voices.enabled else ()

        def also(session: Session) -> None:
            edits.replace_in(session, task_id, kept)
            match_in(session, task_id, prints, voices=voices, edits=edits)

        return lambda: repo.complete(task_id, result.to_dict(), worker=worker, also=also)

    return run_job(task_id, work, repo=repo, policy=policy, worker=worker)
