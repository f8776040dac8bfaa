"""Completion callbacks: a real HTTP receiver on 127.0.0.1 (http.server in a thread), the real database,
and end to end the real API process and the session's real worker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.webhooks import status_json
from services.config import Settings
from services.errors import InvalidCallbackUrl
from services.jobs.callback_url import check_callback_url, is_public, parse_callback_url
from services.jobs.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, backoff, deliver_due, signature_valid
from services.runtime.context import AppContext, build_context
from services.store.db import migrate
from services.store.models import utcnow
from tests.helpers import api_client, child_env
from tests.postgres import temporary_database

SECRET = "test-webhook-secret"


@dataclass
class Receiver:
    """A webhook receiver: answers each POST with the next status of ``answers`` (then 200)."""

    answers: list[int] = field(default_factory=list)
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def valid(self, index: int) -> bool:
        headers, body = self.posts[index]
        return signature_valid(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.posts.append(({k: v for k, v in self.headers.items()}, body))
            status = state.answers.pop(0) if state.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/fastaudio?source=test"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with temporary_database() as url:
        migrate(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, ctx: AppContext) -> Iterator[AppContext]:
    """The session's SQLite context, or one over a PostgreSQL database of this module's own (skipped without one)."""
    if request.param == "sqlite":
        yield ctx
        return
    url = request.getfixturevalue("postgres_url")
    other = build_context(ctx.settings.model_copy(update={"database_url": url}), run_migrations=False)
    yield other
    other.repo.engine.dispose()


def _settings(ctx: AppContext, **update: object) -> Settings:
    values = {"webhook_secret": SECRET, "webhook_allowed_hosts": "127.0.0.1", "webhook_retry_seconds": 60.0}
    return ctx.settings.model_copy(update={**values, **update})


def _ended_task(ctx: AppContext, url: str) -> str:
    task = ctx.repo.create(filename="call.wav", stored_path=None, size_bytes=1, duration=1.0)
    ctx.repo.fail(task.id, "The recording could not be read.")
    ctx.webhooks.register(task.id, url)
    return task.id


def _later(hours: float = 2.0):  # type: ignore[no-untyped-def]
    return utcnow() + timedelta(hours=hours)


def test_a_failing_receiver_gets_retries_with_backoff_then_the_signed_status(
    store: AppContext, receiver: Receiver
) -> None:
    settings = _settings(store)
    receiver.answers = [500, 503]
    task_id = _ended_task(store, receiver.url)
    payload = status_json(store)

    [first] = [o for o in deliver_due(store.webhooks, payload, settings) if o.task_id == task_id]
    assert not first.delivered and first.error and first.error.startswith("HTTP 500")
    row = store.webhooks.get(task_id)
    assert row and row.attempts == 1 and row.done_at is None and row.last_error == first.error
    assert row.next_attempt_at and row.next_attempt_at > utcnow() + timedelta(seconds=50)  # backoff: 60 s
    assert [o for o in deliver_due(store.webhooks, payload, settings) if o.task_id == task_id] == []  # not due yet

    [second] = [o for o in deliver_due(store.webhooks, payload, settings, now=_later()) if o.task_id == task_id]
    assert not second.delivered and "HTTP 503" in (second.error or "")
    [third] = [o for o in deliver_due(store.webhooks, payload, settings, now=_later(4)) if o.task_id == task_id]
    assert third.delivered

    assert len(receiver.posts) == 3 and all(receiver.valid(i) for i in range(3))
    headers, body = receiver.posts[-1]
    assert headers["X-FastAudio-Event"] == "task.failed" and headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert sent["task_id"] == task_id and sent["status"] == "failed"
    assert sent["error"] == "The recording could not be read."
    row = store.webhooks.get(task_id)
    assert row and row.delivered_status == "failed" and row.attempts == 3 and row.last_error is None
    assert [o for o in deliver_due(store.webhooks, payload, settings, now=_later(8)) if o.task_id == task_id] == []


def test_a_task_that_runs_again_and_ends_again_is_reported_again(store: AppContext, receiver: Receiver) -> None:
    settings = _settings(store)
    receiver.answers = [500]
    task_id = _ended_task(store, receiver.url)
    for hours in (0, 2):
        deliver_due(store.webhooks, status_json(store), settings, now=_later(hours))
    assert len(receiver.posts) == 2
    assert store.repo.requeue(task_id, from_statuses=("failed",), reason="run again") is not None
    assert [
        o for o in deliver_due(store.webhooks, status_json(store), settings, now=_later(4)) if o.task_id == task_id
    ] == []
    store.repo.cancel(task_id)
    outcomes = deliver_due(store.webhooks, status_json(store), settings, now=_later(4))
    [again] = [o for o in outcomes if o.task_id == task_id]
    assert again.delivered and json.loads(receiver.posts[-1][1])["status"] == "cancelled"
    row = store.webhooks.get(task_id)
    assert row and row.attempts == 1 and row.delivered_status == "cancelled"  # counted afresh for the new end


def test_one_post_at_a_time_per_task_across_processes(store: AppContext, receiver: Receiver) -> None:
    """Two API processes see the same due row: the lease lets one post it; a lease that runs out frees it."""
    task_id = _ended_task(store, receiver.url)
    now = utcnow()
    assert task_id in store.webhooks.due(now)
    first = store.webhooks.claim(task_id, "process-a", now + timedelta(seconds=50), now)
    assert first is not None and first.task_status == "failed"
    assert store.webhooks.claim(task_id, "process-b", now + timedelta(seconds=50), now) is None
    assert task_id not in store.webhooks.due(now)
    store.webhooks.record(task_id, "process-b", error="not mine", next_attempt_at=None)  # not its lease: no effect
    row = store.webhooks.get(task_id)
    assert row and row.attempts == 0 and row.last_error is None
    later = now + timedelta(seconds=60)  # process-a died holding it
    assert store.webhooks.claim(task_id, "process-b", later + timedelta(seconds=50), later) is not None


def test_deleting_a_task_drops_its_callback(ctx: AppContext, receiver: Receiver) -> None:
    from services.jobs.deletion import delete_task

    task_id = _ended_task(ctx, receiver.url)
    delete_task(task_id, repo=ctx.repo, storage=ctx.storage)
    assert ctx.webhooks.get(task_id) is None and task_id not in ctx.webhooks.due(_later())


def test_a_signature_over_another_body_or_an_old_timestamp_is_refused(ctx: AppContext, receiver: Receiver) -> None:
    _ended_task(ctx, receiver.url)
    deliver_due(ctx.webhooks, status_json(ctx), _settings(ctx))
    headers, body = receiver.posts[-1]
    stamp, sig = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert signature_valid(SECRET, stamp, body, sig)
    assert not signature_valid(SECRET, stamp, body + b" ", sig)
    assert not signature_valid("another secret", stamp, body, sig)
    assert not signature_valid(SECRET, str(int(stamp) - 3600), body, sig)  # a replay an hour later
    assert not signature_valid(SECRET, str(int(time.time()) - 3600), body, sig)


def test_a_receiver_that_never_answers_2xx_is_given_up_after_max_attempts(ctx: AppContext, receiver: Receiver) -> None:
    settings = _settings(ctx, webhook_max_attempts=2)
    receiver.answers = [500] * 5
    task_id = _ended_task(ctx, receiver.url)
    for hours in (0, 2, 4, 6):
        deliver_due(ctx.webhooks, status_json(ctx), settings, now=_later(hours))
    row = ctx.webhooks.get(task_id)
    assert len(receiver.posts) == 2 and row and row.attempts == 2
    assert row.done_at is not None and row.delivered_status is None and "HTTP 500" in (row.last_error or "")


def test_a_host_no_longer_allowed_is_not_posted_to(ctx: AppContext, receiver: Receiver) -> None:
    task_id = _ended_task(ctx, receiver.url)
    deliver_due(ctx.webhooks, status_json(ctx), _settings(ctx, webhook_allowed_hosts=""))
    row = ctx.webhooks.get(task_id)
    assert receiver.posts == [] and row and "loopback, private or link-local" in (row.last_error or "")


def test_addresses_inside_this_network_are_refused_unless_allowed(ctx: AppContext) -> None:
    open_settings = ctx.settings.model_copy(update={"webhook_allowed_hosts": ""})
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1", "::ffff:127.0.0.1", "0.0.0.0"):
        assert not is_public(address), address
    assert is_public("8.8.8.8") and is_public("2606:4700:4700::1111")
    for url in ("http://127.0.0.1:8000/x", "http://localhost/x", "http://[::1]/x", "http://169.254.169.254/latest"):
        with pytest.raises(InvalidCallbackUrl, match="WEBHOOK_ALLOWED_HOSTS"):
            check_callback_url(url, open_settings)
    allowed = ctx.settings.model_copy(update={"webhook_allowed_hosts": "localhost, 127.0.0.1"})
    assert check_callback_url("http://localhost:9/x", allowed).allowed_explicitly
    with pytest.raises(InvalidCallbackUrl, match="not in WEBHOOK_ALLOWED_HOSTS"):
        parse_callback_url("https://example.org/hook", allowed)
    for url, message in (
        ("ftp://example.org/x", "http:// or https://"),
        ("https://user:pw@example.org/x", "user name or password"),
        ("https:///x", "no host"),
        ("http://example.org/a b", "spaces"),
        ("http://example.org:99999/", "not a valid URL"),
    ):
        with pytest.raises(InvalidCallbackUrl, match=message):
            parse_callback_url(url, open_settings)


def test_backoff_doubles_up_to_an_hour(ctx: AppContext) -> None:
    settings = _settings(ctx, webhook_retry_seconds=10.0)
    assert [backoff(n, settings) for n in (1, 2, 3)] == [10.0, 20.0, 40.0]
    assert backoff(20, settings) == 3600.0


def test_a_refused_callback_url_is_a_422_and_creates_no_task(ctx: AppContext, data: Path) -> None:
    context = replace(ctx, settings=ctx.settings.model_copy(update={"webhook_allowed_hosts": "hooks.example.org"}))
    audio = (data / "jfk.flac").read_bytes()
    before = ctx.repo.count()
    with TestClient(create_app(context), base_url="http://localhost") as client:
        for url in ("http://127.0.0.1:9/hook", "https://evil.example.net/hook", "file:///etc/passwd"):
            answer = client.post(
                "/analyze", files={"file": ("jfk.flac", audio, "audio/flac")}, data={"callback_url": url}
            )
            assert answer.status_code == 422, answer.text
            assert "callback_url" in answer.json()["detail"]
    assert ctx.repo.count() == before


def test_the_api_posts_the_status_of_a_finished_analysis(
    environment: dict[str, str], worker, ctx: AppContext, data: Path, receiver: Receiver, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    env = child_env(**environment, WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOWED_HOSTS="127.0.0.1", WEBHOOK_POLL_SECONDS="0.2")
    with api_client(env, tmp_path / "api.log", timeout=30) as (client, _):
        with open(data / "jfk.flac", "rb") as f:
            answer = client.post(
                "/analyze", files={"file": ("jfk.flac", f, "audio/flac")}, data={"callback_url": receiver.url}
            )
        assert answer.status_code == 202, answer.text
        task_id = answer.json()["task_id"]
        deadline = time.monotonic() + 300
        while not receiver.posts and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(receiver.posts) == 1, "no callback within 300 s"
        headers, body = receiver.posts[0]
        assert receiver.valid(0) and headers["X-FastAudio-Event"] == "task.completed"
        assert json.loads(body) == client.get(f"/api/tasks/{task_id}").json()
        assert "ask not what your country" in json.loads(body)["result"]["text"].lower()
    row = ctx.webhooks.get(task_id)
    assert row and row.delivered_status == "completed" and row.attempts == 1
