"""Fixtures of the browser tests: the app as ``make run`` starts it, and a Chromium tab on it.

The test modules mark themselves ``browser`` and skip, saying why, where Debian's Chromium is not
installed (``make test`` installs it when it may).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.chromium import chromium, new_page
from tests.browser.stack import RunningApp, start_app, stop_app


@pytest.fixture(scope="module")
def app(environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """``python -m cli run`` with its own data folder, queue and ports, on the session's Redis; Ctrl-C after."""
    running = start_app(tmp_path_factory.mktemp("browser") / "data", environment["REDIS_URL"])
    yield running
    code = stop_app(running)
    assert code == 0, f"python -m cli run did not stop cleanly on Ctrl-C ({code}):\n{running.log_tail()}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    tab = new_page(browser)
    yield tab
    tab.context.close()
