"""The Cases page on a real recorded, uploaded and synced archive (SQLite and PostgreSQL):
search as `evgw archive find` answers, export in the background with progress, download a
tar an expert untars and verifies with `evgw verify-export`; every export audited.

Attacks first: a viewer exporting with its own CSRF token, a POST without or with a wrong
token, a viewer downloading, case ids and export ids that try to leave their folder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_audit
from central.config import load_central_config
from central.desk.web.accounts import save_user
from central.desk.web.app import create_app
from central.retrieval.find import archive_find
from central.retrieval.setup import archive_source
from segments.timeline import iso_utc
from testbeds.seaweedfs import SeaweedServer
from tests.central.recorded import ANCHOR, CAMERA, GATEWAY, RESUMED
from tests.support.waiting import wait_until

from .case_rig import CaseArchive, case_archive, untar, verify_export
from .conftest import PASSWORD, log_in
from .html_rows import rows

pytestmark = pytest.mark.integration
START, END = ANCHOR + 3, RESUMED + 4  # both runs and the declared outage between them
RANGE = {"gateway": GATEWAY, "camera": CAMERA, "from": iso_utc(START), "to": iso_utc(END)}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archive(
    request: pytest.FixtureRequest, seaweed: SeaweedServer, tmp_path_factory: pytest.TempPathFactory
) -> CaseArchive:
    folder = tmp_path_factory.mktemp("cases")
    if request.param == "sqlite":
        database = f"sqlite:///{folder / 'catalog.db'}"
    else:
        server = request.getfixturevalue("postgres")
        database = server.create_database("cases").render_as_string(hide_password=False)
    return case_archive(folder, seaweed, database)


@pytest.fixture
def catalogue(archive: CaseArchive) -> Iterator[Catalogue]:
    catalogue = Catalogue.open(load_central_config(archive.config).database)
    for name, role in (("vera", "viewer"), ("ivan", "investigator"), ("ada", "admin")):
        save_user(catalogue, name, role, PASSWORD, time.time())
    yield catalogue
    catalogue.close()


@pytest.fixture
def app(archive: CaseArchive, catalogue: Catalogue) -> Any:
    return create_app(load_central_config(archive.config), catalogue)


def session(app: Any, name: str) -> tuple[TestClient, str]:
    client = TestClient(app)
    return client, log_in(client, name)


def audit(catalogue: Catalogue, since: int = 0) -> list[tuple[str, str, dict[str, Any], str]]:
    query = select(desk_audit).where(desk_audit.c.id > since).order_by(desk_audit.c.id)
    with catalogue.transaction() as tx:
        found = tx.c.execute(query).all()
    return [(r.user, r.action, json.loads(r.detail), r.address) for r in found]


def last_audit_id(catalogue: Catalogue) -> int:
    with catalogue.transaction() as tx:
        return int(tx.c.scalar(select(desk_audit.c.id).order_by(desk_audit.c.id.desc())) or 0)


def exports_made(archive: CaseArchive) -> set[str]:
    return {p.name for p in archive.exports.iterdir()} if archive.exports.exists() else set()


def start_export(client: TestClient, csrf: str | None, case: str, **more: str) -> Any:
    form = {**RANGE, "case": case, **more}
    if csrf is not None:
        form["csrf"] = csrf
    return client.post("/cases/export", data=form, follow_redirects=False)


def wait_finished(client: TestClient, export_id: str) -> dict[str, Any]:
    def status() -> dict[str, Any]:
        answer = client.get(f"/cases/exports/{export_id}/status")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    wait_until("the export ends", lambda: status()["state"] in ("done", "failed"), 180)
    return status()


# -- attacks ------------------------------------------------------------------------------


def test_a_viewer_cannot_export_or_download_even_with_its_own_csrf_token(
    app: Any, archive: CaseArchive, catalogue: Catalogue
) -> None:
    before, made = last_audit_id(catalogue), exports_made(archive)
    viewer, csrf = session(app, "vera")
    assert start_export(viewer, csrf, "V-1").status_code == 403
    assert exports_made(archive) == made
    ivan, ivan_csrf = session(app, "ivan")
    done = start_export(ivan, ivan_csrf, "V-2")
    assert done.status_code == 303, done.text
    export_id = done.headers["location"].rsplit("/", 1)[1]
    assert wait_finished(ivan, export_id)["state"] == "done"
    for path in ("", "/status", "/download"):
        assert viewer.get(f"/cases/exports/{export_id}{path}").status_code == 403
    page = viewer.get("/cases", params=RANGE)
    assert page.status_code == 200 and 'id="segments"' in page.text
    assert 'id="case-export"' not in page.text  # read-only for a viewer
    assert [a[:2] for a in audit(catalogue, before) if a[0] == "vera"] == [("vera", "login")]


def test_an_export_without_or_with_a_wrong_csrf_token_is_refused(
    app: Any, archive: CaseArchive, catalogue: Catalogue
) -> None:
    made = exports_made(archive)
    ivan, csrf = session(app, "ivan")
    _, other = session(app, "ada")
    for wrong in (None, "", "0" * len(csrf), other):
        assert start_export(ivan, wrong, "C-1").status_code == 403, wrong
    assert exports_made(archive) == made
    anonymous = TestClient(app)
    assert start_export(anonymous, csrf, "C-1").status_code == 403
    assert anonymous.get("/cases", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    "case", ["../escape", "a/b", "..", ".", ".hidden", "tab\there", "", " lead", "x" * 129, "a\\b"]
)
def test_a_case_id_cannot_leave_its_folder(
    app: Any, archive: CaseArchive, catalogue: Catalogue, case: str
) -> None:
    made = exports_made(archive)
    ivan, csrf = session(app, "ivan")
    refused = start_export(ivan, csrf, case)
    assert refused.status_code == 400, refused.text
    assert exports_made(archive) == made
    assert not (archive.exports.parent / "escape").exists()


def test_an_export_id_cannot_name_another_folder(app: Any, archive: CaseArchive) -> None:
    ivan, _ = session(app, "ivan")
    # a bare ".." is resolved by the client itself (to /cases), so only encoded ones arrive
    for export_id in ("..%2F..%2Fhq", "%2E%2E", "0123456789abcdeg", "exports", "A" * 16):
        for path in ("", "/status", "/download"):
            answer = ivan.get(f"/cases/exports/{export_id}{path}")
            assert answer.status_code == 404, (export_id, path, answer.status_code)


# -- the page as an investigator uses it --------------------------------------------------


def test_search_shows_what_archive_find_computes(
    app: Any, archive: CaseArchive, catalogue: Catalogue
) -> None:
    ivan, _ = session(app, "ivan")
    page = ivan.get("/cases", params=RANGE)
    assert page.status_code == 200, page.text
    config = load_central_config(archive.config)
    start, end = (datetime.fromtimestamp(t, UTC) for t in (START, END))
    expected = archive_find(archive_source(config, catalogue), GATEWAY, CAMERA, start, end).result
    shown = [(r.attrs["data-seq"], r.cells["state"], r.cells["verdict"])
             for r in rows(page.text, "segments")]  # fmt: skip
    assert shown == [(str(s.seq), s.state, s.verdict) for s in expected.segments]
    assert {s.state for s in expected.segments} >= {"confirmed", "held"}
    holes = [(r.cells["reason"], r.cells["status"]) for r in rows(page.text, "holes")]
    assert holes == [(h.reason, h.status) for h in expected.gaps]
    assert ("camera_offline", "declared") in holes
    assert f'data-field="verdict">{expected.verdict}<' in page.text


def test_a_bad_range_is_explained_not_crashed(app: Any) -> None:
    ivan, _ = session(app, "ivan")
    for params in ({**RANGE, "to": RANGE["from"]}, {**RANGE, "from": "yesterday"},
                   {**RANGE, "gateway": "gw-unknown"}):  # fmt: skip
        page = ivan.get("/cases", params=params)
        assert page.status_code == 400 and 'class="error"' in page.text, params


def test_export_progress_download_and_verify(
    app: Any, archive: CaseArchive, catalogue: Catalogue, tmp_path: Path
) -> None:
    before = last_audit_id(catalogue)
    ivan, csrf = session(app, "ivan")
    started = start_export(ivan, csrf, "案-2026-001")
    assert started.status_code == 303, started.text
    page_url = started.headers["location"]
    export_id = page_url.rsplit("/", 1)[1]
    page = ivan.get(page_url)
    assert page.status_code == 200 and 'id="export-progress"' in page.text
    status = wait_finished(ivan, export_id)
    assert status["state"] == "done", status
    assert status["percent"] == 100 and status["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
    assert 'id="download"' in ivan.get(page_url).text

    ada, _ = session(app, "ada")
    download = ada.get(status["download"])  # any investigator or admin may download
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/x-tar"
    assert int(download.headers["content-length"]) == len(download.content)
    names = untar(download.content, tmp_path)
    assert names[0] == "案-2026-001" and "案-2026-001/report.json" in names
    package = tmp_path / "案-2026-001"
    on_disk = archive.exports / export_id / "案-2026-001"
    for name in names:
        if (on_disk / name.split("/", 1)[-1]).is_file() and "/" in name:
            assert (tmp_path / name).read_bytes() == (on_disk / name.split("/", 1)[1]).read_bytes()
    assert verify_export(package, archive) == 0
    report = json.loads((package / "report.json").read_text(encoding="utf-8"))
    assert report["operator"] == "ivan"

    restarted, _ = session(create_app(load_central_config(archive.config), catalogue), "ivan")
    again = restarted.get(f"/cases/exports/{export_id}/status").json()
    assert again["state"] == "done" and again["verdict"] == status["verdict"]
    assert restarted.get(status["download"]).content == download.content

    trail = audit(catalogue, before)
    exported = [a for a in trail if a[1] == "export"]
    assert len(exported) == 1 and exported[0][0] == "ivan" and exported[0][3] == "testclient"
    assert exported[0][2]["case"] == "案-2026-001" and exported[0][2]["export"] == export_id
    downloads = [a for a in trail if a[1] == "export_download"]
    assert [(a[0], a[2]["export"]) for a in downloads] == [("ada", export_id), ("ivan", export_id)]


def test_a_failed_export_is_shown_and_audited(
    app: Any, archive: CaseArchive, catalogue: Catalogue
) -> None:
    before = last_audit_id(catalogue)
    ivan, csrf = session(app, "ivan")
    empty = {"from": iso_utc(ANCHOR - 3600), "to": iso_utc(ANCHOR - 3000)}
    started = start_export(ivan, csrf, "F-1", **empty)
    export_id = started.headers["location"].rsplit("/", 1)[1]
    status = wait_finished(ivan, export_id)
    assert status["state"] == "failed" and "no recording" in status["error"]
    assert ivan.get(f"/cases/exports/{export_id}/download").status_code == 404
    failed = [a for a in audit(catalogue, before) if a[1] == "export_failed"]
    assert len(failed) == 1 and failed[0][0] == "ivan" and failed[0][2]["case"] == "F-1"
