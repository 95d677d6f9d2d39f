"""The Cases page: find a camera's time range in the archive, export it, download the package.

The search is `evgw archive find` (the same `archive_find`, not a copy): each segment's state
and verdict, the holes with their reasons. Any logged-in user may search (a viewer reads);
exporting, following an export and downloading it are for investigators and admins, checked
here on every request. Any investigator may download any export (a case is worked on by a
team); each download is audited with who and from where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from central.catalogue.audit import AuditEntry, append
from central.catalogue.db import Catalogue
from central.config.load import CentralConfig
from central.retrieval.export import ArchiveExportRequest
from central.retrieval.find import ArchiveFind, archive_find
from central.retrieval.setup import archive_source
from evgw.errors import EvgwError, UsageError
from evgw.times import parse_range
from segments.package import REPORT_JSON, check_operator
from uplink.object_keys import ObjectKeyError, check_part

from .accounts import Session
from .context import client_address, desk_of, render
from .exports import EXPORT_ID, Exports, archive_runner, exports_root
from .guard import csrf_ok, current_session, forbidden, read_form
from .labels import labels
from .package_tar import NotAPackage, tar_length, tar_plan, tar_stream

MAX_NAME_CHARS = 128
FIELDS = ("gateway", "camera", "from", "to")


@dataclass
class CaseDesk:
    """What the Cases page needs beyond the `Desk`: the whole configuration (retrieval reads
    the store, trust and keys) and the export jobs."""

    config: CentralConfig
    exports: Exports


def case_desk(config: CentralConfig, catalogue: Catalogue) -> CaseDesk:
    exports = Exports(catalogue, exports_root(config), archive_runner(config, catalogue))
    return CaseDesk(config, exports)


def cases_of(request: Request) -> CaseDesk:
    cases: CaseDesk = request.app.state.cases
    return cases


@dataclass(frozen=True)
class CaseQuery:
    gateway: str
    camera: str
    start_text: str
    end_text: str

    def range(self) -> tuple[datetime, datetime]:
        return parse_range(self.start_text, self.end_text, ("from", "to"))


def read_query(values: Any) -> CaseQuery:
    """The range asked for; `UsageError` names the field that cannot be used."""
    found: dict[str, str] = {}
    for name in FIELDS:
        value = values.get(name, "")
        if not isinstance(value, str) or not value.strip():
            raise UsageError(f"give {name}")
        if len(value) > MAX_NAME_CHARS:
            raise UsageError(f"{name} has at most {MAX_NAME_CHARS} characters")
        found[name] = value.strip()
    try:
        check_part(found["gateway"], "gateway")
        check_part(found["camera"], "camera")
    except ObjectKeyError as e:
        raise UsageError(str(e)) from e
    parse_range(found["from"], found["to"], ("from", "to"))
    return CaseQuery(found["gateway"], found["camera"], found["from"], found["to"])


def check_case(case: object) -> str:
    """A case id the CLI would take that is also a visible folder name on any system."""
    if not isinstance(case, str) or len(case) > MAX_NAME_CHARS:
        raise UsageError(f"a case id has 1 to {MAX_NAME_CHARS} characters")
    try:
        check_part(case, "case id")
    except ObjectKeyError as e:
        raise UsageError(str(e)) from e
    if case != case.strip() or case.startswith(".") or "\\" in case:
        raise UsageError(f"case id {case!r} must not start with '.' or a space, nor hold '\\'")
    return case


def _find(catalogue: Catalogue, config: CentralConfig, query: CaseQuery) -> ArchiveFind:
    start, end = query.range()
    source = archive_source(config, catalogue)
    return archive_find(source, query.gateway, query.camera, start, end)


async def cases_page(request: Request, session: Session) -> Response:
    params = request.query_params
    asked = any(params.get(name) for name in FIELDS)
    values = {name: params.get(name, "")[:MAX_NAME_CHARS] for name in FIELDS}
    found, error = None, None
    if asked:
        try:
            query = read_query(params)
            found = await desk_of(request).db(_find, cases_of(request).config, query)
        except EvgwError as e:
            error = str(e) if e.hint is None else f"{e} ({e.hint})"
    status = 400 if error else 200
    return render(request, "cases.html", session=session, status=status, q=values,
                  found=found, error=error)  # fmt: skip


async def investigator(request: Request, form: bool) -> tuple[Session, FormData] | Response:
    """The session and posted form of an investigator or admin; else the 403 page. A POST's
    CSRF token is checked before its role, as for every state-changing request."""
    session = await current_session(request)
    if session is None:
        return forbidden(request, None, "Log in first.")
    posted = await read_form(request) if form else FormData()
    if form and not csrf_ok(request, session, posted):
        return forbidden(request, session, "Missing or wrong CSRF token: reload the page.")
    if not session.may("investigator"):
        message = f"Your role ({session.role}) may not export cases or download them."
        return forbidden(request, session, message)
    return session, posted


async def export_start(request: Request) -> Response:
    """POST /cases/export: CSRF, role, then a valid range and case id, then the job."""
    allowed = await investigator(request, form=True)
    if isinstance(allowed, Response):
        return allowed
    session, form = allowed
    exports = cases_of(request).exports
    try:
        query = read_query(form)
        case = check_case(form.get("case"))
        check_operator(session.user)
        start, end = query.range()
        export_id, folder = exports.new_folder()
        ask = ArchiveExportRequest(
            query.gateway, query.camera, start, end, case, folder, session.user
        )
        job = exports.submit(export_id, client_address(request), ask)
    except EvgwError as e:
        return render(request, "error.html", session=session, status=400, message=str(e))
    return RedirectResponse(f"/cases/exports/{job.id}", status_code=303)


def _status(request: Request, export_id: str) -> dict[str, Any] | None:
    """The export's status, from memory, or from disk for one finished before a restart."""
    exports = cases_of(request).exports
    t = labels(request.headers.get("accept-language"))
    job = exports.job(export_id) if EXPORT_ID.fullmatch(export_id) else None
    if job is not None:
        status = job.status()
    elif (package := exports.package(export_id)) is not None:
        status = {"id": export_id, "state": "done", "percent": 100, "verdict": _verdict(package),
                  "error": None, "case": package.name,
                  "download": f"/cases/exports/{export_id}/download"}  # fmt: skip
    else:
        return None
    status["state_label"] = t[f"export_{status['state']}"]
    return status


