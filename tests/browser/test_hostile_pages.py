"""Hostile text in Chromium, against the app as ``make run`` starts it with a password sign-in.

A person signs in (a wrong password first), then opens a task whose speaker names and corrections
are HTML, Markdown, autolinks and formulas, a ``?task=`` link carrying a payload, and History's
search hits over that text. Every request the browser makes goes to the app's own origin, no link or
image of the payload is in the DOM (Plotly's SVG included), and the payload text is shown as typed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from services.results.edits import SegmentEdit
from services.runtime.sign_in import hash_password
from services.store.edits_repo import EditsRepo
from tests.browser.chromium import new_page
from tests.browser.stack import RunningApp, chromium_missing, start_app, stop_app
from tests.browser.user import PAGE_TIMEOUT_MS, search_history, settled

pytestmark = [pytest.mark.browser, pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))]

PASSWORD = "a long browser password"
EVIL = "evil.example"
NAMES = {
    "SPEAKER_00": "![x](http://evil.example/n.png) [Log in again](https://evil.example/l)",
    "SPEAKER_01": '<a href="http://evil.example/a">Sheila</a><img src="http://evil.example/i">',
}
CORRECTION = (
    "Visit www.evil.example or http://evil.example/c a@evil.example <b>bold</b> :red[red] :smile: $x^2$ **stars**"
)
TASK_PARAM = "![t](http://evil.example/t.png) [Log in again](http://evil.example/t)"
DANGER = f"[href*='{EVIL}'], [src*='{EVIL}'], [*|href*='{EVIL}'], [srcset*='{EVIL}']"
"""Any element of the page (HTML or SVG) that links to or loads from the payload's host."""


@pytest.fixture(scope="module")
def signed_app(environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    running = start_app(
        tmp_path_factory.mktemp("hostile") / "data",
        environment["REDIS_URL"],
        PAGES_USERS=f"diane:{hash_password(PASSWORD)}",
    )
    yield running
    assert stop_app(running) == 0, running.log_tail()


@pytest.fixture(scope="module")
def hostile_task(signed_app: RunningApp, data: Path) -> str:
    """A completed analysis of sample.wav (through the API), with hostile names and a hostile correction."""
    with httpx.Client(base_url=signed_app.api_url, timeout=60) as api:
        with open(data / "sample.wav", "rb") as f:
            task_id = api.post("/analyze", files={"file": ("sample.wav", f, "audio/wav")}).json()["task_id"]
        deadline = time.monotonic() + 300
        while (task := api.get(f"/api/tasks/{task_id}").json())["status"] not in ("completed", "failed"):
            assert time.monotonic() < deadline, task
            time.sleep(0.5)
    assert task["status"] == "completed", task["error"]
    edits = EditsRepo(_engine(signed_app))
    for speaker, name in NAMES.items():
        edits.rename(task_id, speaker, name)
    edits.save_segment(task_id, 0, SegmentEdit(index=0, text=CORRECTION))
    return task_id


def _engine(app: RunningApp):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(f"sqlite:///{app.data_dir / 'fastaudio.db'}")


@pytest.fixture()
def watched(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A tab that records the URL of every request it makes."""
    tab = new_page(browser)
    requests: list[str] = []
    tab.on("request", lambda request: requests.append(request.url))
    yield tab, requests
    tab.context.close()


def _sign_in(page: Page, password: str) -> None:
    page.get_by_label("Name", exact=True).fill("diane")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def _text(where) -> str:  # type: ignore[no-untyped-def]
    """What a person reads there (the pages' invisible word joiners, ``ui.format.WORD_JOINER``, removed)."""
    return where.inner_text().replace("\u2060", "")


def _own_origins(app: RunningApp) -> set[str]:
    return {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in (app.url, app.api_url)}


def _assert_nothing_hostile(page: Page, requests: list[str], app: RunningApp) -> None:
    settled(page)
    foreign = [
        u
        for u in requests
        if not u.startswith(("data:", "blob:"))
        and f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" not in _own_origins(app)
    ]
    assert not foreign, foreign
    assert page.locator(DANGER).count() == 0, page.locator(DANGER).first.evaluate("e => e.outerHTML")
    assert not page.get_by_test_id("stException").count(), app.log_tail()


@pytest.mark.timeout(900)
def test_sign_in_then_hostile_names_and_corrections_show_as_text(
    signed_app: RunningApp, hostile_task: str, watched: tuple[Page, list[str]]
) -> None:
    page, requests = watched
    page.goto(f"{signed_app.url}/task?task={hostile_task}")  # a shared link, before signing in
    expect(page.get_by_role("heading", name="Sign in to FastAudio")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_text("sample.wav")).to_have_count(0)  # nothing of the task before sign-in
    _sign_in(page, "wrong password")
    expect(page.get_by_text("Wrong name or password.")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    _sign_in(page, PASSWORD)
    expect(page.get_by_role("tab", name="Transcript")).to_be_visible(timeout=PAGE_TIMEOUT_MS)

    panel = page.get_by_role("tabpanel", name="Transcript")
    for name in NAMES.values():  # the speaker headers: HTML elements, drawn once their code has loaded
        expect(panel.get_by_text(name, exact=True).first).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    assert CORRECTION in _text(panel)
    timeline = page.locator(".js-plotly-plot").first
    expect(timeline.get_by_text(re.compile(re.escape('<a href="http://evil.example/a">Sheila</a>')))).to_have_count(1)
    # The player streams the recording from the API (a signed link, range requests), not from the web process.
    audio = f"{signed_app.api_url}/api/tasks/{hostile_task}/audio?expires="
    for _ in range(100):
        if any(u.startswith(audio) for u in requests):
            break
        page.wait_for_timeout(100)
    assert any(u.startswith(audio) for u in requests), [u for u in requests if "audio" in u or "media" in u]
    player = page.locator(".st-key-task_follow_along iframe").content_frame  # the follow-along player: text too
    for name in NAMES.values():
        expect(player.locator(".who").get_by_text(name, exact=True).first).to_be_visible()
    assert CORRECTION in _text(player.locator("#rows"))
    assert player.locator(f"{DANGER}, #rows img, #rows a, #timeline img").count() == 0
    page.get_by_role("tab", name="Speakers").click()
    _assert_nothing_hostile(page, requests, signed_app)
    page.get_by_role("tab", name="Statistics").click()
    _assert_nothing_hostile(page, requests, signed_app)


@pytest.mark.timeout(600)
def test_a_hostile_task_link_and_search_hits_show_as_text(
    signed_app: RunningApp, hostile_task: str, watched: tuple[Page, list[str]]
) -> None:
    page, requests = watched
    page.goto(f"{signed_app.url}/task?task={quote(TASK_PARAM)}")
    _sign_in(page, PASSWORD)
    expect(page.get_by_text(re.compile("There is no task"))).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    assert f"There is no task “{TASK_PARAM}”. It may have been deleted." in _text(page.locator("body"))
    _assert_nothing_hostile(page, requests, signed_app)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="History").click()
    hits = search_history(page, "stars")
    expect(hits.first).to_be_visible()
    assert "<b>bold</b> :red[red] :smile: $x^2$" in _text(page.locator("body"))
    _assert_nothing_hostile(page, requests, signed_app)
