"""Speaker names typed at upload and highlighted unsure words, in Chromium, on the app as ``make run`` starts it.

Analyze: "Speaker names" = ``Alice, <b>Bob</b>`` → sample.wav is analysed → the speakers heard first and
second carry those names (as text) in the timeline and the Speakers tab → the transcript highlights
the words tiny.en was unsure of ("Diane", 0.26), and the toggle takes the highlights away.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.stack import RunningApp, chromium_missing
from tests.browser.user import PAGE_TIMEOUT_MS, analyze, open_app, settled, timeline, wait_for_result, widget

pytestmark = [pytest.mark.browser, pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))]


def test_names_at_upload_and_unsure_words_on_the_task_page(app: RunningApp, page: Page, data: Path) -> None:
    open_app(page, app.url)
    names = page.get_by_label("Speaker names (optional)", exact=True)
    names.fill("Alice, <b>Bob</b>")
    names.press("Tab")  # a text input is sent when it loses the focus
    settled(page)
    analyze(page, data / "sample.wav")
    wait_for_result(page)
    assert not page.get_by_test_id("stException").count(), app.log_tail()

    expect(timeline(page).get_by_text("Alice", exact=True)).to_be_visible()
    expect(timeline(page).get_by_text("<b>Bob</b>", exact=True)).to_be_visible()  # a name, not markup
    assert page.locator("b", has_text="Bob").count() == 0

    transcript = page.get_by_role("tabpanel", name="Transcript")
    expect(transcript.get_by_text("this is Diane in New Jersey").first).to_be_visible()
    expect(widget(page, "task_mark_unsure")).to_be_visible()
    unsure = transcript.get_by_text("Diane", exact=True)  # the highlight is an element of its own
    expect(unsure.first).to_be_visible()
    colour = unsure.first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), colour

    widget(page, "task_mark_unsure").get_by_text("Mark unsure words").click()
    expect(transcript.get_by_text("Diane", exact=True)).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
    expect(transcript.get_by_text("this is Diane in New Jersey").first).to_be_visible()

    page.get_by_role("tab", name="Speakers").click()  # the names are the analyst's to change, like typed ones
    fields = [page.get_by_label(speaker, exact=True) for speaker in ("SPEAKER_00", "SPEAKER_01")]
    expect(fields[0]).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    assert {field.input_value() for field in fields} == {"Alice", "<b>Bob</b>"}
