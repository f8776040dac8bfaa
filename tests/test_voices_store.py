"""The voice library's store on SQLite and PostgreSQL: matching, naming, History and search by voice, deletion.

The voiceprints are real: dev00.wav and dev01.wav (one meeting, the same two people) embedded and separated
by the built-in diarizer (no speech recogniser: their segments are the diarizer's turns, numbered).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select, text

from services.analysis.artifacts import Artifacts
from services.analysis.options import AnalysisOptions
from services.analysis.pipeline import BuiltinDiarizer, assemble
from services.jobs.voice_matching import prints_of
from services.jobs.voice_naming import confirm_voice, name_speaker
from services.schema import AnalysisResult, Transcript
from services.store.db import create_db_engine, migrate, session_scope
from services.store.edits_repo import EditsRepo
from services.store.models import SpeakerPrint, VoiceEmbedding, VoiceMatch
from services.store.task_query import TaskFilter
from services.store.tasks_repo import TaskRepo
from services.store.voices_repo import VoiceRepo
from services.voices.matching import SUGGEST_THRESHOLD
from services.voices.prints import SpeakerPrint as VoicePrint
from tests.helpers import decode_reference
from tests.postgres import temporary_database


@pytest.fixture(scope="module")
def analyses() -> dict[str, tuple[dict[str, Any], Artifacts]]:
    """dev00 and dev01: a result (segments = the diarizer's turns) and the embeddings, as a worker keeps them."""
    from services.analysis.diarization.diarize import embed_speech

    out = {}
    for name in ("dev00.wav", "dev01.wav"):
        emb = embed_speech(decode_reference(name))
        turns = BuiltinDiarizer().assign(emb, AnalysisOptions().speaker_options(), words=())
        result = assemble(Transcript("en", (), emb.duration), turns, duration=emb.duration, diarization="builtin")
        data = result.to_dict()
        data["segments"] = [
            {"start": t.start, "end": t.end, "speaker": t.speaker, "text": f"turn {i}", "words": []}
            for i, t in enumerate(result.turns)
        ]
        out[name] = (data, Artifacts(Transcript("en", (), emb.duration), emb))
    return out


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with temporary_database() as url:
        migrate(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TaskRepo, EditsRepo, VoiceRepo]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'voices.db'}"
        migrate(url)
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_db_engine(url)
    yield TaskRepo(engine), EditsRepo(engine), VoiceRepo(engine)
    with engine.begin() as conn:  # the PostgreSQL database is shared by the module's tests
        for table in ("voices", "processing_tasks", "recordings"):
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


def _complete(repo: TaskRepo, voices: VoiceRepo, name: str, analysis: tuple[dict[str, Any], Artifacts]) -> str:
    """A completed task whose speakers were matched in the completing transaction, as the worker does it."""
    result, artifacts = analysis
    task = repo.create(filename=name, stored_path=None, size_bytes=1, duration=30.0)
    repo.claim(task.id, "test", stale_before=task.created_at)
    prints = prints_of(AnalysisResult.from_dict(result), artifacts)
    assert repo.complete(task.id, result, also=lambda session: voices.suggest_in(session, task.id, prints))
    return task.id


def _rows(repo: TaskRepo, table, **where: str) -> int:  # type: ignore[no-untyped-def]
    with session_scope(repo.engine) as session:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(getattr(table, column) == value)
        return int(session.scalar(query) or 0)


def test_a_named_voice_is_suggested_confirmed_found_and_deleted(
    stores: tuple[TaskRepo, EditsRepo, VoiceRepo], analyses: dict[str, tuple[dict[str, Any], Artifacts]]
) -> None:
    repo, edits, voices = stores
    first = _complete(repo, voices, "dev00.wav", analyses["dev00.wav"])
    assert _rows(repo, SpeakerPrint, task_id=first) == 2 and voices.links(first) == {}
    alice = name_speaker(first, "SPEAKER_00", "Alice", remember=True, repo=repo, edits=edits, voices=voices).voice_id
    assert alice is not None

    later = _complete(repo, voices, "dev01.wav", analyses["dev01.wav"])
    ((speaker, link),) = voices.links(later).items()
    assert (link.voice_id, link.name, link.state) == (alice, "Alice", "suggested")
    assert link.similarity is not None and link.similarity >= SUGGEST_THRESHOLD
    confirm_voice(later, speaker, repo=repo, edits=edits, voices=voices)
    assert edits.load(later).names() == {speaker: "Alice"}
    assert [(v.name, v.recordings) for v in voices.list_voices()] == [("Alice", 2)]

    assert {t.id for t in repo.list_tasks(filters=TaskFilter(voice_id=alice))} == {first, later}
    hers = repo.search("turn", filters=TaskFilter(voice_id=alice), limit=500)
    everyone = repo.search("turn", limit=500)
    assert 0 < hers.total < everyone.total
    assert {h.speaker for h in hers.hits} == {"Alice"}

    voices.delete(alice)
    assert _rows(repo, VoiceEmbedding) == 0 and _rows(repo, VoiceMatch) == 0
    assert repo.list_tasks(filters=TaskFilter(voice_id=alice)) == []
    assert edits.load(later).names() == {speaker: "Alice"}  # names given stay


def test_a_deleted_task_leaves_what_the_voice_learnt(
    stores: tuple[TaskRepo, EditsRepo, VoiceRepo], analyses: dict[str, tuple[dict[str, Any], Artifacts]]
) -> None:
    repo, edits, voices = stores
    first = _complete(repo, voices, "dev00.wav", analyses["dev00.wav"])
    alice = name_speaker(first, "SPEAKER_00", "Alice", remember=True, repo=repo, edits=edits, voices=voices).voice_id
    assert alice is not None
    assert repo.delete(first) is not None
    (kept,) = voices.appearances(alice)
    assert (kept.task_id, kept.filename, kept.kept) == (None, "dev00.wav", True)
    assert _rows(repo, SpeakerPrint) == 0
    later = _complete(repo, voices, "dev01.wav", analyses["dev01.wav"])
    assert [link.name for link in voices.links(later).values()] == ["Alice"]  # still recognised


def test_prints_of_another_voice_model_meet_no_voice(
    stores: tuple[TaskRepo, EditsRepo, VoiceRepo], analyses: dict[str, tuple[dict[str, Any], Artifacts]]
) -> None:
    repo, edits, voices = stores
    first = _complete(repo, voices, "dev00.wav", analyses["dev00.wav"])
    name_speaker(first, "SPEAKER_00", "Alice", remember=True, repo=repo, edits=edits, voices=voices)
    # SPEAKER_EMBEDDING_MODEL changed since: a 192-value print (e.g. CAM++) against resemblyzer's 256
    other = VoicePrint("SPEAKER_00", np.ones(192, dtype=np.float32) / np.sqrt(192), 20.0)
    with session_scope(repo.engine) as session:
        assert voices.suggest_in(session, first, [other]) == []
