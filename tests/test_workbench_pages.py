"""The analyst's workbench through Streamlit's AppTest: several uploads at once, recording in the
browser, waiting (queue position, time left, Cancel), and History's search, filters, paging and delete.

Tests that need exact counts run the app on a database of their own (``private_app``); the ones
that go through the real worker use the session's database and queue.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from services.analysis.audio import decode
from services.analysis.pipeline import analyze_file
from services.config import get_settings
from services.runtime.context import AppContext, get_context
from services.store.models import utcnow
from tests.helpers import app_test, normalize, shown, wait_for
from tests.media import encode_audio


@pytest.fixture()
def private_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> Iterator[AppContext]:
    """The app (in this process) on a fresh data folder and SQLite file; the session's queue stays."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    get_settings.cache_clear()
    get_context.cache_clear()
    try:
        yield get_context()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        get_context.cache_clear()


def _links(at: AppTest) -> list[tuple[str, dict[str, str]]]:
    """Every page link on the page: (label, query parameters)."""
    return [
        (shown(link.proto.label), {k: v[0] for k, v in parse_qs(link.proto.query_string).items()})
        for link in at.get("page_link")
    ]


def _captions(at: AppTest) -> str:
    return shown(" | ".join(c.value for c in at.caption))


# --- Analyze ---------------------------------------------------------------------------------------


def test_several_files_make_one_task_each_and_are_listed_with_progress(ctx: AppContext, data: Path) -> None:
    at = app_test("app_pages/analyze.py")
    at.run()
    uploader = at.file_uploader(key="analyze_upload")
    assert uploader.accept_multiple_files
    names = ["jfk.flac", "stereo_diarization.wav", "sample.wav"]
    uploader.set_value([(name, (data / name).read_bytes(), "application/octet-stream") for name in names]).run()
    at.radio(key="analyze_speaker_mode").set_value("I know how many").run()
    at.number_input(key="analyze_num_speakers").set_value(2).run()
    before = ctx.repo.count()
    at.button(key="analyze_submit").click().run()
    assert not at.exception

    assert ctx.repo.count() == before + 3
    batch = at.query_params["batch"].split(",")
    tasks = [ctx.repo.require(task_id) for task_id in batch]
    assert [t.recording.filename for t in tasks] == names
    assert all(t.options == {"num_speakers": 2} and t.kind == "analyze" and t.status != "failed" for t in tasks)
    # still on Analyze: one line per recording, linking to its task page, with its progress
    assert at.title[0].value == "Analyze a recording"
    assert [(label, query["task"]) for label, query in _links(at)] == list(zip(names, batch, strict=False))
    assert len(at.get("progress")) >= sum(t.status in ("queued", "processing", "completed") for t in tasks)

    # a reload (the ids are in the URL) shows the same list
    again = app_test("app_pages/analyze.py", batch=",".join(batch))
    again.run()
    assert [label for label, _ in _links(again)] == names


