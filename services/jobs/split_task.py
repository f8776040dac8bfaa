"""Splitting a speaker of a stored task: read its result, embeddings and corrections, store the split.

The split itself is ``services.results.split.split_speaker`` (pure, milliseconds: no audio, no recogniser, no
queue). Here it runs on a task row and its stored artifacts, and the new machine result and the
corrections that still apply replace the old ones in one transaction, which also re-indexes the
transcript for search. The write only happens when the task is still completed with the very result
the split started from, so a re-run or another split that finished in the meantime is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.analysis.artifacts import Artifacts
from services.errors import RerunNotPossible
from services.jobs.rediarize import NO_EMBEDDINGS
from services.jobs.voice_matching import match_in, prints_of
from services.results import speaker_count
from services.results.split import Split, split_speaker
from services.schema import AnalysisResult
from services.store.artifacts_repo import ArtifactRepo
from services.store.db import session_scope
from services.store.edits_repo import EditsRepo, reindex
from services.store.models import COMPLETED, ProcessingTask, TaskEvent, utcnow
from services.store.tasks_repo import TaskRepo
from services.store.voices_repo import VoiceRepo
from services.voices.prints import SpeakerPrint

CHANGED = "The task changed in the meantime (a re-run or another split finished); reload the page and try again."


@dataclass(frozen=True)
class SplitDone:
    """A stored split and what to tell the person who asked for it."""

    split: Split
    message: str


def split_task(
    task_id: str,
    speaker_id: str,
    into: int,
    *,
    repo: TaskRepo,
    artifacts: ArtifactRepo,
    edits: EditsRepo,
    voices: VoiceRepo | None = None,
) -> SplitDone:
    """Split ``speaker_id`` of completed task ``task_id`` into ``into`` speakers and store the result.

    Raises:
        TaskNotFound: no such task.
        RerunNotPossible: the task is not completed, its voice embeddings were not saved, or it
            changed while the split was computed.
        InvalidEdit: the speaker cannot be split that way (``services.results.split.split_speaker``).
    """
    task = repo.require(task_id)
    if task.status != COMPLETED or task.result is None:
        raise RerunNotPossible(f"Only a finished analysis can have a speaker split; this task is {task.status}.")
    stored = Artifacts.from_files(artifacts.load(task_id))
    if stored.embeddings is None:
        raise RerunNotPossible(NO_EMBEDDINGS)
    machine = AnalysisResult.from_dict(task.result)
    split = split_speaker(machine, stored.embeddings, edits.load(task_id), speaker_id, into, time_base=stored.time_base)
    prints = prints_of(split.result, stored) if voices is not None and voices.enabled else ()
    detail = f"{speaker_id} into {', '.join(split.parts)}"
    _store(repo.engine, edits, task_id, task.result, split, detail, lambda s: _match(s, task_id, prints, voices, edits))
    lost = f" {split.dropped} correction(s) of segments that were cut up no longer apply." if split.dropped else ""
    return SplitDone(split, f"{speaker_id} is now {len(split.parts)} speakers: {', '.join(split.parts)}.{lost}")


def _match(
    session: Session, task_id: str, prints: tuple[SpeakerPrint, ...], voices: VoiceRepo | None, edits: EditsRepo
) -> None:
    # The speakers the split left alone keep their confirmed voices; the parts are matched afresh.
    match_in(session, task_id, prints, voices=voices, edits=edits, keep_confirmed=True)


def _store(
    engine: Engine,
    edits: EditsRepo,
    task_id: str,
    expected: dict[str, Any],
    split: Split,
    detail: str,
    also: Callable[[Session], None],
) -> None:
    with session_scope(engine) as session:
        row = session.get(ProcessingTask, task_id, with_for_update=True)
        if row is None or row.status != COMPLETED or row.result != expected:
            raise RerunNotPossible(CHANGED)
        result = split.result.to_dict()
        result.pop(speaker_count.KEY, None)  # the analyst has decided the count: the analysis's doubt is past
        row.result, row.num_speakers = result, len(result["speakers"])
        edits.replace_in(session, task_id, split.edits)
        also(session)
        reindex(session, task_id)
        session.add(TaskEvent(task_id=task_id, event="split", detail=detail[:255], at=utcnow()))
