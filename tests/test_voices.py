"""The voice library on real audio: name a person once, recognise them in a later recording.

dev00.wav and dev01.wav are two excerpts of one AMI meeting (the same two people, MEE009 and MEE012);
jfk.flac and sample.wav are other people. Analyses run through the worker's own job (in-process, or the
session's real Celery worker for an upload), on the session's real SQLite database.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from services.analysis.artifacts import Artifacts
from services.analysis.options import AnalysisOptions
from services.jobs.rediarize import run_rediarization
from services.jobs.reruns import request_rediarization
from services.jobs.voice_matching import prints_of
from services.jobs.voice_naming import name_speaker, reject_voice
from services.runtime.context import AppContext
from services.schema import AnalysisResult
from services.store.db import session_scope
from services.store.models import SpeakerPrint, Voice, VoiceEmbedding, VoiceMatch
from services.store.voices_repo import VoiceRepo
from services.voices.matching import AUTO_THRESHOLD, SUGGEST_THRESHOLD
from tests.media import telephone_copy
from tests.tasks import RECURRING_SPEAKER, analysed_with_voices


@pytest.fixture(scope="module")
def client(ctx: AppContext) -> TestClient:
    return TestClient(create_app(ctx), base_url="http://localhost")


@pytest.fixture()
def library(ctx: AppContext) -> VoiceRepo:
    """An empty voice library for the test (voices of earlier tests deleted)."""
    for voice in ctx.voices.list_voices():
        ctx.voices.delete(voice.voice_id)
    return ctx.voices


@pytest.fixture(scope="module")
def meeting(ctx: AppContext, data: Path, transcriber) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """dev00 and dev01 analysed (the library empty at the time, so no suggestions yet)."""
    for voice in ctx.voices.list_voices():
        ctx.voices.delete(voice.voice_id)
    return analysed_with_voices(ctx, data, transcriber, "dev00.wav"), analysed_with_voices(
        ctx, data, transcriber, "dev01.wav"
    )


def _speakers(client: TestClient, task_id: str, which: str = "edited_result") -> dict[str, dict]:  # type: ignore[type-arg]
    body = client.get(f"/api/tasks/{task_id}").json()
    return {s["id"]: s for s in body[which]["speakers"]}


def _count(ctx: AppContext, table, **where: str) -> int:  # type: ignore[no-untyped-def]
    with session_scope(ctx.repo.engine) as session:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(getattr(table, column) == value)
        return int(session.scalar(query) or 0)


def _poll(client: TestClient, task_id: str, timeout: float = 300) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.get(f"/api/tasks/{task_id}").json()
        if task["status"] in ("completed", "failed"):
            return task
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} not final after {timeout} s")


def test_an_analysis_keeps_each_speakers_print(ctx: AppContext, meeting: tuple[str, str]) -> None:
    for task_id in meeting:
        assert _count(ctx, SpeakerPrint, task_id=task_id) == len(ctx.repo.require(task_id).result["speakers"]) == 2


def test_name_once_then_the_next_recording_is_suggested_and_confirmed(
    client: TestClient, ctx: AppContext, library: VoiceRepo, data: Path, meeting: tuple[str, str], worker
) -> None:  # type: ignore[no-untyped-def]
    first, _ = meeting
    answer = client.put(f"/api/tasks/{first}/speakers/{RECURRING_SPEAKER}", json={"name": "Alice", "remember": True})
    assert answer.status_code == 200, answer.text
    named = answer.json()
    assert (
        named["name"] == "Alice"
        and named["voice_id"]
        and named["message"] == f"{RECURRING_SPEAKER} is now called Alice. The voice is remembered (Voices page)."
    )
    alice = named["voice_id"]
    (row,) = [s for s in named["task"]["edited_result"]["speakers"] if s["id"] == RECURRING_SPEAKER]
    assert row | {"talk_time": 0} == {
        "id": RECURRING_SPEAKER, "name": "Alice", "talk_time": 0, "voice_id": alice, "suggested_name": None,
        "similarity": None,
    }  # fmt: skip

    # A later recording of the same meeting, uploaded and analysed by the session's real worker.
    with open(data / "dev01.wav", "rb") as f:
        upload = client.post("/analyze", files={"file": ("dev01.wav", f, "audio/wav")})
    assert upload.status_code == 202, upload.text
    later = upload.json()["task_id"]
    assert _poll(client, later)["status"] == "completed"

    speakers = _speakers(client, later)
    suggested = [s for s in speakers.values() if s["suggested_name"]]
    assert len(suggested) == 1, speakers  # one voice, one speaker of the recording
    guess = suggested[0]
    assert (guess["suggested_name"], guess["voice_id"], guess["name"]) == ("Alice", alice, guess["id"])
    assert SUGGEST_THRESHOLD <= guess["similarity"] <= 1.0
    assert _speakers(client, later, "result")[guess["id"]]["suggested_name"] == "Alice"  # the machine's too
    other = next(s for s in speakers.values() if s["id"] != guess["id"])
    assert other["voice_id"] is None and other["suggested_name"] is None

    confirmed = client.post(f"/api/tasks/{later}/speakers/{guess['id']}/voice/confirm")
    assert confirmed.status_code == 200, confirmed.text
    after = _speakers(client, later)[guess["id"]]
    assert (after["name"], after["voice_id"], after["suggested_name"]) == ("Alice", alice, None)
    srt = client.get(f"/api/tasks/{later}/export", params={"format": "srt"}).text
    assert "Alice" in srt

    voices = client.get("/api/voices").json()
    assert voices["total"] == 1
    item = voices["items"][0]
    assert (item["voice_id"], item["name"], item["recordings"]) == (alice, "Alice", 2)
    assert item["talk_seconds"] > 5 and item["last_heard"]
    detail = client.get(f"/api/voices/{alice}").json()
    assert [a["task_id"] for a in detail["appearances"]] == [first, later]
    assert all(0 < a["share"] < 1 for a in detail["appearances"])
    assert _count(ctx, VoiceEmbedding, voice_id=alice) == 2


def test_a_different_person_gets_no_suggestion(
    client: TestClient, ctx: AppContext, library: VoiceRepo, data: Path, transcriber, meeting: tuple[str, str]
) -> None:  # type: ignore[no-untyped-def]
    first, _ = meeting
    client.put(f"/api/tasks/{first}/speakers/SPEAKER_00", json={"name": "Alice", "remember": True})
    client.put(f"/api/tasks/{first}/speakers/SPEAKER_01", json={"name": "Bob", "remember": True})
    assert len(library.list_voices()) == 2
    for other in ("jfk.flac", "sample.wav"):
        task_id = analysed_with_voices(ctx, data, transcriber, other)
        assert _count(ctx, SpeakerPrint, task_id=task_id) >= 1
        assert library.links(task_id) == {}, other
        assert all(s["voice_id"] is None for s in _speakers(client, task_id).values())


def test_a_voice_named_in_the_room_is_recognised_on_the_telephone(
    client: TestClient,
    ctx: AppContext,
    library: VoiceRepo,
    transcriber,
    meeting: tuple[str, str],
    tmp_path: Path,
    data: Path,
) -> None:  # type: ignore[no-untyped-def]
    first, _ = meeting
    for speaker, name in (("SPEAKER_00", "Alice"), ("SPEAKER_01", "Bob")):
        client.put(f"/api/tasks/{first}/speakers/{speaker}", json={"name": name, "remember": True})
    with session_scope(ctx.repo.engine) as session:
        kept = session.scalars(select(VoiceEmbedding.phone_vector)).all()
    assert len(kept) == 2 and all(v is not None and len(v) == 256 * 4 for v in kept)  # the telephone prints

    # dev01 as a telephone line records it (8 kHz G.711, 300-3400 Hz): the same two people, on the phone.
    telephone_copy(data / "dev01.wav", tmp_path / "dev01-phone.wav")
    call = analysed_with_voices(ctx, tmp_path, transcriber, "dev01-phone.wav")
    task = ctx.repo.require(call)
    prints = prints_of(AnalysisResult.from_dict(task.result or {}), Artifacts.from_files(ctx.artifacts.load(call)))
    assert len(prints) == 2 and all(p.narrowband and p.phone is not None for p in prints)
    with session_scope(ctx.repo.engine) as session:
        voices = library.library(session)
    in_band = voices.scores(prints)
    plain = voices.scores([replace(p, narrowband=False) for p in prints])  # as before telephone prints
    named = {"Alice": "SPEAKER_00", "Bob": "SPEAKER_01"}
    for p, band, before in zip(prints, in_band, plain, strict=True):
        person = _person(ctx, call, p.speaker_id, data, "dev01")
        (right,) = [i for i, n in enumerate(voices.names) if _person(ctx, first, named[n], data, "dev00") == person]
        assert int(np.argmax(band)) == right, (p.speaker_id, band)  # the call's speaker is closest to its voice
        assert band[right] > before[right] + 0.15 and band[right] > band[1 - right] + 0.03, (band, before)
    for link in library.links(call).values():  # a suggestion, where one is made, names the right person
        assert _person(ctx, call, link.speaker_id, data, "dev01") == _person(
            ctx, first, named[link.name], data, "dev00"
        )


def _person(ctx: AppContext, task_id: str, speaker: str, data: Path, file_id: str) -> str:
    """The reference speaker (``debug.development.rttm``) who talks most inside ``speaker``'s turns."""
    result = ctx.repo.require(task_id).result or {}
    mine = [(t["start"], t["end"]) for t in result["turns"] if t["speaker"] == speaker]
    talk: dict[str, float] = {}
    for line in (data / "debug.development.rttm").read_text().splitlines():
        fields = line.split()
        if fields[1] == file_id:
            start, end = float(fields[3]), float(fields[3]) + float(fields[4])
            shared = sum(max(0.0, min(end, b) - max(start, a)) for a, b in mine)
            talk[fields[7]] = talk.get(fields[7], 0.0) + shared
    return max(talk, key=lambda k: talk[k])


