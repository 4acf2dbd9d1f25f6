"""Browser fixtures: Debian's Chromium driven by Playwright (sync API) against the local stack.

The stack is the shared ``local_stack`` fixture (tests/conftest.py): moto S3, the API and the
site on free loopback ports in a child process. Each test gets a fresh browser context (empty
localStorage, no service worker yet) and fails if the page logged an error it did not expect.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


# Module scope, not session: while Playwright's sync API is open its event loop counts as
# running in this thread, and later tests on the same worker (Mangum's handler) would fail.
@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class ConsoleLog:
    """Errors the page logged (console.error, uncaught exceptions), minus the expected ones."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect errors matching ``pattern`` (the browser logs every 4xx answer as one)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [text for text in self.errors if not any(p.search(text) for p in self.allowed)]


@dataclass
class Site:
    url: str
    page: object
    context: object
    console: ConsoleLog

    def open(self, path: str = "/") -> object:
        self.page.goto(f"{self.url}{path}")
        return self.page

    def by_test_id(self, test_id: str):
        return self.page.get_by_test_id(test_id)


def _watch_console(page, console: ConsoleLog) -> None:
    page.on("console", lambda message: message.type == "error" and console.errors.append(message.text))
    page.on("pageerror", lambda error: console.errors.append(f"uncaught: {error}"))


def _site(chromium_browser, url: str, viewport: dict, **context_options) -> Iterator[Site]:
    context = chromium_browser.new_context(viewport=viewport, **context_options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    console = ConsoleLog()
    _watch_console(page, console)
    context.on("page", lambda other: _watch_console(other, console))
    try:
        yield Site(url=url, page=page, context=context, console=console)
        assert console.unexpected() == [], "the page logged errors"
    finally:
        context.close()


@pytest.fixture
def site(chromium_browser, local_stack: str) -> Iterator[Site]:
    """A desktop-sized tab on the local stack."""
    yield from _site(chromium_browser, local_stack, DESKTOP)


@pytest.fixture
def phone_site(chromium_browser, local_stack: str) -> Iterator[Site]:
    """A phone-sized, touch-capable tab on the local stack."""
    yield from _site(chromium_browser, local_stack, PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
