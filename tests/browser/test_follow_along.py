"""Following a recording on the task page, in Chromium, against the app as ``make run`` starts it.

The follow-along player (ui/follow_along.py) highlights the segment being spoken and keeps it in
view as the recording plays; its speed menu sets the playback rate; Space plays and pauses and the
arrows skip 5 s; a click on a line, or ▶ beside a segment of the transcript, plays from there.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Frame, Page, expect

from services.runtime.broker import free_port
from tests.browser.stack import ANALYSIS_TIMEOUT_S, ROOT, START_TIMEOUT_S, RunningApp, app_environment, chromium_missing
from tests.browser.user import PAGE_TIMEOUT_MS, open_app, player, settled, widget

pytestmark = [pytest.mark.browser, pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))]

TIMES = "\N{MULTIPLICATION SIGN}"  # the speed menu reads "1.5" and this sign
AUDIO = "document.getElementById('audio')"
IN_VIEW = """n => {
    const row = document.querySelectorAll('li.row')[n], pane = document.getElementById('rows');
    return row.offsetTop >= pane.scrollTop - 1
        && row.offsetTop + row.offsetHeight <= pane.scrollTop + pane.clientHeight + 1;
}"""
"""Whether the ``n``-th line lies inside the visible part of the player's transcript pane."""


@pytest.fixture(scope="module")
def analysed(app: RunningApp, data: Path) -> tuple[str, list[dict[str, Any]]]:
    """sample.wav analysed through the API: its task id and segments (the result's order: the transcript's)."""
    with httpx.Client(base_url=app.api_url, timeout=60) as api:
        with open(data / "sample.wav", "rb") as f:
            task_id = api.post("/analyze", files={"file": ("sample.wav", f, "audio/wav")}).json()["task_id"]
        deadline = time.monotonic() + ANALYSIS_TIMEOUT_S
        while (task := api.get(f"/api/tasks/{task_id}").json())["status"] not in ("completed", "failed"):
            assert time.monotonic() < deadline, task
            time.sleep(0.5)
    assert task["status"] == "completed", task["error"]
    segments = task["result"]["segments"]
    assert len(segments) >= 4, segments  # enough to move from line to line
    return task_id, segments


