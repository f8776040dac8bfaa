"""Split a speaker in Chromium: two people merged by mistake are separated again from the Speakers tab.

Upload sample.wav → Speakers tab → merge SPEAKER_01 into SPEAKER_00 (the timeline shows one speaker) →
"This speaker is really several people": split SPEAKER_00 into 2 → both are back, without a new analysis.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.stack import RunningApp, chromium_missing
from tests.browser.user import PAGE_TIMEOUT_MS, analyze, open_app, settled, timeline, wait_for_result

pytestmark = [pytest.mark.browser, pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))]


@pytest.mark.timeout(900)
def test_merge_two_speakers_then_split_them_again(app: RunningApp, page: Page, data) -> None:  # type: ignore[no-untyped-def]
    open_app(page, app.url)
    analyze(page, data / "sample.wav")
    wait_for_result(page)
    expect(timeline(page).get_by_text("SPEAKER_01", exact=True)).to_be_visible()

    page.get_by_role("tab", name="Speakers").click()
    page.get_by_role("button", name="Merge", exact=True).click()  # defaults: the last speaker into the first
    expect(page.get_by_text("SPEAKER_01 is merged into SPEAKER_00.")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    settled(page)
    expect(timeline(page).get_by_text("SPEAKER_01", exact=True)).to_have_count(0)

    page.get_by_role("button", name="Split", exact=True).click()  # defaults: the first speaker, into 2
    expect(page.get_by_text(re.compile(r"SPEAKER_00 is now 2 speakers"))).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    settled(page)
    expect(timeline(page).get_by_text("SPEAKER_01", exact=True)).to_be_visible()
    expect(timeline(page).get_by_text("SPEAKER_00", exact=True)).to_be_visible()
    assert not page.get_by_test_id("stException").count(), app.log_tail()
