"""Assemble the desk's web application: routes, static files, security headers, state.

`create_app` does no I/O beyond reading the metrics token file: the catalogue is opened (and
migrated) by the caller, which also closes it. `clock` is the time every session expiry, rate
limit and staleness is judged by, so tests can move it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from central.catalogue.db import Catalogue
from central.config.load import CentralConfig
from central.config.tables import DeskTable
from evgw.config.fields import Scope
from evgw.config.secret_files import read_secret

from . import camera_page, cases, commands, login, pages
from .context import Desk, template_environment
from .headers import SecurityHeaders
from .metrics import metrics
from .stream import VersionCache, event_stream

STATIC = Path(__file__).parent / "static"


def create_app(
    config: CentralConfig, catalogue: Catalogue, *, clock: Callable[[], float] = time.time
) -> Starlette:
    settings = config.desk if config.desk is not None else DeskTable()
    tls = settings.tls_cert is not None
    token = None
    if settings.metrics_token_file is not None:
        scope = Scope(config.path, "[desk]", " ")
        token = read_secret(scope, "metrics_token_file", settings.metrics_token_file)
    desk = Desk(settings, catalogue, clock, tls, token, template_environment())
    app = Starlette(routes=_routes(), middleware=[Middleware(SecurityHeaders, tls=tls)])
    app.state.desk = desk
    app.state.cases = cases.case_desk(config, catalogue)
    app.state.versions = VersionCache(catalogue, clock, settings.stale_after_s)
    return app


def _routes() -> list[Route | Mount]:
    return [
        Route("/login", login.login_page, methods=["GET"]),
        Route("/login", login.login_submit, methods=["POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/", pages.page(pages.fleet_page)),
        Route("/fragments/fleet", pages.fragment(pages.fleet_fragment)),
        Route("/alarms", pages.page(pages.alarms_page)),
        Route("/fragments/alarms", pages.fragment(pages.alarms_fragment)),
        Route("/alarms/{alarm_id:int}/ack", pages.ack, methods=["POST"]),
        Route("/gateways/{gateway}", pages.page(pages.gateway_page)),
        Route("/fragments/gateways/{gateway}", pages.fragment(pages.gateway_fragment)),
        Route("/gateways/{gateway}/cameras/{camera}", pages.page(camera_page.camera_page)),
        Route(
            "/fragments/gateways/{gateway}/cameras/{camera}",
            pages.fragment(camera_page.camera_fragment),
        ),
        Route("/audit", pages.page(pages.audit_page)),
        Route("/cases", pages.page(cases.cases_page)),
        Route("/cases/export", cases.export_start, methods=["POST"]),
        Route("/cases/command", commands.send, methods=["POST"]),
        Route("/cases/exports/{export_id}", cases.export_page),
        Route("/cases/exports/{export_id}/status", cases.export_status),
        Route("/cases/exports/{export_id}/download", cases.export_download),
        Route("/events/stream", event_stream),
        Route("/metrics", metrics),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