def _verdict(package: Path) -> str | None:
    """The verdict the package's own report states (an export finished before a restart)."""
    try:
        report = json.loads((package / REPORT_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    verdict = report.get("verdict") if isinstance(report, dict) else None
    return verdict if isinstance(verdict, str) else None


async def export_page(request: Request) -> Response:
    allowed = await investigator(request, form=False)
    if isinstance(allowed, Response):
        return allowed
    session = allowed[0]
    status = _status(request, request.path_params["export_id"])
    if status is None:
        t = labels(request.headers.get("accept-language"))
        return render(request, "error.html", session=session, status=404, message=t["not_found"])
    return render(request, "export.html", session=session, status_=status)


async def export_status(request: Request) -> Response:
    if isinstance(allowed := await investigator(request, form=False), Response):
        return JSONResponse({"error": "forbidden"}, status_code=allowed.status_code)
    status = _status(request, request.path_params["export_id"])
    if status is None:
        return JSONResponse({"error": "no such export"}, status_code=404)
    return JSONResponse(status, headers={"Cache-Control": "no-store"})


async def export_download(request: Request) -> Response:
    allowed = await investigator(request, form=False)
    if isinstance(allowed, Response):
        return allowed
    session = allowed[0]
    export_id = request.path_params["export_id"]
    package = cases_of(request).exports.package(export_id)
    t = labels(request.headers.get("accept-language"))
    if package is None:
        return render(request, "error.html", session=session, status=404, message=t["not_found"])
    try:
        members = tar_plan(package)
    except NotAPackage as e:
        return render(request, "error.html", session=session, status=500, message=str(e))
    detail = {"case": package.name, "export": export_id, "package": str(package)}
    entry = AuditEntry(desk_of(request).now(), session.user, "export_download",
                       f"export {export_id}", detail, client_address(request))  # fmt: skip
    await desk_of(request).db(audit_now, entry)
    name = quote(f"{package.name}.tar")
    headers = {
        "Content-Disposition": f'attachment; filename="export-{export_id}.tar"; '
        f"filename*=UTF-8''{name}",
        "Content-Length": str(tar_length(members)),
        "Cache-Control": "no-store",
    }
    return StreamingResponse(tar_stream(members), media_type="application/x-tar", headers=headers)


def audit_now(catalogue: Catalogue, entry: AuditEntry) -> None:
    with catalogue.transaction() as tx:
        append(tx, entry)
