"""`evgw monitor`: the central desk's live fleet table over MQTT (DESIGN.md §7).

One row per gateway under the topic root and an indented row per camera, then the active
alarms. The view comes from `uplink.fleet_view`; this module connects, waits for the retained
values and prints. Exit 0, or 2 on usage and broker errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from evgw.errors import UsageError
from evgw.i18n import _
from evgw.local_time import Zone, machine, show
from uplink.fleet import FleetListener, settle
from uplink.fleet_view import DEFAULT_STALE_AFTER_S, FleetView, GatewayRow, build_view
from uplink.settings import MqttSettings

from . import args as common
from .broker import add_broker_options, broker_settings
from .table import columns, duration
from .terminal import clear_screen

REFRESH_S = 1.0
CONNECT_TIMEOUT_S = 10.0
ONCE_MAX_WAIT_S = 2.0
ONCE_QUIET_S = 0.5
MAX_ERROR_CHARS = 60
_COLUMNS = (
    "GATEWAY / CAMERA",
    "STATE",
    "BACKLOG",
    "OLDEST",
    "LEFT",
    "ALARMS",
    "FPS",
    "SEGMENT",
    "RECONN",
    "UPDATED",
    "LAST ERROR",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_broker_options(p)
    common.add_json(p, "print JSON (one object per refresh)")
    p.add_argument("--once", action="store_true", help=_("print one snapshot and exit"))
    p.add_argument(
        "--stale-after",
        type=float,
        default=DEFAULT_STALE_AFTER_S,
        help=f"seconds without a fresh payload before STALE (default {DEFAULT_STALE_AFTER_S:g})",
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    listener = FleetListener(settings_from(args))
    try:
        listener.connect(CONNECT_TIMEOUT_S)
        if args.once:
            settle(listener.value_count, ONCE_MAX_WAIT_S, ONCE_QUIET_S)
            view = build_view(listener.snapshot(), time.time(), args.stale_after)
            _emit(view, args.json, out, clear=False)
            return 0
        clear = not args.json and out.isatty()
        while True:
            view = build_view(listener.snapshot(), time.time(), args.stale_after)
            _emit(view, args.json, out, clear)
            if listener.last_error is not None and not args.json:
                out.write(f"broker connection: {listener.last_error} (retrying)\n")
                out.flush()
            time.sleep(REFRESH_S)
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how a live table ends
    finally:
        listener.stop()


def settings_from(args: argparse.Namespace) -> MqttSettings:
    if args.stale_after <= 0:
        raise UsageError("--stale-after must be a positive number of seconds")
    return broker_settings(args)


def _emit(view: FleetView, as_json: bool, out: TextIO, clear: bool) -> None:
    if as_json:
        out.write(json.dumps(view.to_json(), ensure_ascii=False) + "\n")
    else:
        if clear:
            clear_screen(out)
        out.write(render(view) + ("" if clear else "\n"))
    out.flush()


def render(view: FleetView, zone: Zone | None = None) -> str:
    """The fleet table, then one line per active alarm; the time in `zone` (default: this
    machine's, as the monitor has no configuration)."""
    stamp = show(datetime.fromtimestamp(view.at, UTC), zone or machine())
    head = (
        f"evgw fleet at {stamp}: {len(view.gateways)} gateway(s), "
        f"STALE after {view.stale_after_s:g} s without news"
    )
    if not view.gateways:
        return f"{head}\nno gateways have reported under this topic root yet\n"
    lines = [head, "", *columns([_COLUMNS, *(c for row in view.gateways for c in _cells(row))])]
    alarms = [(row.gateway, a) for row in view.gateways for a in row.alarms]
    if alarms:
        lines += ["", "active alarms:"]
    for gateway, a in alarms:
        where = f"{gateway}/{a.camera}" if a.camera else gateway
        since = "" if a.since is None else f" for {duration(view.at - a.since)}"
        detail = f": {_short(a.detail)}" if a.detail else ""
        lines.append(f"  {where}: {a.alarm}{since}{detail}")
    return "\n".join(lines) + "\n"


def _cells(row: GatewayRow) -> list[tuple[str, ...]]:
    left = "-" if row.minutes_left is None else f"{row.minutes_left:.0f} min"
    oldest = duration(row.oldest_unconfirmed_age_s)
    alarms, updated = str(row.alarm_count), _ago(row.age_s)
    cells = [(row.gateway, row.state, _backlog(row), oldest, left, alarms, *[""] * 3, updated, "")]
    for c in row.cameras:
        fps = "-" if c.fps is None else f"{c.fps:.1f}"
        reconnects = "-" if c.reconnects is None else str(c.reconnects)
        segment, error = duration(c.last_segment_age_s), _short(c.last_error)
        blank = ("",) * 4
        cells.append(
            ("  " + c.camera, c.status, *blank, fps, segment, reconnects, _ago(c.age_s), error)
        )
    return cells


def _backlog(row: GatewayRow) -> str:
    if row.backlog_count is None:
        return "-"
    size = "" if row.backlog_bytes is None else f" ({row.backlog_bytes / 1e6:.1f} MB)"
    return f"{row.backlog_count}{size}"


def _ago(age: float | None) -> str:
    return "-" if age is None else f"{duration(age)} ago"


def _short(text: str | None) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
