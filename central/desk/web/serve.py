"""Run the desk: uvicorn serving the app in a named thread, ingest beside it when configured,
until SIGTERM or Ctrl-C; then stop both and close the catalogue.

The listening socket is bound here first, so a port in use is one clear error and port 0 gets
its real number before the `desk: serving URL` line is printed (after the server accepts).
Open event streams get `GRACE_S` to finish at shutdown, then they are cut.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import uvicorn
from starlette.applications import Starlette

from central.catalogue.db import Catalogue
from central.config.load import CentralConfig
from central.config.tables import DeskTable
from evgw.config.checks import Invalid, host_list
from evgw.errors import EvgwError, UsageError

from .app import create_app

log = logging.getLogger("central.desk")

GRACE_S = 2
INGEST_MODULE = "central.desk.ingest.service"


class Ingest(Protocol):
    def stop(self) -> None: ...


@dataclass(frozen=True)
class Listen:
    host: str
    port: int


def parse_listen(value: str) -> Listen:
    """HOST:PORT (IPv6 in brackets); port 0 picks a free port."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"--listen must be HOST:PORT, e.g. 127.0.0.1:8080, got {value[:80]!r}")
    try:
        host_list([host])
    except Invalid as e:
        raise UsageError(f"--listen: {e}") from e
    return Listen(host, int(port))


def serve(config: CentralConfig, listen: str | None, say: Callable[[str], None]) -> int:
    """Serve until told to stop; `say` prints the one start-up line."""
    settings = config.desk if config.desk is not None else DeskTable()
    where = parse_listen(listen or settings.listen)
    sock = _bind(where)
    catalogue = Catalogue.open(config.database)
    ingest: Ingest | None = None
    try:
        ingest = _start_ingest(config, settings, catalogue)
        app = create_app(config, catalogue)
        server = uvicorn.Server(_uvicorn_config(app, settings))
        _run(server, app.state.desk.stopping, sock, say, _url(settings, where, sock))
    finally:
        if ingest is not None:
            ingest.stop()
        catalogue.close()
        sock.close()
    return 0


def _bind(where: Listen) -> socket.socket:
    family = socket.AF_INET6 if ":" in where.host else socket.AF_INET
    try:
        return socket.create_server((where.host, where.port), family=family, backlog=128)
    except OSError as e:
        raise EvgwError(
            f"cannot listen on {where.host}:{where.port}: {e.strerror or e}",
            hint="pick a free address with --listen or [desk] listen",
        ) from e


def _start_ingest(
    config: CentralConfig, settings: DeskTable, catalogue: Catalogue
) -> Ingest | None:
    if not settings.ingest:
        log.info("desk: [desk] ingest = false: showing what another desk ingests")
        return None
    if config.mqtt is None:
        log.warning("desk: no [mqtt] section: nothing is ingested; add it to watch the fleet")
        return None
    service = importlib.import_module(INGEST_MODULE)
    ingest: Ingest = service.start_ingest(config, catalogue)
    return ingest


def _uvicorn_config(app: Starlette, settings: DeskTable) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACE_S,
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
    )


def _url(settings: DeskTable, where: Listen, sock: socket.socket) -> str:
    scheme = "https" if settings.tls_cert is not None else "http"
    host = f"[{where.host}]" if ":" in where.host else where.host
    return f"{scheme}://{host}:{sock.getsockname()[1]}/"


def _run(
    server: uvicorn.Server,
    streams_end: threading.Event,
    sock: socket.socket,
    say: Callable[[str], None],
    url: str,
) -> None:
    """uvicorn in a thread (so the signals stay ours), this thread waiting for a signal; at
    the signal the event streams end first, so uvicorn finds no request left to wait for."""
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="desk-http", daemon=True
    )
    try:
        thread.start()
        announced = False
        while thread.is_alive() and not stop.wait(0.05):
            if server.started and not announced:
                say(f"desk: serving {url}")
                announced = True
        streams_end.set()
        server.should_exit = True
        thread.join()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if not server.started:
        raise EvgwError("the desk's web server did not start; see the log lines above")
