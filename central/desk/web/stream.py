"""Live updates: `GET /events/stream`, Server-Sent Events telling open pages that the fleet
changed, so they fetch their fragments again instead of reloading.

The version is read from the desk tables themselves (newest report time, alarm counts and
acknowledgements), so it moves whichever process ingests, this one or another desk on the
same database. One reading per second serves every open page (`VersionCache`); each stream
sends `event: fleet` when the version differs from the last it sent, and a comment line every
15 s so proxies keep the connection. A stream ends when the desk shuts down (the browser
reconnects to the next one by itself).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_alarms, desk_cameras, desk_gateways

from .context import desk_of
from .guard import current_session

CHECK_EVERY_S = 1.0
KEEPALIVE_S = 15.0


def desk_version(catalogue: Catalogue, stale_before: float) -> int:
    """A number that changes whenever what the fleet and alarm pages show changes, also when
    a gateway goes stale (not heard since `stale_before`) without any report arriving."""
    a, g = desk_alarms.c, desk_gateways.c
    with catalogue.transaction() as tx:
        stale = func.count().filter(g.last_seen < stale_before)
        gateways = tx.c.execute(select(func.count(), func.max(g.last_seen), stale)).one()
        cameras = tx.c.execute(select(func.count(), func.max(desk_cameras.c.last_seen))).one()
        alarms = tx.c.execute(
            select(func.count(), func.max(a.id), func.count(a.cleared_at), func.count(a.acked_at))
        ).one()
    digest = hashlib.sha256(repr((tuple(gateways), tuple(cameras), tuple(alarms))).encode())
    return int.from_bytes(digest.digest()[:6], "big")  # fits a JavaScript number


@dataclass
class VersionCache:
    """The version read at most once per `max_age_s`, shared by all streams."""

    catalogue: Catalogue
    clock: Callable[[], float]
    stale_after_s: float
    max_age_s: float = CHECK_EVERY_S
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _value: int | None = None
    _read_at: float = float("-inf")

    def get(self) -> int:
        with self._lock:
            now = self.clock()
            if self._value is None or now - self._read_at >= self.max_age_s:
                self._value = desk_version(self.catalogue, now - self.stale_after_s)
                self._read_at = now
            return self._value


async def event_stream(request: Request) -> Response:
    if await current_session(request) is None:
        return PlainTextResponse("log in first", status_code=401)
    versions: VersionCache = request.app.state.versions
    return StreamingResponse(
        _events(request, versions),
        media_type="text/event-stream",
        headers={"x-accel-buffering": "no"},
    )


async def _events(request: Request, versions: VersionCache) -> AsyncIterator[str]:
    desk = desk_of(request)
    sent: int | None = None
    last_write = desk.now()
    yield "retry: 3000\n\n"
    while not desk.stopping.is_set():  # Starlette cancels this when the browser leaves
        version = await desk.db(lambda _catalogue: versions.get())
        if version != sent:
            sent, last_write = version, desk.now()
            yield f"event: fleet\ndata: {version}\n\n"
        elif desk.now() - last_write >= KEEPALIVE_S:
            last_write = desk.now()
            yield ": keepalive\n\n"
        await asyncio.sleep(CHECK_EVERY_S)
