"""An analyst's whole visit, in Chromium, against the app as ``make run`` starts it.

Upload sample.wav on Analyze → watch the task page's progress → transcript and timeline →
name SPEAKER_00 → the SRT and DOCX downloads carry the name → History's search finds a phrase →
its hit opens the recording at that moment.
"""

from __future__ import annotations

import re
from pathlib import Path

import docx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.stack import RunningApp, chromium_missing
from tests.browser.user import (
    PAGE_TIMEOUT_MS,
    analyze,
    download,
    go_to,
    open_app,
    progress,
    rename_speaker,
    search_history,
    timeline,
    wait_for_result,
)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))]

CUE = re.compile(r"^\d+\n(?P<start>[\d:,]+) --> [\d:,]+\n(?P<speaker>[^:\n]+): ", re.M)


def srt_speakers(path: Path) -> dict[str, str]:
    """Cue start → the speaker the cue names."""
    return {m["start"]: m["speaker"] for m in CUE.finditer(path.read_text(encoding="utf-8"))}


def docx_speakers(path: Path) -> list[str]:
    """The names a Word export shows: its Speaker table, then the bold name opening each block."""
    document = docx.Document(str(path))
    table = [row.cells[0].text for row in document.tables[0].rows[1:]]
    blocks = [p.runs[0].text for p in document.paragraphs if p.runs and p.runs[0].bold]
    return table + blocks


def test_a_shared_link_opens_its_page_inside_the_app(app: RunningApp, page: Page) -> None:
    """The first visit to a fresh server is a deep link (a reload, a link from a colleague)."""
    page.goto(f"{app.url}/history")
    expect(page.get_by_role("heading", name="History")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Who said what, and when.")).to_be_visible()  # app.py's shared sidebar ran
    expect(sidebar.get_by_role("link", name="app", exact=True)).to_have_count(0)  # no stray old-style page


@pytest.mark.timeout(900)
def test_upload_analyse_name_export_and_find_it_in_history(
    app: RunningApp, page: Page, data: Path, tmp_path: Path
) -> None:
    open_app(page, app.url)
    task_id = analyze(page, data / "sample.wav")

    expect(page.get_by_role("heading", name="sample.wav")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(progress(page)).to_be_visible(timeout=PAGE_TIMEOUT_MS)  # "Waiting in the queue…", "Transcribing speech… 40%"

    wait_for_result(page)
    assert not page.get_by_test_id("stException").count(), app.log_tail()
    expect(page.get_by_text(re.compile(rf"completed · task {task_id}"))).to_be_visible()
    transcript = page.get_by_role("tabpanel", name="Transcript")
    expect(transcript.get_by_text("this is Diane in New Jersey")).to_be_visible()
    expect(timeline(page).get_by_text("SPEAKER_00", exact=True)).to_be_visible()
    before = srt_speakers(download(page, "SRT", tmp_path / "before"))
    assert "SPEAKER_00" in before.values(), before

    rename_speaker(page, "SPEAKER_00", "Diane")

    expect(timeline(page).get_by_text("Diane", exact=True)).to_be_visible()
    expect(timeline(page).get_by_text("SPEAKER_00", exact=True)).to_have_count(0)
    after = srt_speakers(download(page, "SRT", tmp_path / "after"))
    assert after == {start: "Diane" if who == "SPEAKER_00" else who for start, who in before.items()}
    names = docx_speakers(download(page, "DOCX", tmp_path / "after"))
    assert "Diane" in names and "SPEAKER_00" not in names, names

    go_to(page, "History")
    hits = search_history(page, "New Jersey")
    expect(hits.first).to_be_visible()
    expect(page.get_by_text("Jersey", exact=True).first).to_be_visible()  # a matched word, in bold
    moment = re.search(r"sample\.wav · (\d+:\d\d)", hits.first.inner_text())
    assert moment, hits.first.inner_text()
    hits.first.click()

    page.wait_for_url(re.compile(rf"/task\?task={task_id}&t=\d+(\.\d+)?$"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="sample.wav")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_text(f"Playing from {moment[1]}.")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
