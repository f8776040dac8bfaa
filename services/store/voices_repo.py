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

from sqlalchemy import Engine, delete, false, select
from sqlalchemy.orm import Session

from services.store.db import session_scope
from services.store.edits_repo import load_edits
from services.store.models import AUTO, CONFIRMED, OPEN, REJECTED, SUGGESTED, Voice, VoiceEmbedding, VoiceMatch, utcnow
from services.store.models import SpeakerPrint as SpeakerPrintRow
from services.store.voice_library import VoiceLibraryRepo, check_voice_name
from services.voices.matching import Library, Match, match_speakers
from services.voices.prints import SpeakerPrint, combined, from_bytes, to_bytes


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
class Heard:
    """What a confirmed recording adds to a voice besides the print."""

    filename: str
    talk_seconds: float
    share: float
    heard_at: datetime


class VoiceRepo(VoiceLibraryRepo):
    """The voice library and each task's links to it; ``enabled`` is VOICE_LIBRARY, ``auto_name`` VOICE_AUTO_NAME."""

    def __init__(self, engine: Engine, *, enabled: bool = True, auto_name: bool = False) -> None:
        super().__init__(engine)
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
            SpeakerPrintRow(
                task_id=task_id,
                speaker_id=p.speaker_id,
                vector=to_bytes(p.vector),
                phone_vector=None if p.phone is None else to_bytes(p.phone),
                seconds=p.seconds,
            )
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
        size = len(prints[0].vector) if prints else 0
        matches = match_speakers(open_prints, self.library(session, size), rejected=refused)
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
    def library(session: Session, size: int | None = None) -> Library:
        """Every voice's kept exemplars: each plain print, and its telephone print where there is one.

        ``size``: only exemplars of this many values (made by the same voice model as the prints they meet;
        a library learnt with resemblyzer says nothing about a recording embedded by another model).
        """
        rows = session.execute(
            select(Voice.id, Voice.name, VoiceEmbedding.vector, VoiceEmbedding.phone_vector)
            .join(VoiceEmbedding, VoiceEmbedding.voice_id == Voice.id)
            .where(VoiceEmbedding.vector.is_not(None))
        )
        return Library.of(
            (vid, name, from_bytes(vector or b""), None if phone is None else from_bytes(phone))
            for vid, name, vector, phone in rows
            if size is None or len(vector or b"") == size * 4
        )

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
            select(
                SpeakerPrintRow.speaker_id,
                SpeakerPrintRow.vector,
                SpeakerPrintRow.seconds,
                SpeakerPrintRow.phone_vector,
            ).where(SpeakerPrintRow.task_id == task_id)
        )
        prints = [
            SpeakerPrint(sid, from_bytes(vector), seconds, phone=None if phone is None else from_bytes(phone))
            for sid, vector, seconds, phone in rows
        ]
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
                phone_vector=None if found.phone is None else to_bytes(found.phone),
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
