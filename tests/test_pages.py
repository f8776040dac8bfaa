"""Each page through Streamlit's AppTest, against the session's real database and queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.analysis.pipeline import analyze_file
from services.runtime.context import AppContext
from tests.helpers import app_test, shown


@pytest.fixture(scope="module")
def completed_task(ctx: AppContext, data: Path, transcriber) -> str:  # type: ignore[no-untyped-def]
    """A finished analysis of sample.wav, stored the way the worker stores one."""
    stored = ctx.storage.save("sample.wav", (data / "sample.wav").read_bytes())
    task = ctx.repo.create(filename="sample.wav", stored_path=stored.key, size_bytes=stored.size_bytes, duration=30.0)
    ctx.repo.claim(task.id, "test", stale_before=task.created_at)
    ctx.repo.complete(task.id, analyze_file(ctx.storage.path(stored.key), transcriber).to_dict())
    return task.id


def test_analyze_upload_creates_a_queued_task_and_opens_it(ctx: AppContext, data: Path) -> None:
    at = app_test("app_pages/analyze.py")
    at.run()
    assert not at.exception
    assert at.button(key="analyze_submit").disabled
    before = ctx.repo.count()
    at.file_uploader(key="analyze_upload").upload("jfk.flac", (data / "jfk.flac").read_bytes(), "audio/flac")
    at.run()
    at.radio(key="analyze_speaker_mode").set_value("I know how many").run()
    at.number_input(key="analyze_num_speakers").set_value(1).run()
    at.button(key="analyze_submit").click().run()
    assert not at.exception
    assert ctx.repo.count() == before + 1
    task = ctx.repo.list_tasks(limit=1)[0]
    assert task.recording.filename == "jfk.flac" and task.options == {"num_speakers": 1}
    assert task.status in ("queued", "processing", "completed")
    assert at.query_params["task"] == task.id  # the task page is open on the new task
    assert shown(at.title[0].value) == "jfk.flac"


def test_task_page_of_a_completed_task_shows_transcript_timeline_and_exports(completed_task: str) -> None:
    at = app_test("app_pages/task.py", task=completed_task)
    at.run()
    assert not at.exception
    assert shown(at.title[0].value) == "sample.wav"
    text = shown(" ".join(m.value for m in at.markdown))
    headers = " ".join(h.proto.body for h in at.get("html"))  # the transcript's speaker headers
    assert "SPEAKER_00" in headers and "SPEAKER_01" in headers
    assert "New Jersey" in text
    charts = at.get("plotly_chart")
    assert len(charts) == 2 and "Who spoke when" in charts[0].proto.spec
    assert {m.label for m in at.metric} >= {"Duration", "Speakers", "Words"}
    assert [m.value for m in at.metric if m.label == "Speakers"] == ["2"]
    downloads = at.get("download_button")
    assert {d.proto.label for d in downloads} >= {"JSON", "SRT", "TXT", "RTTM"}


def test_task_page_names_the_engines_that_made_the_result(ctx: AppContext, completed_task: str) -> None:
    at = app_test("app_pages/task.py", task=completed_task)
    at.run()
    captions = [c.value for c in at.caption]
    assert "Transcribed by faster-whisper (tiny.en) · speakers by the built-in diarizer" in captions

    # A result of the optional engines, stored the way the worker stores one.
    result = dict(
        ctx.repo.require(completed_task).result or {}, engine="openai-whisper", model="large-v3", diarization="pyannote"
    )
    task = ctx.repo.create(filename="other.wav", stored_path=None, size_bytes=1, duration=30.0)
    ctx.repo.claim(task.id, "test", stale_before=task.created_at)
    ctx.repo.complete(task.id, result)
    at = app_test("app_pages/task.py", task=task.id)
    at.run()
    assert not at.exception
    assert "Transcribed by openai-whisper (large-v3) · speakers by pyannote.audio" in [c.value for c in at.caption]


def test_task_page_shows_progress_while_queued(ctx: AppContext) -> None:
    task = ctx.repo.create(filename="waiting.wav", stored_path=None, size_bytes=1, duration=1.0)
    at = app_test("app_pages/task.py", task=task.id)
    at.run()
    assert not at.exception
    assert "Waiting in the queue" in at.get("progress")[0].proto.text


def test_queued_task_page_says_when_the_queue_is_unreachable(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.config import get_settings
    from services.runtime.broker import free_port
    from services.runtime.context import get_context

    task = ctx.repo.create(filename="waiting.wav", stored_path=None, size_bytes=1, duration=1.0)
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    get_settings.cache_clear()
    get_context.cache_clear()  # the page reaches the queue through the context's settings
    try:
        at = app_test("app_pages/task.py", task=task.id)
        at.run()
        assert "queue is unreachable" in at.warning[0].value
        assert "will start as soon as the queue is back" in at.warning[0].value
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        get_context.cache_clear()


def test_task_page_shows_the_error_of_a_failed_task(ctx: AppContext) -> None:
    task = ctx.repo.create(filename="notes.wav", stored_path=None, size_bytes=1, duration=None)
    ctx.repo.fail(task.id, "notes.wav is not an audio file we can read.")
    at = app_test("app_pages/task.py", task=task.id)
    at.run()
    assert shown(at.error[0].value) == "notes.wav is not an audio file we can read."


def test_unknown_task_id_says_so(ctx: AppContext) -> None:
    at = app_test("app_pages/task.py", task="no-such-task")
    at.run()
    assert not at.exception and "no task" in at.warning[0].value


def test_history_lists_tasks_newest_first(ctx: AppContext, completed_task: str) -> None:
    at = app_test("app_pages/history.py")
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert completed_task in list(table["Task"])
    row = table[table["Task"] == completed_task].iloc[0]
    assert row["Recording"] == "sample.wav" and "completed" in row["Status"] and row["Speakers"] == 2


def test_system_page_reports_broker_database_and_workers(ctx: AppContext) -> None:
    at = app_test("app_pages/system.py")
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Broker"] == "up" and metrics["Database"] == "up"
