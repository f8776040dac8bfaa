"""The API shows what analysts changed: ``edited_result`` beside the machine's ``result``, and exports with names."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from services.results.edits import SegmentEdit
from services.runtime.context import AppContext
from tests.tasks import copy_task


@pytest.fixture(scope="module")
def client(ctx: AppContext) -> TestClient:
    return TestClient(create_app(ctx), base_url="http://localhost")


@pytest.fixture()
def task(ctx: AppContext, data: Path, analysed: str) -> str:
    task_id = copy_task(ctx, data, analysed, name="call.wav")
    ctx.edits.rename(task_id, "SPEAKER_00", "Margaret")
    ctx.edits.rename(task_id, "SPEAKER_01", "Rosalind")
    ctx.edits.save_segment(task_id, 0, SegmentEdit(0, text="Hello? Hello!"))
    return task_id


def test_get_returns_the_machine_result_and_the_edited_one(client: TestClient, ctx: AppContext, task: str) -> None:
    body = client.get(f"/api/tasks/{task}").json()
    machine, edited = body["result"], body["edited_result"]
    stored = ctx.repo.require(task).result
    assert [(s["speaker"], s["text"]) for s in machine["segments"]] == [
        (s["speaker"], s["text"]) for s in stored["segments"]
    ]
    assert [s["name"] for s in machine["speakers"]] == ["SPEAKER_00", "SPEAKER_01"]
    assert [s["name"] for s in edited["speakers"]] == ["Margaret", "Rosalind"]
    assert edited["segments"][0]["text"] == "Hello? Hello!" and edited["segments"][0]["edited"] is True
    assert machine["segments"][0]["text"] != "Hello? Hello!" and machine["segments"][0]["edited"] is False
    assert edited["text"] == " ".join(["Hello? Hello!"] + [seg["text"] for seg in machine["segments"][1:]])


def test_a_task_without_a_result_has_no_edited_result(client: TestClient, ctx: AppContext) -> None:
    waiting = ctx.repo.create(filename="w.wav", stored_path=None, size_bytes=1, duration=1.0)
    body = client.get(f"/api/tasks/{waiting.id}").json()
    assert body["result"] is None and body["edited_result"] is None


@pytest.mark.parametrize("fmt", ["txt", "md", "srt", "vtt", "json", "csv", "rttm"])
def test_text_exports_carry_the_names(client: TestClient, task: str, fmt: str) -> None:
    answer = client.get(f"/api/tasks/{task}/export", params={"format": fmt})
    assert answer.status_code == 200 and answer.headers["content-type"].endswith("charset=utf-8")
    assert "Margaret" in answer.text and 'filename="call.' in answer.headers["content-disposition"]
    original = client.get(f"/api/tasks/{task}/export", params={"format": fmt, "original": "true"})
    assert "Margaret" not in original.text and "SPEAKER" in original.text


def test_docx_export_is_a_word_document_with_the_edits(client: TestClient, task: str) -> None:
    answer = client.get(f"/api/tasks/{task}/export", params={"format": "docx"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(answer.content)).paragraphs)
    assert "Margaret" in text and "Hello? Hello!" in text
