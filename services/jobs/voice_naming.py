"""Naming a speaker with the voice library: remember the voice, confirm or turn down a suggestion.

Each is one transaction over the task's names (``services.store.edits_repo``) and the library
(``services.store.voices_repo``), so the name a page shows and the voice it is linked to never disagree.
No embeddings are computed here: the speakers' prints were stored when the task completed.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.errors import InvalidEdit, RerunNotPossible, VoiceLibraryOff
from services.results.edits import apply_edits, known_speakers
from services.schema import AnalysisResult
from services.store.db import session_scope
from services.store.edits_repo import EditsRepo, load_edits
from services.store.models import COMPLETED
from services.store.tasks_repo import TaskRepo
from services.store.voices_repo import Heard, VoiceLink, VoiceRepo

NO_PRINT = (
    "{speaker} is now called {name}. The voice is not remembered: {speaker} speaks too little in this recording "
    "(a few seconds of speech are needed)."
)


@dataclass(frozen=True)
class Named:
    """What naming a speaker did, for a person."""

    name: str | None
    voice_id: str | None
    message: str


def name_speaker(
    task_id: str, speaker_id: str, name: str | None, *, remember: bool, repo: TaskRepo, edits: EditsRepo,
    voices: VoiceRepo, voice_id: str | None = None,
) -> Named:  # fmt: skip
    """Name ``speaker_id`` of a completed task; with ``remember`` (and the library on) make or strengthen a voice.

    The voice is ``voice_id`` when given (a confirmed suggestion), else the voice of that name, else a new one.
    A speaker renamed to something else is no longer the voice it was linked to.

    Raises:
        TaskNotFound, RerunNotPossible (not completed), InvalidEdit (unknown speaker, name too long).
    """
    task = repo.require(task_id)
    if task.status != COMPLETED or task.result is None:
        raise RerunNotPossible(f"Only a finished analysis has speakers to name; this task is {task.status}.")
    machine = AnalysisResult.from_dict(task.result)
    with session_scope(repo.engine) as session:
        current = load_edits(session, task_id)
        if speaker_id not in known_speakers(machine, current):
            raise InvalidEdit(f"There is no speaker {speaker_id} in this result.")
        stored = edits.rename_in(session, task_id, speaker_id, name)
        link = voices.links_in(session, task_id).get(speaker_id) if voices.enabled else None
        if link is not None and (stored is None or link.name.casefold() != stored.casefold() or not remember):
            if link.state != "confirmed":
                voices.reject_in(session, task_id, speaker_id)  # named otherwise: the suggestion was wrong
            else:
                voices.unlink_in(session, task_id, speaker_id)
        if not remember or stored is None or not voices.enabled:
            said = f"{speaker_id} is now called {stored}." if stored else f"{speaker_id} has no name now."
            return Named(stored, None, said)
        edited = apply_edits(machine, load_edits(session, task_id))
        talk = {s.id: s.talk_time for s in edited.speakers}
        seconds = talk.get(speaker_id, 0.0)
        heard = Heard(task.recording.filename, seconds, seconds / max(sum(talk.values()), 1e-9), task.created_at)
        linked = voices.link_in(session, task_id, speaker_id, stored, heard, voice_id=voice_id)
    if linked is None:
        return Named(stored, None, NO_PRINT.format(speaker=speaker_id, name=stored))
    return Named(stored, linked, f"{speaker_id} is now called {stored}. The voice is remembered (Voices page).")


def confirm_voice(task_id: str, speaker_id: str, *, repo: TaskRepo, edits: EditsRepo, voices: VoiceRepo) -> Named:
    """The suggestion for ``speaker_id`` is right: the voice's name becomes the speaker's, and the voice learns.

    Raises:
        VoiceLibraryOff, TaskNotFound, InvalidEdit (no open suggestion for that speaker).
    """
    link = _open(task_id, speaker_id, voices)
    return name_speaker(
        task_id, speaker_id, link.name, remember=True, repo=repo, edits=edits, voices=voices, voice_id=link.voice_id
    )


def reject_voice(task_id: str, speaker_id: str, *, repo: TaskRepo, edits: EditsRepo, voices: VoiceRepo) -> VoiceLink:
    """The suggestion for ``speaker_id`` is wrong: never suggested for it again in this task.

    A name the suggestion had applied (VOICE_AUTO_NAME) is taken back.

    Raises:
        VoiceLibraryOff, TaskNotFound, InvalidEdit (no open suggestion for that speaker).
    """
    link = _open(task_id, speaker_id, voices)
    with session_scope(repo.engine) as session:
        voices.reject_in(session, task_id, speaker_id)
        if link.state == "auto" and load_edits(session, task_id).names().get(speaker_id) == link.name:
            edits.rename_in(session, task_id, speaker_id, None)
    return link


def _open(task_id: str, speaker_id: str, voices: VoiceRepo) -> VoiceLink:
    if not voices.enabled:
        raise VoiceLibraryOff("The voice library is switched off (VOICE_LIBRARY=false).")
    link = voices.links(task_id).get(speaker_id)
    if link is None or not link.open:
        raise InvalidEdit(f"No voice is suggested for {speaker_id} in this task (any more).")
    return link
