"""A case exported from the browser and verified as a court expert would (issue 15, Tests).

The archive holds a real recording (two runs around a declared camera outage), uploaded and
synced; `evgw desk` serves it. An investigator in UTC+8 logs in, searches a one-minute range
typed in the browser's local time (it reaches the desk as the same instant in UTC), starts
the export, and watches the progress until the download link appears without a reload; the
tar Playwright downloads is unpacked and `evgw verify-export` accepts it with the gateway's
and the archive's public keys only. A viewer (on a phone, in Chinese) sees the same search
without the export and command forms, without sideways scrolling, and gets 403 when its page
posts them anyway with its own CSRF token, and on the download.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from segments.timeline import iso_utc
from testbeds.seaweedfs import SeaweedServer
from tests.central.desk_web.case_rig import CaseArchive, case_archive, untar, verify_export
from tests.central.recorded import ANCHOR, CAMERA, GATEWAY
from tests.support.browser import (
    document_marked,
    horizontal_overflow_px,
    mark_document,
    screenshot,
)
from tests.support.browser_fixtures import PageFactory
from tests.support.desk import USERS, DeskServer, add_users, csrf_token, log_in

pytestmark = pytest.mark.integration

CASE = "案-2026-0042"
FROM, TO = iso_utc(ANCHOR), iso_utc(ANCHOR + 60)
FORBIDDEN = 403
EXPORT_WAIT_MS = 180_000  # fetch, decrypt and remux on a busy two-core machine


@pytest.fixture
def archive(tmp_path: Path, seaweed: SeaweedServer) -> CaseArchive:
    return case_archive(tmp_path / "archive", seaweed, f"sqlite:///{tmp_path / 'catalog.db'}")


@pytest.fixture
def desk(archive: CaseArchive, tmp_path: Path) -> Iterator[DeskServer]:
    add_users(archive.config)
    server = DeskServer(archive.config, tmp_path / "desk.log")
    try:
        yield server.start()
    finally:
        server.stop()
        print(f"--- evgw desk:\n{server.log_tail()}")


def local_input(page: Page, ts: float) -> str:
    """`ts` as a datetime-local field takes it: the browser's own local time."""
    text: str = page.evaluate(
        """ms => { const d = new Date(ms), p = n => String(n).padStart(2, "0");
            return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" +
                   p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()); }""",
        ts * 1000,
    )
    return text


def test_export_a_case_in_the_browser_and_verify_the_download(
    archive: CaseArchive, desk: DeskServer, open_page: PageFactory, tmp_path: Path
) -> None:
    page = open_page("cases", timezone="Asia/Shanghai")  # an officer 8 h ahead of UTC
    log_in(page, desk, USERS["investigator"])
    page.goto(desk.at("/cases"))
    form = page.locator("form#case-search")
    form.locator('input[name="gateway"]').fill(GATEWAY)
    form.locator('input[name="camera"]').fill(CAMERA)
    form.locator('input[data-iso-for="from"]').fill(local_input(page, ANCHOR))
    form.locator('input[data-iso-for="to"]').fill(local_input(page, ANCHOR + 60))
    assert form.locator('input[name="from"]').input_value().endswith("+08:00")
    form.locator("#case-search-submit").click()
    utc_range = f"{datetime.fromtimestamp(ANCHOR, UTC).isoformat()} – "
    expect(page.locator("p.summary")).to_contain_text(utc_range)
    segments = page.locator("table#segments tr[data-seq]")
    expect(segments.first).to_be_visible()
    assert segments.count() >= 6
    expect(page.locator('table#holes tr[data-hole="declared"]').first).to_be_visible()

    page.locator('#case-export input[name="case"]').fill(CASE)
    page.locator("#export-start").click()
    expect(page.locator("#export-progress")).to_be_visible()
    document = mark_document(page)
    link = page.locator("a#download")
    expect(link).to_be_visible(timeout=EXPORT_WAIT_MS)
    assert document_marked(page, document), "the page reloaded while the export ran"
    expect(page.locator('[data-field="progress"]')).to_have_text("100 %")
    screenshot(page, tmp_path / "export-done.png")

    with page.expect_download() as info:
        link.click()
    tar = tmp_path / "download.tar"
    info.value.save_as(tar)
    untar(tar.read_bytes(), tmp_path / "expert")
    assert verify_export(tmp_path / "expert" / CASE, archive) == 0
    export_page = page.url

    viewer = open_page("viewer-phone", phone=True, locale="zh-CN")
    log_in(viewer, desk, USERS["viewer"])
    search = urlencode({"gateway": GATEWAY, "camera": CAMERA, "from": FROM, "to": TO})
    viewer.goto(desk.at(f"/cases?{search}"))
    expect(viewer.locator("table#segments tr[data-seq]").first).to_be_visible()
    expect(viewer.locator("#case-export, #case-command, #case-release")).to_have_count(0)
    expect(viewer.locator("h1")).to_have_text("案件")
    assert horizontal_overflow_px(viewer) <= 0, "the Cases page scrolls sideways on a phone"
    token = csrf_token(viewer)
    asked = {"gateway": GATEWAY, "camera": CAMERA, "from": FROM, "to": TO, "csrf": token}
    for path, form in (
        ("/cases/export", {"case": "V-1"}),
        ("/cases/command", {"action": "hold", "case": "V-1"}),
        ("/cases/command", {"action": "release", "hold_id": "1"}),
    ):
        refused = viewer.request.post(desk.at(path), form={**asked, **form})
        assert refused.status == FORBIDDEN, (path, form, refused.status)
    assert viewer.request.get(export_page + "/download").status == FORBIDDEN
