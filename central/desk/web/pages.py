"""The pages and their fragments: fleet, alarms (with acknowledging), one gateway, audit.

A fragment is the same table HTML its page includes, so the page's script can swap it in
when the event stream says the fleet changed. A page without a session sends the browser to
the login; a fragment answers 401, which the script turns into the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from central.catalogue.audit import AuditEntry, entries
from central.catalogue.db import Catalogue

from .accounts import Session
from .alarms import MAX_COMMENT_CHARS, AckResult, acknowledge, read_alarms
from .context import client_address, desk_of, render
from .fleet_data import DAY_S, Fleet, read_fleet, read_samples
from .guard import csrf_ok, current_session, forbidden, read_form
from .labels import labels
from .plots import line_plot
from .reports import GatewayStatus

View = Callable[[Request, Session], Awaitable[Response]]
SORTS: dict[str, Callable[[GatewayStatus], tuple[object, ...]]] = {
    "gateway": lambda g: (g.gateway,),
    "site": lambda g: (g.site, g.gateway),
    "state": lambda g: ({"offline": 0, "stale": 1}.get(g.state, 2), g.gateway),
    "backlog": lambda g: (-(g.backlog_count or 0), g.gateway),
    "minutes": lambda g: (g.minutes_left if g.minutes_left is not None else float("inf"),),
    "alarms": lambda g: (-g.active_alarms, g.gateway),
    "last_seen": lambda g: (g.last_seen, g.gateway),
}


def page(view: View) -> Callable[[Request], Awaitable[Response]]:
    """A page for any logged-in user; the login form for anyone else."""

    async def endpoint(request: Request) -> Response:
        session = await current_session(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        return await view(request, session)

    return endpoint


def fragment(view: View) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        session = await current_session(request)
        if session is None:
            return PlainTextResponse("log in first", status_code=401)
        return await view(request, session)

    return endpoint


async def _fleet(request: Request, session: Session, template: str) -> Response:
    desk = desk_of(request)
    fleet = await desk.db(read_fleet_only, desk.now(), desk.settings.stale_after_s)
    search = request.query_params.get("q", "")[:200]
    sort = request.query_params.get("sort", "gateway")
    gateways = [g for g in fleet.gateways if _matches(g, search)]
    gateways.sort(key=SORTS.get(sort, SORTS["gateway"]))
    return render(request, template, session=session, gateways=gateways, search=search, sort=sort)


async def fleet_page(request: Request, session: Session) -> Response:
    return await _fleet(request, session, "fleet.html")


async def fleet_fragment(request: Request, session: Session) -> Response:
    return await _fleet(request, session, "_fleet_table.html")


def read_fleet_only(catalogue: Catalogue, now: float, stale_after_s: float) -> Fleet:
    return read_fleet(catalogue, now, stale_after_s, cameras_too=False)


def _matches(g: GatewayStatus, search: str) -> bool:
    needle = search.strip().casefold()
    return not needle or needle in g.gateway.casefold() or needle in g.site.casefold()


async def _alarms(request: Request, session: Session, template: str) -> Response:
    active, history = await desk_of(request).db(read_alarms)
    return render(request, template, session=session, active=active, history=history)


async def alarms_page(request: Request, session: Session) -> Response:
    return await _alarms(request, session, "alarms.html")


async def alarms_fragment(request: Request, session: Session) -> Response:
    return await _alarms(request, session, "_alarms_tables.html")


async def ack(request: Request) -> Response:
    """POST /alarms/<id>/ack: CSRF token, then role (investigator or admin), then the ack."""
    session = await current_session(request)
    if session is None:
        return forbidden(request, None, "Log in first.")
    form = await read_form(request)
    if not csrf_ok(request, session, form):
        return forbidden(request, session, "Missing or wrong CSRF token: reload the page.")
    if not session.may("investigator"):
        return forbidden(request, session, f"Your role ({session.role}) may not acknowledge.")
    comment = form.get("comment", "")
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS:
        message = f"A comment has at most {MAX_COMMENT_CHARS} characters."
        return render(request, "error.html", session=session, status=400, message=message)
    desk = desk_of(request)
    entry = AuditEntry(desk.now(), session.user, "ack", "", {}, client_address(request))
    alarm_id = int(request.path_params["alarm_id"])
    result = await desk.db(acknowledge, alarm_id, comment.strip(), entry)
    if result is AckResult.UNKNOWN:
        t = labels(request.headers.get("accept-language"))
        return render(request, "error.html", session=session, status=404, message=t["not_found"])
    if result is AckResult.ALREADY:
        message = f"Alarm {alarm_id} was acknowledged already; see who did it on the alarms page."
        return render(request, "error.html", session=session, status=409, message=message)
    return RedirectResponse("/alarms", status_code=303)


async def _gateway(request: Request, session: Session, template: str) -> Response:
    desk = desk_of(request)
    name = request.path_params["gateway"]
    now = desk.now()
    fleet = await desk.db(read_fleet, now, desk.settings.stale_after_s, name)
    if not fleet.gateways:
        t = labels(request.headers.get("accept-language"))
        return render(request, "error.html", session=session, status=404, message=t["not_found"])
    plots: list[str] = []
    if template == "gateway.html":
        plots = await _plots(request, name, now)
    return render(
        request,
        template,
        session=session,
        gateway=fleet.gateways[0],
        cameras=fleet.cameras.get(name, []),
        plots=plots,
    )


async def _plots(request: Request, gateway: str, now: float) -> list[str]:
    samples = await desk_of(request).db(read_samples, gateway, now)
    t = labels(request.headers.get("accept-language"))
    return [
        line_plot(
            samples.ts, values, start=now - DAY_S, end=now, title=t[key], empty=t["no_samples"]
        )
        for key, values in (
            ("plot_backlog", samples.backlog_count),
            ("plot_minutes", samples.minutes_left),
            ("plot_disk", samples.disk_free_gb),
        )
    ]


async def gateway_page(request: Request, session: Session) -> Response:
    return await _gateway(request, session, "gateway.html")


async def gateway_fragment(request: Request, session: Session) -> Response:
    return await _gateway(request, session, "_cameras_table.html")


async def audit_page(request: Request, session: Session) -> Response:
    if not session.may("admin"):
        return forbidden(
            request, session, f"Your role ({session.role}) may not read the audit log."
        )
    log = await desk_of(request).db(entries)
    return render(request, "audit.html", session=session, entries=log)
