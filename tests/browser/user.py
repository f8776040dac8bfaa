"""What a person does in the app, step by step, as Playwright actions on what they see.

Elements are found by role, label and text where a person would find them; a widget key
(Streamlit puts ``st-key-<key>`` on the widget's element) only where a label is ambiguous.
Every wait is for something to appear on the page, bounded by a timeout.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Frame, Locator, Page, expect

from tests.browser.stack import ANALYSIS_TIMEOUT_S
from ui.format import STAGE_LABELS

PAGE_TIMEOUT_MS = 60_000
"""A page or a rerun on a busy two-core machine (a test run may be going on beside this one)."""
PROGRESS = re.compile("(" + "|".join(re.escape(label) for label in STAGE_LABELS.values()) + r")…")
TASK_URL = re.compile(r"/task\?task=(?P<id>[0-9a-f-]{36})")


def widget(page: Page, key: str) -> Locator:
    """The element of the widget created with ``key=...`` in app_pages/ or ui/."""
    return page.locator(f".st-key-{key}")


def open_app(page: Page, url: str) -> None:
    """The app's address, as a person types it: the Analyze page opens.

    The root, not a deep link: a freshly started Streamlit only learns that app.py navigates
    (``st.navigation``) once app.py has run; until then ``/history`` or ``/task?task=`` runs the
    page file alone, without the sidebar and the wide layout.
    """
    page.goto(url)
    expect(page.get_by_role("heading", name="Analyze a recording")).to_be_visible(timeout=PAGE_TIMEOUT_MS)


def analyze(page: Page, audio: Path) -> str:
    """Choose ``audio`` in the uploader, click Analyze; returns the task id from the task page's URL."""
    page.locator(".st-key-analyze_upload input[type=file]").set_input_files(audio)
    expect(page.get_by_text(audio.name, exact=True)).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    submit = page.get_by_role("button", name="Analyze", exact=True)
    expect(submit).to_be_enabled(timeout=PAGE_TIMEOUT_MS)
    submit.click()
    page.wait_for_url(TASK_URL, timeout=PAGE_TIMEOUT_MS)
    match = TASK_URL.search(page.url)
    assert match, page.url
    return match["id"]


def progress(page: Page) -> Locator:
    """The progress bar's text (``Transcribing speech… 40%``) while a task waits or runs."""
    return page.get_by_test_id("stProgress").get_by_text(PROGRESS)


def wait_for_result(page: Page, timeout_s: float = ANALYSIS_TIMEOUT_S) -> None:
    """Until the finished task shows its timeline (drawn by Plotly) and its transcript."""
    expect(page.get_by_role("tab", name="Transcript")).to_be_visible(timeout=timeout_s * 1000)
    expect(timeline(page).get_by_text("Who spoke when")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    settled(page)


def timeline(page: Page) -> Locator:
    return widget(page, "task_timeline")


def settled(page: Page) -> None:
    """Until Streamlit has redrawn every element of the current run (none is greyed out as stale).

    Call it after something visible proved that the run began (a toast, a new heading): before
    a run starts nothing is stale either.
    """
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=PAGE_TIMEOUT_MS)


def rename_speaker(page: Page, speaker_id: str, name: str) -> None:
    """Speakers tab → the input labelled with the speaker's id → the name, Enter; waits for the page to follow."""
    page.get_by_role("tab", name="Speakers").click()
    field = page.get_by_label(speaker_id, exact=True)
    field.fill(name)
    field.press("Enter")
    expect(page.get_by_text(f"{speaker_id} is now called {name}.")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    settled(page)


def download(page: Page, label: str, folder: Path) -> Path:
    """Click the export button labelled ``label`` (``SRT``, ``DOCX``); returns the saved file."""
    with page.expect_download(timeout=PAGE_TIMEOUT_MS) as started:
        page.get_by_role("button", name=label, exact=True).click()
    file = started.value
    assert file.failure() is None, file.failure()
    target = folder / file.suggested_filename
    file.save_as(target)
    return target


def go_to(page: Page, title: str) -> None:
    """A page of the sidebar's navigation (``History``, ``Analyze``...), by its link."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.wait_for_url(re.compile(rf"/{title.lower()}(\?|$)"), timeout=PAGE_TIMEOUT_MS)


def search_history(page: Page, query: str) -> Locator:
    """Type ``query`` into History's search box; returns the links of the hits once they are listed."""
    box = page.get_by_label("Search transcripts")
    box.fill(query)
    box.press("Enter")
    expect(page.get_by_text(re.compile(r"\d+ matching segments?\."))).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    settled(page)
    return page.get_by_role("link", name=re.compile(r" · \d+:\d\d"))


def player(page: Page) -> Frame:
    """The task page's follow-along player (ui/follow_along.py): the frame of its component."""
    handle = widget(page, "task_follow_along").locator("iframe").element_handle(timeout=PAGE_TIMEOUT_MS)
    frame = handle.content_frame()
    assert frame is not None, "the player's frame has no document"
    frame.wait_for_selector("#audio", state="attached", timeout=PAGE_TIMEOUT_MS)  # its page has loaded
    return frame


def confirm_voice(page: Page, name: str) -> str:
    """Speakers tab → "<name>? (similar voice …)" → Confirm; returns the id of the speaker it named."""
    page.get_by_role("tab", name="Speakers").click()
    expect(page.get_by_text(f"{name}? (similar voice")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    box = page.locator("[class*='st-key-task_voice_yes_']")
    expect(box).to_have_count(1)  # one voice, one speaker of the recording
    found = re.search(r"st-key-task_voice_yes_(\S+)", box.get_attribute("class") or "")
    assert found, box.get_attribute("class")
    box.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(f"{found[1]} is {name}.")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    settled(page)
    return found[1]
