"""Log in and out. Every attempt is audited (`login`, `login_failed`, `logout`); after five
failures within a minute an address gets 429 until the minute has passed, right password or
not, so guessing costs a minute per five tries.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from central.catalogue.audit import AuditEntry

from .accounts import check_password, close_session, open_session, record
from .context import client_address, desk_of, render
from .guard import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    clear_cookie,
    csrf_ok,
    current_session,
    forbidden,
    new_login_token,
    read_form,
    same_token,
    set_cookie,
)
from .labels import labels

MAX_NAME_CHARS = 255
MAX_PASSWORD_CHARS = 1024


async def login_page(request: Request) -> Response:
    if await current_session(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _form(request, error=None, status=200)


async def login_submit(request: Request) -> Response:
    desk = desk_of(request)
    address, now = client_address(request), desk.now()
    if desk.limiter.blocked(address, now):
        seconds = desk.limiter.retry_after_s(address, now)
        message = labels(request.headers.get("accept-language"))["rate_limited"]
        response = _form(request, error=message.format(seconds=seconds), status=429)
        response.headers["retry-after"] = str(seconds)
        return response
    form = await read_form(request)
    if not same_token(form.get("csrf"), request.cookies.get(LOGIN_COOKIE, "")):
        return forbidden(request, None, "The login form expired or came from elsewhere: reload it.")
    name, password = form.get("name"), form.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        return _form(request, error=_failed(request), status=400)
    name, password = name.strip()[:MAX_NAME_CHARS], password[:MAX_PASSWORD_CHARS]
    if not name or not await desk.db(check_password, name, password):
        desk.limiter.failed(address, now)
        entry = AuditEntry(now, "", "login_failed", name, {}, address)
        await desk.db(record, entry)
        return _form(request, error=_failed(request), status=401)
    token, _ = await desk.db(open_session, name, now, desk.settings.session_hours)
    await desk.db(record, AuditEntry(now, name, "login", name, {}, address))
    response = RedirectResponse("/", status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token)
    clear_cookie(request, response, LOGIN_COOKIE, path="/login")
    return response


async def logout(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    form = await read_form(request)
    if not csrf_ok(request, session, form):
        return forbidden(request, session, "Missing or wrong CSRF token: reload the page.")
    desk = desk_of(request)
    entry = AuditEntry(
        desk.now(), session.user, "logout", session.user, {}, client_address(request)
    )
    await desk.db(close_session, session, entry)
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(request, response, SESSION_COOKIE)
    return response


def _failed(request: Request) -> str:
    return labels(request.headers.get("accept-language"))["login_failed"]


def _form(request: Request, *, error: str | None, status: int) -> Response:
    token = new_login_token()
    response = render(request, "login.html", session=None, status=status, error=error, csrf=token)
    set_cookie(request, response, LOGIN_COOKIE, token, path="/login")
    return response
