"""The HTTP API's answers to bad input, auth and deletion, in-process (FastAPI's TestClient).

The full flow through a real uvicorn server and a real worker is in test_api_flow.py; these are
the cheap checks, against the session's real database, storage and queue.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import Headers

from api.gate import MULTIPART_SLACK, refusal, token_matches
from api.main import create_app
from api.routes_tasks import attachment
from services.runtime.context import AppContext


def _client(ctx: AppContext, **settings: object) -> TestClient:
    context = replace(ctx, settings=ctx.settings.model_copy(update=settings)) if settings else ctx
    return TestClient(create_app(context), base_url="http://localhost")


@pytest.fixture(scope="module")
def client(ctx: AppContext) -> TestClient:
    return _client(ctx)


def _upload(client: TestClient, name: str, data: bytes, path: str = "/analyze", **form: object):  # type: ignore[no-untyped-def]
    return client.post(
        path, files={"file": (name, data, "application/octet-stream")}, data={k: str(v) for k, v in form.items()}
    )


def test_a_non_audio_upload_is_415_with_its_failed_task(client: TestClient, ctx: AppContext) -> None:
    answer = _upload(client, "report.wav", b"Quarterly report\n" * 100)
    assert answer.status_code == 415
    body = answer.json()
    assert body["status"] == "failed" and body["filename"] == "report.wav"
    assert body["detail"].startswith("report.wav is not an audio file we can read")
    task = client.get(body["poll_url"]).json()
    assert (task["status"], task["error"], task["result"]) == ("failed", body["detail"], None)
    assert ctx.repo.require(body["task_id"]).recording.stored_path is None  # nothing unusable is kept


def test_an_empty_upload_is_415(client: TestClient) -> None:
    answer = _upload(client, "silence.wav", b"")
    assert answer.status_code == 415 and "empty" in answer.json()["detail"]


def test_an_upload_over_max_upload_mb_is_413(ctx: AppContext, data: Path) -> None:
    client = _client(ctx, max_upload_mb=1)
    before = ctx.repo.count()
    # Announced far over the limit: refused before the body is read (no file name yet, so no task).
    huge = _upload(client, "dev00.wav", (data / "dev00.wav").read_bytes())
    assert huge.status_code == 413 and huge.json()["detail"] == "The upload is 2 MB; the limit is 1 MB (MAX_UPLOAD_MB)."
    assert ctx.repo.count() == before
    # Just over the limit: received, and failed as a task like on the Analyze page.
    just_over = _upload(client, "big.wav", b"\0" * (1024 * 1024 + MULTIPART_SLACK // 2))
    assert just_over.status_code == 413
    body = just_over.json()
    assert body["status"] == "failed" and "the limit is 1 MB (MAX_UPLOAD_MB)" in body["detail"]
    assert ctx.repo.require(body["task_id"]).status == "failed"


def test_a_recording_over_max_duration_is_422_with_its_failed_task(ctx: AppContext, data: Path) -> None:
    answer = _upload(_client(ctx, max_duration_minutes=0), "jfk.flac", (data / "jfk.flac").read_bytes())
    assert answer.status_code == 422
    assert answer.json()["status"] == "failed" and "MAX_DURATION_MINUTES" in answer.json()["detail"]


def test_a_chunked_upload_without_length_is_411(client: TestClient) -> None:
    def body():  # type: ignore[no-untyped-def]
        yield b"--x\r\n"

    answer = client.post("/analyze", content=body(), headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert answer.status_code == 411 and "Content-Length" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"min_speakers": 3, "max_speakers": 2}, "The minimum number of speakers (3) is above the maximum (2)."),
        ({"num_speakers": 0}, "num_speakers: Input should be greater than or equal to 1"),
        ({"num_speakers": "two"}, "num_speakers: Input should be a whole number written in digits, e.g. 2"),
        ({"max_speakers": "2.0"}, "max_speakers: Input should be a whole number written in digits, e.g. 2"),
    ],
)
def test_bad_speaker_options_are_422_and_create_no_task(
    client: TestClient, ctx: AppContext, data: Path, form: dict, message: str
) -> None:  # type: ignore[type-arg]
    before = ctx.repo.count()
    answer = _upload(client, "jfk.flac", (data / "jfk.flac").read_bytes(), **form)
    assert answer.status_code == 422 and answer.json()["detail"] == message
    assert ctx.repo.count() == before


def test_a_missing_file_is_422(client: TestClient) -> None:
    answer = client.post("/analyze", data={"num_speakers": "2"})
    assert answer.status_code == 422 and answer.json()["detail"] == "file: Field required"


def test_unknown_tasks_are_404_everywhere(client: TestClient) -> None:
    for method, path in [("GET", "/api/tasks/nope"), ("DELETE", "/api/tasks/nope"), ("GET", "/api/tasks/nope/export"),
                         ("GET", "/api/tasks/%00")]:  # fmt: skip
        answer = client.request(method, path)
        assert answer.status_code == 404, (method, path)
        assert answer.json()["detail"].startswith("There is no task")


def test_export_needs_a_completed_task_and_a_known_format(client: TestClient, ctx: AppContext) -> None:
    waiting = ctx.repo.create(filename="waiting.wav", stored_path=None, size_bytes=1, duration=1.0)
    answer = client.get(f"/api/tasks/{waiting.id}/export", params={"format": "srt"})
    assert answer.status_code == 409 and "is queued" in answer.json()["detail"]
    ctx.repo.fail(waiting.id, "broken.")
    assert client.get(f"/api/tasks/{waiting.id}/export").json()["detail"] == f"Task {waiting.id} is failed: broken."
    answer = client.get(f"/api/tasks/{waiting.id}/export", params={"format": "pdf"})
    assert answer.status_code == 422 and answer.json()["detail"].startswith(
        "format: Input should be 'txt', 'md', 'srt'"
    )


def test_the_list_pages_and_filters(client: TestClient, ctx: AppContext) -> None:
    ids = [ctx.repo.create(filename=f"list-{i}.wav", stored_path=None, size_bytes=1, duration=1.0).id for i in range(3)]
    ctx.repo.fail(ids[0], "no.")
    first = client.get("/api/tasks", params={"limit": 2}).json()
    assert first["total"] == ctx.repo.count() and (first["limit"], first["offset"]) == (2, 0)
    assert [t["task_id"] for t in first["items"]] == [ids[2], ids[1]]  # newest first
    assert "result" not in first["items"][0]
    second = client.get("/api/tasks", params={"limit": 2, "offset": 2}).json()
    assert second["items"][0]["task_id"] == ids[0]
    failed = client.get("/api/tasks", params={"status": "failed", "limit": 200}).json()
    assert failed["total"] == ctx.repo.count("failed") and ids[0] in {t["task_id"] for t in failed["items"]}
    assert {t["status"] for t in failed["items"]} == {"failed"}
    for bad in (
        {"status": "done"},
        {"limit": 0},
        {"limit": 201},
        {"offset": -1},
        {"offset": "+0.0"},
        {"limit": "1e2"},
        {"limit": " 5"},
    ):
        assert client.get("/api/tasks", params=bad).status_code == 422, bad
    assert (
        client.get("/api/tasks", params={"limit": "+2", "offset": "0"}).json()["limit"] == 2
    )  # what int() reads is fine


def test_delete_removes_the_rows_and_the_stored_file(client: TestClient, ctx: AppContext, data: Path) -> None:
    stored = ctx.storage.save("jfk.flac", io.BytesIO((data / "jfk.flac").read_bytes()))
    task = ctx.repo.create(filename="jfk.flac", stored_path=stored.key, size_bytes=stored.size_bytes, duration=11.0)
    answer = client.delete(f"/api/tasks/{task.id}")
    assert answer.status_code == 204 and answer.content == b""
    assert ctx.repo.get(task.id) is None and not ctx.storage.exists(stored.key)
    assert client.get(f"/api/tasks/{task.id}").status_code == 404
    assert client.delete(f"/api/tasks/{task.id}").status_code == 404


def test_with_api_token_every_call_needs_the_bearer_token(ctx: AppContext) -> None:
    client = _client(ctx, api_token="s3cret-tøken")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
        for method, path in [("GET", "/api/tasks"), ("POST", "/analyze"), ("DELETE", "/api/tasks/x"),
                             ("GET", "/api/tasks/x/export"), ("POST", "/api/recordings/vad")]:  # fmt: skip
            answer = client.request(method, path, headers=headers)
            assert answer.status_code == 401, (method, path, headers)
            assert answer.headers["www-authenticate"] == "Bearer" and "API_TOKEN" in answer.json()["detail"]
    assert client.get("/api/tasks", headers={"Authorization": "Bearer s3cret-tøken".encode()}).status_code == 200
    assert client.get("/api/tasks", headers={"Authorization": "bearer  s3cret-tøken ".encode()}).status_code == 200
    # the health check and the API's own description stay public
    assert client.get("/health").json() == {"status": "ok"}
    schema = client.get("/openapi.json").json()
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    # without a token configured, no token is asked for (and the schema says so)
    assert "securitySchemes" not in _client(ctx).get("/openapi.json").json().get("components", {})


def test_the_gate_rules(ctx: AppContext) -> None:
    settings = ctx.settings.model_copy(update={"max_upload_mb": 1, "api_token": ""})
    assert refusal("POST", "/analyze", Headers({"content-length": "12abc"}), settings).status == 400
    assert refusal("POST", "/analyze", Headers({"content-length": str(2 * 1024 * 1024)}), settings).status == 413
    assert refusal("POST", "/analyze", Headers({"content-length": "1000"}), settings) is None
    assert refusal("GET", "/api/tasks", Headers({}), settings) is None
    assert (
        token_matches("Bearer abc", "abc")
        and not token_matches("Bearer abcd", "abc")
        and not token_matches(None, "abc")
    )


def test_export_file_names_survive_any_characters() -> None:
    assert attachment("jfk.srt") == "attachment; filename=\"jfk.srt\"; filename*=UTF-8''jfk.srt"
    assert (
        attachment('Müller "Q3".vtt')
        == "attachment; filename=\"M_ller _Q3_.vtt\"; filename*=UTF-8''M%C3%BCller%20%22Q3%22.vtt"
    )


def test_the_gate_refuses_two_framings_at_once(ctx: AppContext) -> None:
    settings = ctx.settings.model_copy(update={"max_upload_mb": 1, "api_token": ""})
    both = Headers({"content-length": "1000", "transfer-encoding": "chunked"})
    assert refusal("POST", "/analyze", both, settings).status == 400


def test_the_gate_counts_the_bytes_that_arrive_not_the_ones_announced(ctx: AppContext) -> None:
    """A server that does not hold the client to its Content-Length (or a chunked body) still stops at the limit."""
    import asyncio

    from api.gate import RequestGate

    settings = ctx.settings.model_copy(update={"max_upload_mb": 1, "api_token": ""})
    read: list[int] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]  # reads the whole body, like a form parser
        while (message := await receive())["type"] == "http.request":
            read.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"stored"})

    chunks = [{"type": "http.request", "body": b"\0" * 65536, "more_body": True} for _ in range(80)]  # 5 MiB
    sent: list[dict] = []  # type: ignore[type-arg]

    async def receive():  # type: ignore[no-untyped-def]
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/analyze", "headers": [(b"content-length", b"1000")]}
    asyncio.run(RequestGate(app, settings)(scope, receive, send))
    assert sent[0]["status"] == 413 and b"MAX_UPLOAD_MB" in sent[1]["body"]
    assert sum(read) <= settings.max_upload_bytes + 65536 * 2  # stopped at the limit, not after 5 MiB
    assert len(chunks) > 50  # the rest was never read
    assert not any(m.get("body") == b"stored" for m in sent)
