"""Debian's Chromium, headless, through Playwright; and screenshots of a whole Streamlit page.

Never a browser Playwright downloads: ``playwright install`` is not part of this project.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, Playwright, sync_playwright

from tests.browser.stack import CHROMIUM, CHROMIUM_ARGS

WIDTH, HEIGHT = 1400, 900
"""The window: wide enough for the app's wide layout, the size of the pictures in docs/."""


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium from /usr/bin/chromium, closed afterwards."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def new_page(browser: Browser) -> Page:
    """A fresh tab (its own Streamlit session) that accepts downloads, in English and UTC."""
    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, accept_downloads=True, locale="en-US", timezone_id="UTC"
    )
    return context.new_page()


def tall_window(page: Page) -> None:
    """Make the window as tall as the page's content.

    Streamlit scrolls inside its main area, not the document, so a "full page" screenshot would
    stop at the window's edge. ``normal_window`` undoes it.
    """
    height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
    page.set_viewport_size({"width": WIDTH, "height": max(HEIGHT, int(height))})


def normal_window(page: Page) -> None:
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})


def screenshot(page: Page, path: Path, element: Locator | None = None, margin: int = 16) -> Path:
    """A PNG of the whole page in a window made ``tall_window``, or of ``element`` with ``margin`` px around it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover effects (Plotly's toolbar) in the picture
    if element is None:
        page.screenshot(path=path, animations="disabled")
        return path
    box = element.bounding_box()
    assert box is not None, f"{element} is not on the page"
    clip = {
        "x": max(0.0, box["x"] - margin),
        "y": max(0.0, box["y"] - margin),
        "width": box["width"] + 2 * margin,
        "height": box["height"] + 2 * margin,
    }
    page.screenshot(path=path, clip=clip, animations="disabled")
    return path