def test_a_rejection_is_remembered_for_the_task_even_after_a_rerun(
    client: TestClient, ctx: AppContext, library: VoiceRepo, meeting: tuple[str, str]
) -> None:
    first, later = meeting
    client.put(f"/api/tasks/{first}/speakers/{RECURRING_SPEAKER}", json={"name": "Alice", "remember": True})
    # The library changed after `later` was analysed: a re-run of its speakers matches it again.
    request_rediarization(later, AnalysisOptions(), repo=ctx.repo, artifacts=ctx.artifacts, enqueue=lambda *_: None)
    run_rediarization(later, repo=ctx.repo, artifacts=ctx.artifacts, edits=ctx.edits, voices=library)
    (speaker,) = [sid for sid, link in library.links(later).items() if link.name == "Alice"]
    answer = client.post(f"/api/tasks/{later}/speakers/{speaker}/voice/reject")
    assert answer.status_code == 200 and answer.json()["message"] == f"{speaker} is not Alice."
    assert _speakers(client, later)[speaker]["suggested_name"] is None
    assert client.post(f"/api/tasks/{later}/speakers/{speaker}/voice/confirm").status_code == 422

    request_rediarization(later, AnalysisOptions(), repo=ctx.repo, artifacts=ctx.artifacts, enqueue=lambda *_: None)
    run_rediarization(later, repo=ctx.repo, artifacts=ctx.artifacts, edits=ctx.edits, voices=library)
    assert library.links(later) == {}
    assert _count(ctx, VoiceMatch, task_id=later, state="rejected") == 1


