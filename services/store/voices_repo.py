"""The voice library in the database: ``voices``, ``voice_embeddings``, ``speaker_prints``, ``voice_matches``.

What a voice is and how it is matched is ``services.voices``; here it is stored. The ``*_in`` methods
write inside a caller's transaction (the completion of an analysis, the naming of a speaker), so a
task's result, names and voice links never disagree. Matching reads every voice's exemplars in one
query (8,000 rows for 1,000 voices) and scores them with numpy (``services.voices.matching``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, false, func, select
from sqlalchemy.orm import Session

from services.errors import InvalidEdit, VoiceNotFound
from services.results.edits import MAX_NAME_LENGTH, tidy_text
from services.store.db import session_scope
from services.store.edits_repo import load_edits
from services.store.models import SpeakerPrint as SpeakerPrintRow
from services.store.models import Voice, VoiceEmbedding, VoiceMatch, utcnow
from services.voices import summary
from services.voices.matching import Library, Match, match_speakers
from services.voices.prints import SpeakerPrint, combined, from_bytes, to_bytes

SUGGESTED, AUTO, CONFIRMED, REJECTED = "suggested", "auto", "confirmed", "rejected"
OPEN = (SUGGESTED, AUTO)
"""States of a suggestion still waiting for an analyst's answer."""


@dataclass(frozen=True)
class VoiceLink:
    """How one speaker of a task relates to a voice: suggested, applied without asking, or confirmed."""

    speaker_id: str
    voice_id: str
    name: str
    similarity: float | None
    state: str

    @property
    def open(self) -> bool:
        return self.state in OPEN


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


@dataclass(frozen=True)
class Heard:
    """What a confirmed recording adds to a voice besides the print."""

    filename: str
    talk_seconds: float
    share: float
    heard_at: datetime


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