def test_a_browser_recording_becomes_a_trimmed_vad_task(ctx: AppContext, worker, data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    speech = decode(data / "jfk.flac")
    quiet = np.zeros(3 * 16000, np.float32)
    wav = encode_audio(tmp_path / "audio.wav", np.concatenate([quiet, speech, quiet]), 16000, "pcm_s16le", fmt="wav")

    at = app_test("app_pages/analyze.py")
    at.run()
    at.radio(key="analyze_source").set_value("Record in the browser").run()
    assert at.button(key="analyze_submit").disabled
    at.audio_input(key="analyze_record").upload("audio.wav", wav.read_bytes()).run()
    at.button(key="analyze_submit").click().run()
    assert not at.exception

    task = ctx.repo.require(at.query_params["task"])  # its task page is open
    assert task.kind == "vad_recording" and task.recording.filename.startswith("Recording ")
    assert shown(at.title[0].value) == task.recording.filename
    done = wait_for(lambda: (t := ctx.repo.require(task.id)).is_final and t, 240, message="the recording's analysis")
    assert done.status == "completed", done.error
    assert "ask not what your country can do for you" in normalize(done.result["text"])
    assert "trim" in done.result["timings"]
    assert done.result["segments"][0]["start"] > 2.5  # times refer to the recording, silence included


# --- waiting: queue position, time left, Cancel --------------------------------------------------


def test_task_page_shows_queue_position_and_time_left_and_cancels(private_app: AppContext) -> None:
    repo = private_app.repo
    first, second, mine = (
        repo.create(filename=f"{name}.wav", stored_path=None, size_bytes=1, duration=60.0).id
        for name in ("first", "second", "mine")
    )
    at = app_test("app_pages/task.py", task=mine)
    at.run()
    assert not at.exception
    assert "Waiting in the queue" in at.get("progress")[0].proto.text
    captions = _captions(at)
    assert "2 recordings ahead of it" in captions
    # nothing measured yet: the default speed, said to be a first guess (3 x 60 s at 0.5 s/s)
    assert "about 2 min left (a first guess" in captions

    at.button(key="task_cancel").click().run()
    assert not at.exception
    assert repo.require(mine).status == "cancelled"
    assert "This analysis was cancelled." in at.warning[0].value
    assert not at.button  # no Cancel on a final task

    # the one behind it moves up, and a cancelled task is not counted as ahead
    repo.cancel(first)
    at = app_test("app_pages/task.py", task=second)
    at.run()
    assert "Next in line" in _captions(at)


def test_a_running_task_shows_stage_percent_time_left_and_cancels(private_app: AppContext) -> None:
    repo = private_app.repo
    past = repo.create(filename="past.wav", stored_path=None, size_bytes=1, duration=100.0).id
    repo.claim(past, "w")
    repo.complete(past, {"speakers": [], "segments": []})
    now = utcnow()
    running = repo.create(filename="running.wav", stored_path=None, size_bytes=1, duration=600.0).id
    repo.claim(running, "w")
    repo.report_progress(running, "transcribe", 40)
    with repo.engine.begin() as conn:  # measured: 20 s for 100 s of audio; this one started 2 minutes ago
        conn.execute(
            text("UPDATE processing_tasks SET started_at = :s, completed_at = :c WHERE id = :id"),
            {"s": now - timedelta(seconds=80), "c": now - timedelta(seconds=60), "id": past},
        )
        conn.execute(
            text("UPDATE processing_tasks SET started_at = :s WHERE id = :id"),
            {"s": now - timedelta(seconds=120), "id": running},
        )

    at = app_test("app_pages/task.py", task=running)
    at.run()
    assert "Transcribing speech… 40%" in at.get("progress")[0].proto.text
    # its own pace: 180 s more; the speed: 600 * 0.2 - 120 = 0 s; 40 % done -> 0.4 * 180 + 0.6 * 0 = 72 s
    assert "about 1 min left" in _captions(at) and "first guess" not in _captions(at)
    assert at.button(key="task_cancel").label == "Cancel analysis"
    at.button(key="task_cancel").click().run()
    assert repo.require(running).status == "cancelled"
    assert "It had reached 40% (Transcribing speech)." in at.warning[0].value


# --- History -------------------------------------------------------------------------------------


def test_history_search_finds_a_phrase_of_a_real_analysis_and_opens_that_moment(
    private_app: AppContext, data: Path, transcriber
) -> None:  # type: ignore[no-untyped-def]
    repo = private_app.repo
    task = repo.create(filename="sample.wav", stored_path=None, size_bytes=1, duration=30.0)
    repo.claim(task.id, "test")
    result = analyze_file(data / "sample.wav", transcriber).to_dict()
    repo.complete(task.id, result)
    other = repo.create(filename="other.wav", stored_path=None, size_bytes=1, duration=3.0).id
    repo.claim(other, "test")
    repo.complete(
        other, {"speakers": [], "segments": [{"start": 1.0, "end": 2.0, "speaker": None, "text": "Jersey cows."}]}
    )
    starts = [s["start"] for s in result["segments"] if "new jersey" in normalize(s["text"])]
    assert starts  # the recording says "New Jersey"

    at = app_test("app_pages/history.py")
    at.run()
    at.text_input(key="history_search").input('"New Jersey"').run()
    assert not at.exception
    links = _links(at)
    assert [label.split(" · ")[0] for label, _ in links] == ["sample.wav"] * len(starts)
    assert [query["task"] for _, query in links] == [task.id] * len(starts)
    assert [float(query["t"]) for _, query in links] == starts  # each link opens the task at its segment
    snippet = " ".join(m.value for m in at.markdown)
    assert "**New Jersey**" in snippet or "**New** **Jersey**" in snippet
    assert f"{len(starts)} matching segment" in _captions(at)

    at.text_input(key="history_search").input("jersey").run()  # both recordings, newest first
    assert [query["task"] for _, query in _links(at)] == [other] + [task.id] * len(starts)
    at.text_input(key="history_search").input("zebra crossing").run()
    assert "No transcript matches" in at.info[0].value


def _table(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["Recording"]) if at.dataframe else []


def test_history_filters_sort_and_pages(private_app: AppContext) -> None:
    repo = private_app.repo
    for i in range(52):  # queued fillers, uploaded long ago
        filler = repo.create(filename=f"filler {i:02d}.wav", stored_path=None, size_bytes=1, duration=10.0).id
        with repo.engine.begin() as conn:
            conn.execute(
                text("UPDATE processing_tasks SET created_at = :t WHERE id = :id"),
                {"t": utcnow() - timedelta(days=30, minutes=i), "id": filler},
            )
    for name, minutes, speakers in [("Board.m4a", 60, 4), ("call.wav", 5, 2), ("Memo.mp3", 1, 1)]:
        task_id = repo.create(filename=name, stored_path=None, size_bytes=1, duration=minutes * 60.0).id
        repo.claim(task_id, "w")
        repo.complete(task_id, {"speakers": [{"id": str(n)} for n in range(speakers)], "segments": []})
    stopped = repo.create(filename="stopped.wav", stored_path=None, size_bytes=1, duration=120.0).id
    repo.cancel(stopped)

    at = app_test("app_pages/history.py")
    at.run()
    assert not at.exception
    assert _table(at)[:4] == ["stopped.wav", "Memo.mp3", "call.wav", "Board.m4a"] and len(_table(at)) == 50
    assert "56 tasks" in _captions(at)
    at.get("pagination")[0].set_value(2).run()
    assert _table(at) == [f"filler {i}.wav" for i in range(46, 52)]
    assert at.dataframe[0].value["Open"].iloc[0].startswith("task?task=")
    at.selectbox(key="history_sort").select("oldest").run()  # another order starts at page 1 again
    assert _table(at)[0] == "filler 51.wav" and len(_table(at)) == 50
    at.selectbox(key="history_sort").select("newest").run()

    at.multiselect(key="history_status").select("completed").run()  # a filter starts at page 1 again
    assert _table(at) == ["Memo.mp3", "call.wav", "Board.m4a"] and "3 tasks" in _captions(at)
    at.selectbox(key="history_sort").select("longest").run()
    assert _table(at) == ["Board.m4a", "call.wav", "Memo.mp3"]
    at.number_input(key="history_min_speakers").set_value(2).run()
    at.number_input(key="history_max_minutes").set_value(10.0).run()
    assert _table(at) == ["call.wav"]
    at.multiselect(key="history_status").set_value(["cancelled"]).run()
    assert "No task matches these filters." in at.info[0].value
    at.multiselect(key="history_status").set_value([]).run()
    at.number_input(key="history_min_speakers").set_value(None).run()
    at.number_input(key="history_max_minutes").set_value(None).run()
    at.selectbox(key="history_sort").select("name").run()
    today = date.today()
    at.date_input(key="history_dates").set_value((today - timedelta(days=1), today)).run()
    assert _table(at) == ["Board.m4a", "call.wav", "Memo.mp3", "stopped.wav"]
    assert "🚫 cancelled" in list(at.dataframe[0].value["Status"])
    at.number_input(key="history_min_speakers").set_value(3).run()
    at.number_input(key="history_max_speakers").set_value(2).run()
    assert "speakers range is empty" in at.warning[0].value


def test_history_deletes_selected_tasks_and_their_files(private_app: AppContext, data: Path) -> None:
    repo, storage = private_app.repo, private_app.storage
    keep = repo.create(filename="keep.wav", stored_path=None, size_bytes=1, duration=1.0).id
    stored = [storage.save(name, (data / name).read_bytes()) for name in ("jfk.flac", "stereo_diarization.wav")]
    doomed = [
        repo.create(filename=s.key.rsplit("/", 1)[-1], stored_path=s.key, size_bytes=s.size_bytes, duration=5.0).id
        for s in stored
    ]
    time.sleep(0.01)

    at = app_test("app_pages/history.py")
    at.run()
    assert _table(at) == ["stereo_diarization.wav", "jfk.flac", "keep.wav"]
    assert not at.button  # nothing selected, nothing to delete
    at.session_state["history_table"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    assert "Selected: stereo_diarization.wav, jfk.flac" in _captions(at)
    at.button(key="history_delete").click().run()
    assert not at.exception
    assert "Deleted 2 tasks" in at.success[0].value
    assert _table(at) == ["keep.wav"]
    assert not at.button  # the selection went with the deleted rows: nothing else is selected
    assert [repo.get(t) for t in doomed] == [None, None] and repo.get(keep) is not None
    assert not any(storage.exists(s.key) for s in stored)


def test_system_page_counts_cancelled_tasks(private_app: AppContext) -> None:
    task_id = private_app.repo.create(filename="x.wav", stored_path=None, size_bytes=1, duration=1.0).id
    private_app.repo.cancel(task_id)
    at = app_test("app_pages/system.py")
    at.run()
    assert {m.label: m.value for m in at.metric}["🚫 cancelled"] == "1"
