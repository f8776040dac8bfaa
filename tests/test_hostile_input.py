"""Hostile names and strings against a real stack: a uvicorn API process, the session's Celery worker,
the real database, and the pages through AppTest.

- crafted file names (path traversal, NUL, RTL override, very long, Windows reserved names, HTML,
  Markdown, leading dash, only dots, emoji...) uploaded through the API and the Analyze page;
- hostile search strings through the API and the History page (never query syntax, never a 500);
- the API's trusted hosts and its refusal of cross-site browser writes.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from services.analysis.audio import decode
from services.runtime.context import AppContext, get_context
from services.schema import SAMPLE_RATE
from services.storage.files import safe_name
from services.store.search_query import parse
from tests.helpers import api_client, app_test, child_env, shown
from tests.media import encode_audio
from ui.format import plain

FILENAMES = [
    "../../../../etc/passwd.wav",
    "/absolute/path/rec.wav",
    "..\\..\\windows\\system32\\rec.wav",
    "nul\x00byte.wav",
    "rtl\u202egnp.exe.wav",
    "x" * 300 + ".wav",
    "CON.wav",
    "lpt1.wav",
    "<img src=x onerror=alert(1)>.wav",
    "[Log in again](https://evil.example) ![i](https://evil.example/p.png).wav",
    "-rf --help.wav",
    "....wav",
    "...",
    "🎙️ Besprechung Müller 会議.wav",
    '=HYPERLINK("http://evil.example").wav',
    "line\r\nbreak\tand\x1bescape.wav",
    ":red[colour] $x^2$ :material/home: **bold**.wav",
]
"""17 names; the API and the Analyze page must store each under a safe name and complete the task."""
PAGE_FILENAMES = [name for name in FILENAMES if "\x00" not in name and name.endswith(".wav")]
"""The 15 a browser can send: Streamlit's uploader itself refuses a NUL in a name and an extension that
is not an audio type."""

SEARCHES = [
    '"',
    '""',
    '"unclosed phrase',
    "*",
    "a*",
    "NEAR(a b)",
    "a OR b",
    "a AND NOT b",
    "-a",
    "+a",
    "^a",
    "a:b",
    "column:text",
    "(",
    ")",
    "((a)",
    "a & b | !c",
    "'single'",
    "a <-> b",
    "a:*",
    "!!",
    "\\",
    "%",
    "_",
    "'; DROP TABLE tasks; --",
    "' OR '1'='1",
    "\x00",
    "nul\x00inside",
    "\u202eevil",
    "ｆｕｌｌｗｉｄｔｈ",  # noqa: RUF001 - fullwidth letters are the point of this case
    "🎙️",
    "<script>alert(1)</script>",
    "[x](https://evil.example)",
    "ask " * 40,
    "a" * 500,
    "{}[]|;:,./?~`@#$^&=",
]
"""36 strings that mean something to FTS5, to_tsquery, SQL, Markdown or HTML."""


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, data: Path) -> bytes:
    """The first 3 s of jfk.flac as WAV: short, so a score of uploads completes in seconds."""
    audio = decode(data / "jfk.flac")[: 3 * SAMPLE_RATE]
    path = encode_audio(tmp_path_factory.mktemp("clip") / "clip.wav", np.asarray(audio), SAMPLE_RATE, "pcm_s16le")
    return path.read_bytes()


@pytest.fixture(scope="module")
def api(environment: dict[str, str], worker, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with api_client(child_env(**environment), tmp_path_factory.mktemp("api") / "api.log", timeout=60) as (client, _):
        yield client


def _wait_final(ctx: AppContext, task_ids: list[str], timeout: float = 300) -> list:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = [ctx.repo.require(t) for t in task_ids]
        if all(t.is_final for t in tasks):
            return tasks
        time.sleep(0.5)
    raise AssertionError("uploads not final in time")


def _check_stored(ctx: AppContext, task) -> None:  # type: ignore[no-untyped-def]
    root = Path(ctx.settings.uploads_dir).resolve()
    name = task.recording.filename
    assert name and "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and len(name) <= 120 and name.isprintable()
    assert name.split(".")[0].upper() not in ("CON", "LPT1", "NUL")
    stored = (root / task.recording.stored_path).resolve()
    assert stored.is_relative_to(root) and stored.is_file()


def test_crafted_file_names_through_the_api(api: httpx.Client, ctx: AppContext, clip: bytes) -> None:
    ids = []
    for name in FILENAMES:
        answer = api.post("/analyze", files={"file": (name, clip, "audio/wav")})
        assert answer.status_code == 202, (name, answer.text)
        ids.append(answer.json()["task_id"])
    tasks = _wait_final(ctx, ids)
    for name, task in zip(FILENAMES, tasks, strict=True):
        assert task.status == "completed", (name, task.error)
        _check_stored(ctx, task)
        listed = api.get(f"/api/tasks/{task.id}")
        assert listed.status_code == 200 and listed.json()["filename"] == task.recording.filename
        export = api.get(f"/api/tasks/{task.id}/export", params={"format": "srt"})
        assert export.status_code == 200 and export.headers["content-disposition"].isascii()
        assert "\n" not in export.headers["content-disposition"]
    assert tasks[0].recording.filename == "passwd.wav" and tasks[6].recording.filename == "_CON.wav"


def test_crafted_file_names_through_the_pages(ctx: AppContext, clip: bytes, worker) -> None:  # type: ignore[no-untyped-def]
    at = app_test("app_pages/analyze.py")
    at.run()
    at.file_uploader(key="analyze_upload").set_value([(name, clip, "audio/wav") for name in PAGE_FILENAMES]).run()
    assert not at.exception, at.exception
    at.button(key="analyze_submit").click().run()
    assert not at.exception
    batch = at.query_params["batch"]
    ids = (batch[0] if isinstance(batch, list) else batch).split(",")
    assert len(ids) == len(PAGE_FILENAMES)
    tasks = _wait_final(ctx, ids)
    for task in tasks:
        assert task.status == "completed", task.error
        _check_stored(ctx, task)
    assert [t.recording.filename for t in tasks] == [safe_name(n) for n in PAGE_FILENAMES]
    for task in tasks:  # each task page shows the name as stored, literally
        page = app_test("app_pages/task.py", task=task.id)
        page.run()
        assert not page.exception and page.title[0].value == plain(task.recording.filename)
        assert shown(page.title[0].value) == task.recording.filename
    history = app_test("app_pages/history.py")
    history.run()
    assert not history.exception


def test_hostile_searches_never_become_query_syntax() -> None:
    assert len(SEARCHES) >= 30
    for text in SEARCHES:
        query = parse(text)
        for term in query.terms:
            assert all(w.isalnum() for w in term.words), (text, term)  # only letters and digits reach the index
        fts = query.fts5()
        assert fts.replace('"', "").replace("*", "").replace(" AND ", " ").replace(" ", "").isalnum() or not fts


def test_hostile_searches_through_the_api(api: httpx.Client) -> None:
    for text in SEARCHES:
        answer = api.get("/api/tasks", params={"q": text})
        assert answer.status_code in (200, 422), (text, answer.status_code, answer.text)
        if len(text) <= 500 and "\x00" not in text:
            assert answer.status_code == 200, (text, answer.text)


def test_hostile_searches_through_the_history_page(ctx: AppContext) -> None:
    at = app_test("app_pages/history.py")
    at.run()
    for text in SEARCHES:
        at.text_input(key="history_search").input(text).run()
        assert not at.exception, (text, at.exception)
        shown_text = " ".join(e.value for e in [*at.markdown, *at.caption, *at.info])
        assert "<script>" not in shown_text and "](" not in shown_text.replace("\\](", "")


def test_the_api_answers_only_to_trusted_host_names(api: httpx.Client) -> None:
    port = api.base_url.port
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert api.get("/health", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example", f"rebind.evil.example:{port}", ""):
        answer = api.get("/api/tasks", headers={"Host": host})
        assert answer.status_code == 400 and "PUBLIC_HOSTS" in answer.json()["detail"], host


def test_other_websites_cannot_post_without_a_token(api: httpx.Client, clip: bytes) -> None:
    port = api.base_url.port
    files = {"file": ("clip.wav", clip, "audio/wav")}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": f"http://localhost:{port}", "Sec-Fetch-Site": "cross-site"},
    ):
        answer = api.post("/analyze", files=files, headers=headers)
        assert answer.status_code == 403 and "API_TOKEN" in answer.json()["detail"], headers
    listed = api.get("/api/tasks", params={"limit": 1}).json()["items"][0]["task_id"]
    assert api.delete(f"/api/tasks/{listed}", headers={"Origin": "https://evil.example"}).status_code == 403
    assert api.get(f"/api/tasks/{listed}").status_code == 200  # still there
    same_site = {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}
    assert api.post("/analyze", files=files, headers=same_site).status_code == 202  # the app's own origin
    assert api.post("/analyze", files=files).status_code == 202  # curl and scripts send neither header


def test_the_player_streams_from_the_api_through_a_signed_link(
    ctx: AppContext, clip: bytes, data: Path, analysed: str
) -> None:
    """The task page's player gets a signed link; the API serves byte ranges of the file from disk, and
    refuses a wrong or expired signature (even though the link needs no bearer token)."""
    import os

    from starlette.testclient import TestClient

    from api.main import create_app
    from services.config import get_settings
    from services.storage.media_links import audio_link

    stored = ctx.storage.save("player.wav", clip)
    task = ctx.repo.create(filename="player.wav", stored_path=stored.key, size_bytes=stored.size_bytes, duration=3.0)
    secret = "s" * 64
    os.environ.update(MEDIA_URL_SECRET=secret, PUBLIC_API_URL="http://127.0.0.1:8000", API_TOKEN="t0ken")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        app = create_app(dataclasses.replace(ctx, settings=settings))  # the session's database, these settings
        client = TestClient(app, base_url="http://127.0.0.1:8000")
        link = audio_link("http://127.0.0.1:8000", task.id, secret)
        part = client.get(link, headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and part.content == clip[:100]
        assert part.headers["content-range"] == f"bytes 0-99/{len(clip)}" and part.headers["accept-ranges"] == "bytes"
        assert client.get(link).content == clip
        assert client.get(link.replace("signature=", "signature=0")).status_code == 403
        assert client.get(audio_link("http://127.0.0.1:8000", task.id, secret, now=0)).status_code == 403  # expired
        other = ctx.repo.create(filename="x.wav", stored_path=stored.key, size_bytes=1, duration=1.0)
        assert client.get(link.replace(task.id, other.id)).status_code == 403  # a link opens its own task only
        assert client.get(f"/api/tasks/{task.id}").status_code == 401  # the token still guards everything else

        from tests.tasks import copy_task

        completed = copy_task(ctx, data, analysed, name="played.wav")
        get_context.cache_clear()  # the page's context reads these settings
        page = app_test("app_pages/task.py", task=completed)
        page.run()
        assert not page.exception
        (player,) = page.get("component_instance")  # the follow-along player (ui.follow_along)
        source = json.loads(player.proto.json_args)["src"]  # the web process hands the browser a link, not the file
        assert source.startswith(f"http://127.0.0.1:8000/api/tasks/{completed}/audio?expires=")
        assert client.get(source, headers={"Range": "bytes=0-3"}).content == b"RIFF"
    finally:
        for key in ("MEDIA_URL_SECRET", "PUBLIC_API_URL", "API_TOKEN"):
            os.environ.pop(key, None)
        get_settings.cache_clear()
        get_context.cache_clear()
