"""A real browser for the desk's end-to-end tests: Playwright driving Debian's chromium.

`playwright install` cannot download a browser here (and CI should not depend on a download),
so Playwright launches the `chromium` package `./dev test` installs. What a test needs around
a page lives here, apart from the fixtures (`browser_fixtures.py`): the errors the page
reported, its reloads, its screenshot, whether it fits a phone's width.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Error, Frame, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
TIMEOUT_MS = 30_000  # a default for every action: the machine is busy, conditions are waited for


def chromium_missing() -> str | None:
    """None when the browser can be launched, else why not (for pytest.skip or pytest.fail)."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} missing: apt-get install chromium (./dev test installs it)"
    return None


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM))


@dataclass
class Console:
    """Every error the pages of a test reported: console.error lines (which include failed
    resource loads) and uncaught exceptions. A test ends with none."""

    errors: list[str] = field(default_factory=list)
    expected: list[re.Pattern[str]] = field(default_factory=list)

    def expect(self, pattern: str) -> None:
        """Errors matching `pattern` (a regular expression) are what the test provokes."""
        self.expected.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.expected)]

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", self._on_exception)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"console.error {message.text!r} at {where}")

    def _on_exception(self, error: Error) -> None:
        self.errors.append(f"uncaught {error.name}: {error.message}")


class Navigations:
    """Counts the loads of a page's main frame: a reload or a followed link is one more, a
    fragment swapped in by the page's own script is none."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0
        page.on("framenavigated", self._on_navigated)

    def _on_navigated(self, frame: Frame) -> None:
        if frame == self.page.main_frame:
            self.count += 1


def mark_document(page: Page) -> str:
    """Put a random token on the current document; `document_marked` finds it only while the
    same document is shown (any reload replaces `window`)."""
    token = os.urandom(8).hex()
    page.evaluate("token => { window.__e2eDocument = token; }", token)
    return token


def document_marked(page: Page, token: str) -> bool:
    return bool(page.evaluate("token => window.__e2eDocument === token", token))


def record_first_match(page: Page, selector: str) -> None:
    """From now on, the page notes in `window.__e2eFirstSeen` the wall-clock milliseconds
    (Date.now()) when an element matching `selector` first exists, whoever puts it there: the
    browser's own clock, so a slow test process cannot make the page look late."""
    page.evaluate(
        """selector => {
            window.__e2eFirstSeen = null;
            const look = () => {
                if (window.__e2eFirstSeen === null && document.querySelector(selector)) {
                    window.__e2eFirstSeen = Date.now();
                }
            };
            new MutationObserver(look).observe(
                document.documentElement, {subtree: true, childList: true, attributes: true});
            look();
        }""",
        selector,
    )


def first_seen_s(page: Page) -> float | None:
    """The wall-clock time (seconds) `record_first_match`'s element appeared, None if not yet."""
    ms = page.evaluate("window.__e2eFirstSeen")
    return None if ms is None else float(ms) / 1000.0


def horizontal_overflow_px(page: Page) -> int:
    """How far the document is wider than the viewport (0: nothing to scroll sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def screenshot(page: Page, path: Path) -> Path:
    """The whole page as a PNG at `path` (also below the fold)."""
    page.screenshot(path=str(path), full_page=True)
    return path