def test_deleting_a_voice_deletes_its_embeddings(
    client: TestClient, ctx: AppContext, library: VoiceRepo, meeting: tuple[str, str]
) -> None:
    first, _ = meeting
    alice = client.put(f"/api/tasks/{first}/speakers/SPEAKER_00", json={"name": "Alice"}).json()["voice_id"]
    assert _count(ctx, VoiceEmbedding, voice_id=alice) == 1
    assert client.delete(f"/api/voices/{alice}").status_code == 204
    assert _count(ctx, Voice, id=alice) == 0
    assert _count(ctx, VoiceEmbedding, voice_id=alice) == 0 and _count(ctx, VoiceMatch, voice_id=alice) == 0
    assert client.get(f"/api/voices/{alice}").status_code == 404
    assert _speakers(client, first)["SPEAKER_00"]["name"] == "Alice"  # the speaker keeps its name
    assert client.delete(f"/api/voices/{alice}").json()["detail"].startswith("There is no voice")


def test_rename_merge_and_remove_a_recording(
    client: TestClient, ctx: AppContext, library: VoiceRepo, meeting: tuple[str, str]
) -> None:
    first, later = meeting
    alice = client.put(f"/api/tasks/{first}/speakers/SPEAKER_00", json={"name": "Alice"}).json()["voice_id"]
    twin = client.put(f"/api/tasks/{later}/speakers/SPEAKER_01", json={"name": "Alice B."}).json()["voice_id"]
    assert alice != twin

    renamed = client.patch(f"/api/voices/{twin}", json={"name": "  Alice   Baker "})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Alice Baker"
    assert client.patch(f"/api/voices/{twin}", json={"name": " "}).status_code == 422

    merged = client.post(f"/api/voices/{twin}/merge", json={"into": alice})
    assert merged.status_code == 200, merged.text
    assert merged.json()["recordings"] == 2 and {a["task_id"] for a in merged.json()["appearances"]} == {first, later}
    assert client.get(f"/api/voices/{twin}").status_code == 404
    assert client.post(f"/api/voices/{alice}/merge", json={"into": alice}).status_code == 422

    removed = client.delete(f"/api/voices/{alice}/recordings/{later}")
    assert removed.status_code == 200 and [a["task_id"] for a in removed.json()["appearances"]] == [first]
    assert _count(ctx, VoiceEmbedding, task_id=later) == 0