class VoiceRepo:
    """Reads and writes the voice library; ``enabled`` is VOICE_LIBRARY, ``auto_name`` VOICE_AUTO_NAME."""

    def __init__(self, engine: Engine, *, enabled: bool = True, auto_name: bool = False) -> None:
        self.engine = engine
        self.enabled = enabled
        self.auto_name = auto_name

    # -- matching (in the transaction that stores a result) --

    def suggest_in(
        self, session: Session, task_id: str, prints: Sequence[SpeakerPrint], *, keep_confirmed: bool = False
    ) -> list[Match]:
        """Store the task's prints and suggest voices for its speakers (older suggestions replaced).

        Rejections of speakers the result still has are kept, so a re-run does not ask again. With
        ``keep_confirmed`` (a split, which keeps the other speakers and their names), confirmed links of
        speakers still there stay, and neither those speakers nor their voices are suggested again.
        """
        if not self.enabled:
            return []
        session.execute(delete(SpeakerPrintRow).where(SpeakerPrintRow.task_id == task_id))
        session.add_all(
            SpeakerPrintRow(task_id=task_id, speaker_id=p.speaker_id, vector=to_bytes(p.vector), seconds=p.seconds)
            for p in prints
        )
        speakers = [p.speaker_id for p in prints]
        kept = (VoiceMatch.state == REJECTED) | (VoiceMatch.state == CONFIRMED if keep_confirmed else false())
        session.execute(
            delete(VoiceMatch).where(VoiceMatch.task_id == task_id, ~kept | VoiceMatch.speaker_id.not_in(speakers))
        )
        left = list(session.execute(select(VoiceMatch.speaker_id, VoiceMatch.voice_id, VoiceMatch.state).where(
            VoiceMatch.task_id == task_id
        )))  # fmt: skip
        linked = {(s, v) for s, v, state in left if state == CONFIRMED}
        refused = [(s, v) for s, v, _state in left]
        refused += [(p.speaker_id, v) for p in prints for _s, v in linked]  # a linked voice is not suggested again
        open_prints = [p for p in prints if p.speaker_id not in {s for s, _v in linked}]
        matches = match_speakers(open_prints, self.library(session), rejected=refused)
        session.add_all(
            VoiceMatch(
                task_id=task_id,
                speaker_id=m.speaker_id,
                voice_id=m.voice_id,
                similarity=m.similarity,
                state=AUTO if m.auto and self.auto_name else SUGGESTED,
            )
            for m in matches
        )
        return matches

    @staticmethod
    def library(session: Session) -> Library:
        """Every voice's kept exemplars."""
        rows = session.execute(
            select(Voice.id, Voice.name, VoiceEmbedding.vector)
            .join(VoiceEmbedding, VoiceEmbedding.voice_id == Voice.id)
            .where(VoiceEmbedding.vector.is_not(None))
        )
        return Library.of((vid, name, from_bytes(vector)) for vid, name, vector in rows)

    # -- one task's speakers --

    def links(self, task_id: str) -> dict[str, VoiceLink]:
        """Speaker id -> its open suggestion or confirmed voice (rejections left out)."""
        with session_scope(self.engine) as session:
            return self.links_in(session, task_id)

    @staticmethod
    def links_in(session: Session, task_id: str) -> dict[str, VoiceLink]:
        rows = session.execute(
            select(VoiceMatch.speaker_id, VoiceMatch.voice_id, Voice.name, VoiceMatch.similarity, VoiceMatch.state)
            .join(Voice, Voice.id == VoiceMatch.voice_id)
            .where(VoiceMatch.task_id == task_id, VoiceMatch.state != REJECTED)
        )
        return {r[0]: VoiceLink(*r) for r in rows}

    def prints_in(self, session: Session, task_id: str) -> dict[str, SpeakerPrint]:
        """The task's speakers' prints as analysts see them (merged speakers averaged)."""
        rows = session.execute(
            select(SpeakerPrintRow.speaker_id, SpeakerPrintRow.vector, SpeakerPrintRow.seconds).where(
                SpeakerPrintRow.task_id == task_id
            )
        )
        prints = [SpeakerPrint(sid, from_bytes(vector), seconds) for sid, vector, seconds in rows]
        edits = load_edits(session, task_id)
        return combined(prints, edits.resolve)

    def link_in(
        self, session: Session, task_id: str, speaker_id: str, name: str, heard: Heard, *, voice_id: str | None = None
    ) -> str | None:
        """Remember ``speaker_id`` of the task as the voice ``voice_id`` (or the voice called ``name``, or a new one).

        The speaker's print joins the voice's exemplars (bounded, ``services.voices.summary``). Returns the
        voice id; None when the library is off or the speaker has no print (too little speech).
        """
        if not self.enabled:
            return None
        found = self.prints_in(session, task_id).get(speaker_id)
        if found is None:
            return None
        self.unlink_in(session, task_id, speaker_id)
        voice = session.get(Voice, voice_id) if voice_id else self._by_name(session, name)
        if voice is None:
            voice = Voice(id=str(uuid.uuid4()), name=check_voice_name(name), created_at=utcnow())
            session.add(voice)
        voice.updated_at = utcnow()
        session.add(
            VoiceEmbedding(
                voice_id=voice.id,
                task_id=task_id,
                speaker_id=speaker_id,
                filename=heard.filename[:255],
                vector=to_bytes(found.vector),
                talk_seconds=heard.talk_seconds,
                share=heard.share,
                heard_at=heard.heard_at,
            )
        )
        # One voice per speaker of a recording: other suggestions of this voice, or for this speaker, go.
        session.execute(
            delete(VoiceMatch).where(
                VoiceMatch.task_id == task_id,
                VoiceMatch.state != REJECTED,
                (VoiceMatch.voice_id == voice.id) | (VoiceMatch.speaker_id == speaker_id),
            )
        )
        session.flush()
        session.add(VoiceMatch(task_id=task_id, speaker_id=speaker_id, voice_id=voice.id, state=CONFIRMED))
        self._bound(session, voice.id)
        return voice.id

    @staticmethod
    def unlink_in(session: Session, task_id: str, speaker_id: str) -> None:
        """``speaker_id`` of the task is no voice's any more: its link and what it added to a voice go."""
        session.execute(
            delete(VoiceEmbedding).where(VoiceEmbedding.task_id == task_id, VoiceEmbedding.speaker_id == speaker_id)
        )
        session.execute(
            delete(VoiceMatch).where(
                VoiceMatch.task_id == task_id, VoiceMatch.speaker_id == speaker_id, VoiceMatch.state != REJECTED
            )
        )

    @staticmethod
    def reject_in(session: Session, task_id: str, speaker_id: str) -> VoiceLink | None:
        """Turn down the open suggestion for ``speaker_id`` (remembered for this task). Returns it, or None."""
        row = session.scalars(
            select(VoiceMatch).where(
                VoiceMatch.task_id == task_id, VoiceMatch.speaker_id == speaker_id, VoiceMatch.state.in_(OPEN)
            )
        ).first()
        if row is None:
            return None
        voice = session.get(Voice, row.voice_id)
        link = VoiceLink(speaker_id, row.voice_id, voice.name if voice else "", row.similarity, row.state)
        row.state = REJECTED
        return link

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
            voices = [VoiceSummary(vid, name, int(n), float(talk or 0.0), last) for vid, name, n, talk, last in rows]
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
                    r.task_id, r.speaker_id, r.filename, r.talk_seconds, r.share, r.heard_at, r.vector is not None
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
            ).rowcount
            session.execute(
                delete(VoiceMatch).where(
                    VoiceMatch.voice_id == voice_id, VoiceMatch.task_id == task_id, VoiceMatch.state == CONFIRMED
                )
            )
        return int(gone or 0)

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
            rows.pop(drop).vector = None
