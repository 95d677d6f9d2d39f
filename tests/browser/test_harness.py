"""The browser harness itself (tests/support/browser_fixtures.py), run as pytest runs it.

A small suite against a tiny local web server is run in its own pytest process: a passing
test, a failing one and one whose page logs an error. The harness must leave a screenshot of
every page of each (the failed one too), size the phone page as a phone, show Chinese text,
and fail the test whose page reported an error it did not expect, naming it. Without chromium
the browser tests skip, except in CI, where they fail.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from playwright.sync_api import Browser

from tests.support.browser import PHONE
from tests.support.paths import REPO

INNER = """
import functools
import http.server
import threading

import pytest

PAGES = {
    "index.html": "<!doctype html><meta charset=utf-8><link rel=icon href='data:,'>"
    "<meta name=viewport content='width=device-width'>"
    "<title>检查站</title><h1 id=title>测试检查站 一号卡口</h1>",
    "broken.html": "<!doctype html><meta charset=utf-8><link rel=icon href='data:,'>"
    "<script>console.error('boom from the page')</script>",
}


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    for name, text in PAGES.items():
        (root / name).write_text(text, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site")
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join()
    server.server_close()


def test_passes(site, page, phone_page):
    page.goto(site + "index.html")
    assert page.locator("#title").inner_text() == "测试检查站 一号卡口"
    phone_page.goto(site + "index.html")
    assert phone_page.evaluate("[innerWidth, navigator.language]") == [390, "zh-CN"]


def test_fails(site, page):
    page.goto(site + "index.html")
    assert False, "failed on purpose"


def test_logs_an_error(site, page):
    page.goto(site + "broken.html")


def test_provokes_the_error_it_expects(site, page, console):
    console.expect(r"boom from the page")
    page.goto(site + "broken.html")
"""


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def outcomes(junit: Path) -> dict[str, str]:
    """test name -> passed / failure / error (at setup or teardown) / skipped."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        found[case.attrib["name"]] = kinds[0] if kinds else "passed"
    return found


def run_inner(
    folder: Path, files: dict[str, str], ci: bool = False
) -> tuple[dict[str, str], str, Path]:
    """Run the test `files` (name -> source) with the harness in a pytest of their own, with
    `CI` set or not; their outcomes, what pytest printed, and its --basetemp."""
    folder.mkdir()
    for name, source in files.items():
        (folder / name).write_text(textwrap.dedent(source), encoding="utf-8")
    base, junit = folder / "base", folder / "junit.xml"
    argv = [sys.executable, "-m", "pytest", "-p", "tests.support.browser_fixtures"]
    argv += ["-p", "no:cacheprovider", f"--basetemp={base}", f"--junitxml={junit}", "-q", "-rs"]
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PYTHONPATH": str(REPO)}
    if ci:
        env["CI"] = "true"
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    return outcomes(junit), done.stdout + done.stderr, base


def test_screenshots_of_passed_and_failed_tests_and_page_errors_fail(
    browser: Browser, tmp_path: Path
) -> None:
    """`browser` only to skip (or fail in CI) like the tests it serves, without chromium."""
    found, report, base = run_inner(tmp_path / "inner", {"test_inner.py": INNER})
    assert found == {
        "test_passes": "passed",
        "test_fails": "failure",
        "test_logs_an_error": "error",
        "test_provokes_the_error_it_expects": "passed",
    }, report
    assert "console.error 'boom from the page'" in report, report

    desktop = png_size(base / "test_passes0" / "page.png")
    assert desktop[0] == 1280 and desktop[1] >= 800
    width = PHONE["viewport"]["width"] * PHONE["device_scale_factor"]
    assert png_size(base / "test_passes0" / "phone.png")[0] == width
    assert (base / "test_fails0" / "page.png").stat().st_size > 0, "failed tests keep theirs"
    assert (base / "test_logs_an_error0" / "page.png").stat().st_size > 0


WITHOUT_CHROMIUM = {
    "conftest.py": """
        from pathlib import Path

        import tests.support.browser

        tests.support.browser.CHROMIUM = Path("/nonexistent/chromium")
    """,
    "test_needs_a_page.py": """
        def test_needs_a_page(page):
            pass
    """,
}


def test_without_chromium_browser_tests_skip_but_fail_in_ci(tmp_path: Path) -> None:
    """`./dev test` installs chromium; a CI run that lost it must not pass by skipping."""
    found, report, _ = run_inner(tmp_path / "here", WITHOUT_CHROMIUM)
    assert found == {"test_needs_a_page": "skipped"}, report
    assert "/nonexistent/chromium missing: apt-get install chromium" in report
    found, report, _ = run_inner(tmp_path / "ci", WITHOUT_CHROMIUM, ci=True)
    assert found == {"test_needs_a_page": "error"}, report
    assert "CI must run the browser tests, not skip them" in report