def test_naming_without_remembering_keeps_no_voice(
    client: TestClient, ctx: AppContext, library: VoiceRepo, meeting: tuple[str, str]
) -> None:
    first, _ = meeting
    answer = client.put(f"/api/tasks/{first}/speakers/SPEAKER_01", json={"name": "Carol", "remember": False})
    assert answer.status_code == 200 and answer.json()["voice_id"] is None
    assert client.get("/api/voices").json() == {"items": [], "total": 0}
    assert client.put(f"/api/tasks/{first}/speakers/SPEAKER_09", json={"name": "X"}).status_code == 422
    assert client.put(f"/api/tasks/{first}/speakers/SPEAKER_00", json={"name": "x" * 81}).status_code == 422
    assert client.put("/api/tasks/nope/speakers/SPEAKER_00", json={"name": "X"}).status_code == 404


def test_the_library_switched_off_keeps_nothing(
    ctx: AppContext, library: VoiceRepo, data: Path, transcriber, meeting: tuple[str, str]
) -> None:  # type: ignore[no-untyped-def]
    off = VoiceRepo(ctx.repo.engine, enabled=False)
    first, _ = meeting
    name_speaker(first, "SPEAKER_00", "Alice", remember=True, repo=ctx.repo, edits=ctx.edits, voices=ctx.voices)
    task_id = analysed_with_voices(ctx, data, transcriber, "dev01.wav", voices=off)
    assert _count(ctx, SpeakerPrint, task_id=task_id) == 0 and _count(ctx, VoiceMatch, task_id=task_id) == 0
    named = name_speaker(task_id, "SPEAKER_01", "Dora", remember=True, repo=ctx.repo, edits=ctx.edits, voices=off)
    assert named.voice_id is None and [v.name for v in library.list_voices()] == ["Alice"]

    api = TestClient(create_app(replace(ctx, voices=off)), base_url="http://localhost")
    answer = api.get("/api/voices")
    assert answer.status_code == 409 and "VOICE_LIBRARY=false" in answer.json()["detail"]
    assert all("voice_id" not in s or s["voice_id"] is None for s in _speakers(api, first).values())


def test_voice_auto_name_applies_a_confident_match_until_it_is_rejected(
    client: TestClient, ctx: AppContext, library: VoiceRepo, data: Path, transcriber, meeting: tuple[str, str]
) -> None:  # type: ignore[no-untyped-def]
    first, _ = meeting
    name_speaker(first, RECURRING_SPEAKER, "Alice", remember=True, repo=ctx.repo, edits=ctx.edits, voices=library)
    auto = VoiceRepo(ctx.repo.engine, auto_name=True)  # VOICE_AUTO_NAME=true
    task_id = analysed_with_voices(ctx, data, transcriber, "dev01.wav", voices=auto)
    ((speaker, link),) = auto.links(task_id).items()
    names = ctx.edits.load(task_id).names()
    if link.similarity is not None and link.similarity >= AUTO_THRESHOLD:
        assert link.state == "auto" and names == {speaker: "Alice"}
        shown = _speakers(client, task_id)[speaker]
        assert (shown["name"], shown["suggested_name"]) == ("Alice", "Alice")  # named, still to be confirmed
        reject_voice(task_id, speaker, repo=ctx.repo, edits=ctx.edits, voices=auto)
        assert ctx.edits.load(task_id).names() == {}  # "not her" takes the applied name back
    else:
        assert link.state == "suggested" and names == {}
