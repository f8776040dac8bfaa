"""The voice library in Chromium, on the app as ``make run`` starts it.

dev00.wav and dev01.wav are two excerpts of one meeting (the same two people). Name a speaker of dev00
("Remember this voice" is on by default) → upload dev01 → its Speakers tab asks "Alice? (similar voice)"
→ Confirm → the name is in the SRT export, the Voices page lists Alice with both recordings, and a point of
her chart opens that recording.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.stack import RunningApp, chromium_missing
from tests.browser.user import (
    PAGE_TIMEOUT_MS,
    analyze,
    confirm_voice,
    download,
    go_to,
    open_app,
    rename_speaker,
    settled,
    wait_for_result,
    widget,
)
from tests.tasks import RECURRING_SPEAKER

pytestmark = [pytest.mark.browser, pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))]


def test_name_once_then_confirm_the_suggestion_in_the_next_recording(
    app: RunningApp, page: Page, data: Path, tmp_path: Path
) -> None:
    open_app(page, app.url)
    first = analyze(page, data / "dev00.wav")
    wait_for_result(page)
    rename_speaker(page, RECURRING_SPEAKER, "Alice")
    expect(page.get_by_text("The voice is remembered (Voices page).")).to_be_visible(timeout=PAGE_TIMEOUT_MS)

    open_app(page, app.url)
    analyze(page, data / "dev01.wav")
    wait_for_result(page)
    assert not page.get_by_test_id("stException").count(), app.log_tail()
    speaker = confirm_voice(page, "Alice")
    srt = download(page, "SRT", tmp_path).read_text(encoding="utf-8")
    assert "Alice" in srt and f"{speaker}:" not in srt, srt[:500]

    go_to(page, "Voices")
    expect(page.get_by_role("heading", name="Alice")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_text(re.compile(r"^2 recording\(s\) · talks "))).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    settled(page)
    assert not page.get_by_test_id("stException").count(), app.log_tail()

    # A point of the chart opens its recording: the first (oldest) is dev00.
    point = widget(page, "voices_chart").locator("g.scatterlayer path.point").first
    expect(point).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    box = point.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(re.compile(rf"/task\?task={first}"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="dev00.wav")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
