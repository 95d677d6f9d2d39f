"""Who is asking and whether they may: the session cookie, the CSRF token, the role.

Every check happens on the server for every request; the pages only hide what a role cannot
use. A state-changing request must carry its session's CSRF token (form field `csrf` or
header `X-CSRF-Token`); the login form, which has no session yet, carries the token of a
short-lived pre-login cookie instead (double submit), so no other site can log a browser in.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .accounts import Session, find_session
from .context import desk_of, render

SESSION_COOKIE = "desk_session"
LOGIN_COOKIE = "desk_login"
MAX_FORM_FIELDS = 20
MAX_FIELD_BYTES = 64 * 1024
MAX_FORM_BYTES = 64 * 1024


async def current_session(request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 128:
        return None
    desk = desk_of(request)
    session: Session | None = await desk.db(find_session, token, desk.now())
    return session


async def read_form(request: Request) -> FormData:
    """The posted form; a body without a length or over `MAX_FORM_BYTES` is refused (413)
    before it is read, so nobody fills the desk's memory through the login form."""
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        raise HTTPException(413, f"a form is at most {MAX_FORM_BYTES} bytes, with its length")
    return await request.form(
        max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
    )


def same_token(given: object, expected: str) -> bool:
    return isinstance(given, str) and bool(given) and hmac.compare_digest(given, expected)


def csrf_ok(request: Request, session: Session, form: FormData | None) -> bool:
    given = request.headers.get("x-csrf-token")
    if given is None and form is not None:
        given = form.get("csrf")  # type: ignore[assignment]
    return same_token(given, session.csrf)


def forbidden(request: Request, session: Session | None, message: str) -> Response:
    return render(request, "error.html", session=session, status=403, message=message)


def new_login_token() -> str:
    return secrets.token_hex(32)


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, path: str = "/"
) -> None:
    """HttpOnly, SameSite=Strict, and Secure when the desk serves TLS."""
    response.set_cookie(
        name,
        value,
        path=path,
        httponly=True,
        samesite="strict",
        secure=desk_of(request).tls,
    )


def clear_cookie(request: Request, response: Response, name: str, *, path: str = "/") -> None:
    response.delete_cookie(
        name, path=path, httponly=True, samesite="strict", secure=desk_of(request).tls
    )
