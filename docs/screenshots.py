"""The pictures in the README, taken with headless Chromium from the app as ``make run`` starts it.

    python -m docs.screenshots            (or: python docs/screenshots.py)
    python -m docs.screenshots voices     (only docs/voices.png)

Starts the app on free ports with a data folder of its own (the machine's Redis, or one it starts),
analyses three recordings from tests/data through the Analyze page, names the speakers of
sample.wav after what they say, and saves:

- docs/task-page.png      the task page of sample.wav: transcript and timeline
- docs/follow-along.png   its player, paused in the middle of a segment (highlighted)
- docs/statistics.png     its Statistics tab
- docs/history.png        History searched for a word, hits from several recordings
- docs/history-tasks.png  History's table of the analysed recordings
- docs/voices.png         the Voices page: a speaker of dev00.wav named Alice, confirmed in dev01.wav

It reuses the browser tests' helpers (tests/browser/), so the pictures show what the tests check.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Frame, Locator, Page, expect

from services.config import get_settings
from tests.browser.chromium import chromium, new_page, normal_window, screenshot, tall_window
from tests.browser.stack import RunningApp, chromium_missing, running_app
from tests.browser.user import (
    PAGE_TIMEOUT_MS,
    analyze,
    confirm_voice,
    go_to,
    open_app,
    player,
    rename_speaker,
    search_history,
    settled,
    wait_for_result,
    widget,
)
from tests.helpers import data_dir

DOCS = Path(__file__).resolve().parent
RECORDINGS = ["dev00.wav", "jfk.flac", "sample.wav"]  # the last one is the task page shown
SEARCH = "you"
NAMES = {"this is Diane": "Diane", "I'm Sheila": "Sheila"}
"""sample.wav: a phrase one speaker says → the name that speaker gets."""
FOLLOW_SEGMENT = 2
"""The segment (by start) the player's picture is paused in."""
SETTLE_S = 1.0
"""Plotly redraws after the window grows for a picture; give it a moment (pictures only, not tests)."""


def names_by_speaker(app: RunningApp, task_id: str) -> dict[str, str]:
    """Speaker id → name, for each phrase of ``NAMES`` found in the task's transcript (read over the API)."""
    with urllib.request.urlopen(f"{app.api_url}/api/tasks/{task_id}", timeout=30) as answer:
        segments = json.load(answer)["result"]["segments"]
    return {s["speaker"]: name for phrase, name in NAMES.items() for s in segments if phrase in s["text"]}


def shoot(page: Page, name: str, element: Locator | None = None) -> Path:
    """Save ``docs/<name>`` once the page is drawn and no toast covers it."""
    settled(page)
    expect(page.get_by_test_id("stToast")).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
    tall_window(page)
    try:
        time.sleep(SETTLE_S)
        path = screenshot(page, DOCS / name, element)
    finally:
        normal_window(page)
    print(f"saved {path.relative_to(DOCS.parent)}", flush=True)
    return path


def pause_in_a_segment(frame: Frame) -> None:
    """The player paused in the middle of the ``FOLLOW_SEGMENT``-th line, which is then highlighted."""
    frame.wait_for_function("() => document.getElementById('audio').readyState >= 1", timeout=PAGE_TIMEOUT_MS)
    line = frame.locator("li.row").nth(FOLLOW_SEGMENT)
    line.click()  # plays from its start
    frame.locator("#audio").evaluate("a => { a.pause(); a.currentTime += 1; }")
    expect(line).to_have_attribute("aria-current", "true")


def voices_shot(page: Page, app: RunningApp, data: Path) -> None:
    """dev00.wav with SPEAKER_00 named Alice, dev01.wav with the suggestion confirmed: the Voices page."""
    open_app(page, app.url)
    analyze(page, data / "dev00.wav")
    wait_for_result(page)
    rename_speaker(page, "SPEAKER_00", "Alice")
    open_app(page, app.url)
    analyze(page, data / "dev01.wav")
    wait_for_result(page)
    confirm_voice(page, "Alice")
    go_to(page, "Voices")
    expect(page.get_by_role("heading", name="Alice")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("stAudio")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    shoot(page, "voices.png")


def main(argv: list[str] | None = None) -> int:
    only = (sys.argv[1:] if argv is None else argv)[:1]
    missing = chromium_missing()
    if missing:
        print(f"cannot take screenshots: {missing}", file=sys.stderr)
        return 1
    data = data_dir()
    with (
        tempfile.TemporaryDirectory(prefix="fastaudio-screenshots-") as tmp,
        running_app(Path(tmp) / "data", get_settings().redis_url) as app,
        chromium() as browser,
    ):
        page = new_page(browser)
        if only == ["voices"]:
            voices_shot(page, app, data)
            return 0
        task_id = ""
        for recording in RECORDINGS:
            open_app(page, app.url)
            task_id = analyze(page, data / recording)
            wait_for_result(page)
            print(f"analysed {recording}", flush=True)

        for speaker, name in names_by_speaker(app, task_id).items():
            rename_speaker(page, speaker, name)
        page.get_by_role("tab", name="Transcript").click()
        shoot(page, "task-page.png")
        pause_in_a_segment(player(page))
        shoot(page, "follow-along.png", widget(page, "task_follow_along"))

        page.get_by_role("tab", name="Statistics").click()
        tabs = page.get_by_test_id("stTabs")
        expect(tabs.get_by_text("Overlapping speech")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        shoot(page, "statistics.png", tabs)

        go_to(page, "History")
        expect(page.get_by_text(f"{len(RECORDINGS)} tasks.")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        shoot(page, "history-tasks.png")
        expect(search_history(page, SEARCH).first).to_be_visible()
        shoot(page, "history.png")
        voices_shot(page, app, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
