"""Pytest plugin: a real chromium for end-to-end tests (add to `pytest_plugins`).

One browser per session (a launch costs seconds); every page gets a fresh context (own
cookies, own storage), and every page a test opened is saved as a screenshot in the test's
tmp dir when the test ends, passed or failed. A page that logged an error or threw fails
its test at teardown. Without /usr/bin/chromium the tests skip, except in CI (`CI` set, as
`.ci/run` does), where a missing browser is a failure: `./dev test` installs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.support.browser import (
    DESKTOP,
    PHONE,
    TIMEOUT_MS,
    Console,
    chromium_missing,
    launch,
    screenshot,
)

PageFactory = Callable[..., Page]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not for the session: Playwright's sync API keeps an
    asyncio loop running in the main thread while it is open, and every later test that runs
    `asyncio.run` there (the ONVIF client) would fail with "cannot be called from a running
    event loop"."""
    reason = chromium_missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser tests, not skip them")
        pytest.skip(reason)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def console() -> Console:
    """The errors of every page this test opened; `console.expect(pattern)` for provoked ones."""
    return Console()


@pytest.fixture
def open_page(browser: Browser, console: Console, tmp_path: Path) -> Iterator[PageFactory]:
    """``open_page(name, *, phone=False, locale="en-US", timezone=None)``: a page in a fresh
    context (its time zone `timezone`, e.g. "Asia/Shanghai", else the machine's; its
    Accept-Language from `locale`), saved as ``<tmp_path>/<name>.png`` at teardown.

    Request it after the servers the page talks to, so it closes before they stop.
    """
    opened: list[tuple[str, BrowserContext, Page]] = []

    def open_(
        name: str, *, phone: bool = False, locale: str = "en-US", timezone: str | None = None
    ) -> Page:
        zone = {} if timezone is None else {"timezone_id": timezone}
        context = browser.new_context(locale=locale, **zone, **(PHONE if phone else DESKTOP))
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        console.watch(page)
        opened.append((name, context, page))
        return page

    yield open_
    for name, context, page in opened:
        try:
            if not page.is_closed():
                screenshot(page, tmp_path / f"{name}.png")
        finally:
            context.close()
    unexpected = console.unexpected()
    assert unexpected == [], "the pages reported errors:\n" + "\n".join(unexpected)


@pytest.fixture
def page(open_page: PageFactory) -> Page:
    """A desktop-sized page (1280x800, English); screenshot ``page.png``."""
    return open_page("page")


@pytest.fixture
def phone_page(open_page: PageFactory) -> Page:
    """A phone (390x844 CSS pixels, touch, mobile viewport, Chinese); screenshot ``phone.png``."""
    return open_page("phone", phone=True, locale="zh-CN")
