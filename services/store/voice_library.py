"""The voice library's own side in the database: list, rename, merge, remove a recording, delete.

``services.store.voices_repo.VoiceRepo`` adds what links the library to tasks (matching, naming).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from services.errors import InvalidEdit, VoiceNotFound
from services.results.edits import MAX_NAME_LENGTH, tidy_text
from services.store.db import session_scope
from services.store.models import CONFIRMED, REJECTED, Voice, VoiceEmbedding, VoiceMatch, utcnow
from services.store.task_views import aware
from services.voices import summary
from services.voices.prints import from_bytes


@dataclass(frozen=True)
class VoiceSummary:
    """One voice as the Voices page and ``GET /api/voices`` list it."""

    voice_id: str
    name: str
    recordings: int
    talk_seconds: float
    last_heard: datetime | None


@dataclass(frozen=True)
class Appearance:
    """One recording a voice was confirmed in."""

    task_id: str | None
    """None when the task was deleted since (the voice keeps what it learnt)."""
    speaker_id: str
    filename: str
    talk_seconds: float
    share: float
    heard_at: datetime
    kept: bool
    """Whether its print is still among the voice's exemplars (``services.voices.summary``)."""


def check_voice_name(name: str) -> str:
    """A voice name as stored: tidied, not empty, not too long.

    Raises:
        InvalidEdit: empty or too long.
    """
    name = tidy_text(name)
    if not name:
        raise InvalidEdit("A voice needs a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidEdit(f"A voice name can have at most {MAX_NAME_LENGTH} characters.")
    return name


class VoiceLibraryRepo:
    """Reads and changes the voices themselves."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- the library --

    def list_voices(self) -> list[VoiceSummary]:
        """Every voice, most recently heard first."""
        with session_scope(self.engine) as session:
            rows = session.execute(
                select(
                    Voice.id,
                    Voice.name,
                    func.count(VoiceEmbedding.id),
                    func.sum(VoiceEmbedding.talk_seconds),
                    func.max(VoiceEmbedding.heard_at),
                )
                .outerjoin(VoiceEmbedding, VoiceEmbedding.voice_id == Voice.id)
                .group_by(Voice.id, Voice.name)
            )
            voices = [
                VoiceSummary(vid, name, int(n), float(talk or 0.0), aware(last)) for vid, name, n, talk, last in rows
            ]
        return sorted(voices, key=lambda v: (v.last_heard is None, -(v.last_heard or utcnow()).timestamp(), v.name))

    def require(self, voice_id: str) -> VoiceSummary:
        """One voice.

        Raises:
            VoiceNotFound: no such voice.
        """
        found = next((v for v in self.list_voices() if v.voice_id == voice_id), None)
        if found is None:
            raise VoiceNotFound(f"There is no voice {voice_id!r} (it was deleted, or merged into another).")
        return found

    def appearances(self, voice_id: str) -> list[Appearance]:
        """The recordings ``voice_id`` was confirmed in, oldest first."""
        with session_scope(self.engine) as session:
            rows = session.scalars(
                select(VoiceEmbedding).where(VoiceEmbedding.voice_id == voice_id).order_by(VoiceEmbedding.heard_at)
            )
            return [
                Appearance(
                    r.task_id,
                    r.speaker_id,
                    r.filename,
                    r.talk_seconds,
                    r.share,
                    aware(r.heard_at),
                    r.vector is not None,
                )
                for r in rows
            ]

    def task_ids(self, voice_id: str) -> list[str]:
        """The tasks (still there) in which ``voice_id`` speaks, confirmed or suggested."""
        with session_scope(self.engine) as session:
            confirmed = select(VoiceEmbedding.task_id).where(
                VoiceEmbedding.voice_id == voice_id, VoiceEmbedding.task_id.is_not(None)
            )
            suggested = select(VoiceMatch.task_id).where(VoiceMatch.voice_id == voice_id, VoiceMatch.state != REJECTED)
            return sorted({t for t in session.scalars(confirmed.union(suggested)) if t})

    def rename(self, voice_id: str, name: str) -> str:
        """Give a voice another name (the speakers already named keep theirs). Returns the name stored.

        Raises:
            VoiceNotFound, InvalidEdit.
        """
        name = check_voice_name(name)
        with session_scope(self.engine) as session:
            voice = self._require(session, voice_id)
            voice.name, voice.updated_at = name, utcnow()
        return name

    def merge(self, voice_id: str, into: str) -> None:
        """``voice_id`` is the same person as ``into``: its recordings and links move there, then it is deleted.

        Raises:
            VoiceNotFound: either voice is unknown.
            InvalidEdit: a voice into itself.
        """
        if voice_id == into:
            raise InvalidEdit("A voice cannot be merged into itself.")
        with session_scope(self.engine) as session:
            source, target = self._require(session, voice_id), self._require(session, into)
            for row in session.scalars(select(VoiceEmbedding).where(VoiceEmbedding.voice_id == source.id)):
                row.voice_id = target.id
            for match in session.scalars(select(VoiceMatch).where(VoiceMatch.voice_id == source.id)):
                clash = session.get(VoiceMatch, (match.task_id, match.speaker_id, target.id))
                if clash is None:
                    session.add(
                        VoiceMatch(
                            task_id=match.task_id,
                            speaker_id=match.speaker_id,
                            voice_id=target.id,
                            similarity=match.similarity,
                            state=match.state,
                        )
                    )
            session.flush()
            session.delete(source)
            target.updated_at = utcnow()
            self._bound(session, target.id)

    def remove_recording(self, voice_id: str, task_id: str) -> int:
        """Take one recording out of a voice (its prints and links go). Returns how many speakers it held.

        Raises:
            VoiceNotFound: no such voice.
        """
        with session_scope(self.engine) as session:
            self._require(session, voice_id)
            gone = session.execute(
                delete(VoiceEmbedding).where(VoiceEmbedding.voice_id == voice_id, VoiceEmbedding.task_id == task_id)
            )
            session.execute(
                delete(VoiceMatch).where(
                    VoiceMatch.voice_id == voice_id, VoiceMatch.task_id == task_id, VoiceMatch.state == CONFIRMED
                )
            )
        return int(getattr(gone, "rowcount", 0) or 0)

    def delete(self, voice_id: str) -> None:
        """Delete a voice with its embeddings and links (rows deleted, not hidden). Names given stay.

        Raises:
            VoiceNotFound: no such voice.
        """
        with session_scope(self.engine) as session:
            voice = self._require(session, voice_id)
            session.execute(delete(VoiceEmbedding).where(VoiceEmbedding.voice_id == voice_id))
            session.execute(delete(VoiceMatch).where(VoiceMatch.voice_id == voice_id))
            session.delete(voice)

    def names(self) -> dict[str, str]:
        """Voice id -> name, for choosers."""
        return {v.voice_id: v.name for v in self.list_voices()}

    @staticmethod
    def _require(session: Session, voice_id: str) -> Voice:
        voice = session.get(Voice, voice_id)
        if voice is None:
            raise VoiceNotFound(f"There is no voice {voice_id!r} (it was deleted, or merged into another).")
        return voice

    @staticmethod
    def _by_name(session: Session, name: str) -> Voice | None:
        wanted = tidy_text(name).casefold()
        return next((v for v in session.scalars(select(Voice)) if v.name.casefold() == wanted), None)

    @staticmethod
    def _bound(session: Session, voice_id: str) -> None:
        """Drop exemplars until the voice keeps at most ``summary.MAX_EXEMPLARS`` (their recordings stay listed)."""
        session.flush()
        rows = list(
            session.scalars(
                select(VoiceEmbedding).where(VoiceEmbedding.voice_id == voice_id, VoiceEmbedding.vector.is_not(None))
            )
        )
        while (
            drop := summary.redundant([from_bytes(r.vector or b"") for r in rows], [r.talk_seconds for r in rows])
        ) is not None:
            dropped = rows.pop(drop)
            dropped.vector = dropped.phone_vector = None