def playing_order(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The segments as the player lists them: by start."""
    return sorted(segments, key=lambda s: s["start"])


@pytest.fixture()
def pages_alone(app: RunningApp, environment: dict[str, str]) -> Iterator[str]:
    """The pages alone (``python -m ui.serve``, no API address, no link secret) on the app's data; their URL."""
    env = app_environment(app.data_dir, environment["REDIS_URL"], free_port())
    for name in ("PUBLIC_API_URL", "MEDIA_URL_SECRET"):
        env.pop(name, None)
    port = free_port()
    with open(app.data_dir.parent / "pages-alone.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ui.serve", "--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(url):
            assert process.poll() is None and time.monotonic() < deadline, "the pages did not start"
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=3) as answer:
            return answer.read().strip() == b"ok"
    except OSError:
        return False


def open_player(page: Page, url: str, task_id: str) -> Frame:
    """The task page of the app at ``url``; returns the player's frame once its recording's length is known."""
    open_app(page, url)
    page.goto(f"{url}/task?task={task_id}")
    expect(page.get_by_role("tab", name="Transcript")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    settled(page)
    frame = player(page)
    until(frame, f"{AUDIO}.readyState >= 1")
    return frame


def until(frame: Frame, condition: str) -> None:
    """Wait until the JavaScript ``condition`` holds in the player (a function: the player's page allows no eval)."""
    frame.wait_for_function(f"() => {condition}", timeout=PAGE_TIMEOUT_MS)


def focus_page(page: Page) -> None:
    """Click the page's heading: the keys go to the page around the player."""
    page.get_by_role("heading", name="sample.wav").click()


def focus_player(frame: Frame) -> None:
    """Click the player's line of hints: the keys go to the player."""
    frame.locator(".hint").click()


def audio(frame: Frame, prop: str) -> Any:
    return frame.evaluate(f"{AUDIO}.{prop}")


def set_time(frame: Frame, seconds: float) -> None:
    frame.evaluate(f"t => {{ {AUDIO}.currentTime = t; }}", seconds)


def words(segment: dict[str, Any]) -> str:
    return " ".join(segment["text"].split())


@pytest.mark.timeout(900)
def test_playing_moves_the_highlight_and_keeps_it_in_view(
    app: RunningApp, page: Page, analysed: tuple[str, list[dict[str, Any]]]
) -> None:
    task_id, result_order = analysed
    segments = playing_order(result_order)
    frame = open_player(page, app.url, task_id)
    rows = frame.locator("li.row")
    expect(rows).to_have_count(len(segments))
    for row, segment in zip(rows.all(), segments, strict=True):
        expect(row).to_contain_text(words(segment))
    highlighted = frame.locator("li.row.active")
    expect(highlighted).to_have_count(0)  # nothing is spoken before it plays

    first, second = segments[0], segments[1]
    set_time(frame, (first["start"] + first["end"]) / 2)
    expect(highlighted).to_contain_text(words(first))
    expect(highlighted).to_have_attribute("aria-current", "true")

    frame.locator("#speed").select_option("2")
    assert audio(frame, "playbackRate") == 2
    set_time(frame, max(first["start"], first["end"] - 0.5))
    focus_page(page)
    page.keyboard.press("Space")  # on the page, outside the player
    until(frame, f"!{AUDIO}.paused")
    expect(highlighted).to_contain_text(words(second), timeout=PAGE_TIMEOUT_MS)  # it played on into the next one
    assert audio(frame, "currentTime") >= second["start"]
    page.keyboard.press("Space")
    until(frame, f"{AUDIO}.paused")

    last = segments[-1]
    pane = frame.locator("#rows")
    assert pane.evaluate("p => p.scrollHeight > p.clientHeight"), "every line fits: nothing to keep in view"
    assert not frame.evaluate(IN_VIEW, len(segments) - 1)  # the last line is below the pane's edge
    set_time(frame, (last["start"] + last["end"]) / 2)
    expect(highlighted).to_contain_text(words(last))
    frame.wait_for_function(IN_VIEW, arg=len(segments) - 1, timeout=PAGE_TIMEOUT_MS)  # the pane scrolled to it
    assert not frame.evaluate(IN_VIEW, 0)
    set_time(frame, (first["start"] + first["end"]) / 2)
    expect(highlighted).to_contain_text(words(first))
    frame.wait_for_function(IN_VIEW, arg=0, timeout=PAGE_TIMEOUT_MS)  # and back
    assert page.get_by_test_id("stMain").evaluate("main => main.scrollTop") == 0  # the page itself stayed put


@pytest.mark.timeout(600)
def test_keys_speed_and_clicks_move_the_recording(
    app: RunningApp, page: Page, analysed: tuple[str, list[dict[str, Any]]]
) -> None:
    task_id, result_order = analysed
    segments = playing_order(result_order)
    frame = open_player(page, app.url, task_id)
    for label, rate in ((f"0.5{TIMES}", 0.5), (f"1.5{TIMES}", 1.5), (f"1{TIMES}", 1.0)):
        frame.get_by_label("Playback speed").select_option(label=label)
        assert audio(frame, "playbackRate") == rate

    set_time(frame, 10)
    focus_player(frame)
    page.keyboard.press("ArrowRight")  # inside the player
    assert audio(frame, "currentTime") == pytest.approx(15, abs=0.01)
    page.keyboard.press("Space")
    until(frame, f"!{AUDIO}.paused")
    page.keyboard.press("Space")
    until(frame, f"{AUDIO}.paused")
    focus_page(page)
    page.keyboard.press("ArrowLeft")  # on the page around it
    assert audio(frame, "currentTime") == pytest.approx(10, abs=0.3)

    third = segments[2]
    frame.locator("li.row").nth(2).click()  # a line of the player: plays from its start
    until(frame, f"!{AUDIO}.paused && {AUDIO}.currentTime >= {third['start'] - 0.05}")
    expect(frame.locator("li.row.active")).to_contain_text(words(third))
    page.keyboard.press("Space")  # the click left the keys with the player
    until(frame, f"{AUDIO}.paused")
    page.keyboard.press("Tab")  # from the third line to the fourth
    page.keyboard.press("Enter")
    until(frame, f"!{AUDIO}.paused && {AUDIO}.currentTime >= {segments[3]['start'] - 0.05}")
    expect(frame.locator("li.row.active")).to_contain_text(words(segments[3]))
    page.keyboard.press("Space")
    until(frame, f"{AUDIO}.paused")

    chosen = 1  # before where it stopped: the player must seek back
    earlier = result_order[chosen]
    assert earlier["end"] < segments[3]["start"]
    widget(page, f"task_play_{chosen}").get_by_role("button").click()  # ▶ beside it in the transcript
    page.wait_for_url(f"**/task?task={task_id}&t=*", timeout=PAGE_TIMEOUT_MS)
    settled(page)
    frame = player(page)
    until(frame, f"!{AUDIO}.paused && {AUDIO}.currentTime >= {earlier['start'] - 0.05}")
    assert audio(frame, "currentTime") < earlier["end"]
    expect(frame.locator("li.row.active")).to_contain_text(words(earlier), timeout=PAGE_TIMEOUT_MS)


@pytest.mark.timeout(600)
def test_without_the_api_the_pages_serve_the_recording_themselves(
    pages_alone: str, page: Page, analysed: tuple[str, list[dict[str, Any]]]
) -> None:
    task_id, result_order = analysed
    frame = open_player(page, pages_alone, task_id)
    assert audio(frame, "currentSrc").startswith(f"{pages_alone}/media/"), audio(frame, "currentSrc")
    last = playing_order(result_order)[-1]
    middle = (last["start"] + last["end"]) / 2
    set_time(frame, middle)
    expect(frame.locator("li.row.active")).to_contain_text(words(last))
    focus_page(page)
    page.keyboard.press("Space")
    until(frame, f"!{AUDIO}.paused && {AUDIO}.currentTime > {middle + 0.2}")  # it plays
