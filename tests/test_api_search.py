"""Transcript search and cancelled tasks over HTTP (FastAPI's TestClient, the session's real database)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from api.main import create_app
from services.runtime.context import AppContext


def test_search_over_the_api_returns_matching_segments_with_their_tasks(ctx: AppContext) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"  # a word no other test's transcript holds
    task = ctx.repo.create(filename="meeting.wav", stored_path=None, size_bytes=1, duration=20.0)
    ctx.repo.claim(task.id, "test")
    segments = [
        {"start": 0.0, "end": 4.0, "speaker": "SPEAKER_00", "text": "Welcome, everybody."},
        {"start": 12.5, "end": 16.0, "speaker": "SPEAKER_01", "text": f"The {word} budget is approved."},
    ]
    ctx.repo.complete(task.id, {"speakers": [], "segments": segments})
    client = TestClient(create_app(ctx), base_url="http://localhost")

    body = client.get("/api/tasks", params={"q": f'"{word} budget"'}).json()
    assert body["total"] == 1
    item = body["items"][0]
    assert (item["task_id"], item["filename"], item["status"]) == (task.id, "meeting.wav", "completed")
    assert item["match"]["start"] == 12.5 and item["match"]["speaker"] == "SPEAKER_01"
    assert item["match"]["snippet"] == f"The {word} budget is approved."
    assert " ".join(item["match"]["matched"]).split() == [word, "budget"]

    assert client.get("/api/tasks", params={"q": word, "status": "failed"}).json()["total"] == 0
    assert client.get("/api/tasks", params={"q": "?!"}).json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }  # no words
    plain = client.get("/api/tasks", params={"limit": 1}).json()
    assert plain["items"][0].get("match") is None


def test_cancelled_tasks_are_listed_with_their_status(ctx: AppContext) -> None:
    task = ctx.repo.create(filename="stopped.wav", stored_path=None, size_bytes=1, duration=1.0)
    ctx.repo.cancel(task.id)
    client = TestClient(create_app(ctx), base_url="http://localhost")
    assert client.get(f"/api/tasks/{task.id}").json()["status"] == "cancelled"
    listed = client.get("/api/tasks", params={"status": "cancelled"}).json()
    assert task.id in [t["task_id"] for t in listed["items"]]
