"""What every view needs: the desk's configuration, database, clock and templates (`Desk`,
kept on the app's state), and rendering a template in the browser's language.

Templates are rendered with autoescaping on: every name, detail and comment that arrived
over MQTT or from a user is text, never markup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse

from central.catalogue.db import Catalogue
from central.config.tables import DeskTable

from .accounts import Session
from .labels import labels, language
from .ratelimit import LoginLimiter

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Desk:
    settings: DeskTable
    catalogue: Catalogue
    clock: Callable[[], float]
    tls: bool
    metrics_token: str | None
    templates: Environment
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    stopping: threading.Event = field(default_factory=threading.Event)  # set at shutdown

    def now(self) -> float:
        return self.clock()

    async def db(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking catalogue call off the event loop."""
        return await run_in_threadpool(fn, self.catalogue, *args)


def template_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["age"] = age
    env.filters["number"] = number
    return env


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def render(
    request: Request,
    template: str,
    *,
    session: Session | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    desk = desk_of(request)
    accept = request.headers.get("accept-language")
    html = desk.templates.get_template(template).render(
        t=labels(accept),
        lang=language(accept),
        session=session,
        now=desk.now(),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def when(ts: float | None) -> str:
    """A time as UTC, to the second: the desk serves officers in several time zones."""
    if ts is None:
        return "–"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def age(seconds: float | None) -> str:
    """A duration the way a desk officer reads it: 45 s, 12 min, 3.5 h, 2.0 d."""
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{max(seconds, 0):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def number(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"
