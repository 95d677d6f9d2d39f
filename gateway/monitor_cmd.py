"""`evgw monitor`: the central desk's live fleet table over MQTT (DESIGN.md §7, issue 6).

One row per gateway under the topic root and an indented row per camera. Staleness is judged
by each payload's own ``ts``, never by when it arrived: a monitor that starts late receives
every retained value at once, however old. `build_view` and `render` are pure; `run` is the
thin driver around `uplink.mqtt.FleetListener`. Exit 0, or 2 on usage and broker errors.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from paho.mqtt.client import Client, ConnectFlags
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from uplink.errors import SettingsError
from uplink.mqtt import FleetListener, FleetSnapshot, GatewayView, Received
from uplink.settings import MqttSettings

DEFAULT_STALE_AFTER_S = 30.0  # three missed updates at the gateway's 10 s health interval
REFRESH_S = 1.0
CONNECT_TIMEOUT_S = 10.0
ONCE_MAX_WAIT_S = 2.0
ONCE_QUIET_S = 0.5
MAX_PASSWORD_FILE = 4096
MAX_ERROR_CHARS = 60
CLEAR_SCREEN = "\x1b[H\x1b[2J"

# Gateway states and camera statuses, as shown and as put into the JSON.
ONLINE, OFFLINE, STALE, UNKNOWN = "online", "offline", "STALE", "unknown"
CAM_OK, CAM_OFFLINE, CAM_FROZEN, CAM_NOT_RECORDING = "OK", "OFFLINE", "FROZEN", "NOT RECORDING"
CAM_UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Alarm:
    alarm: str
    camera: str | None
    since: float | None
    detail: str | None


@dataclass(frozen=True)
class CameraRow:
    camera: str
    status: str
    age_s: float | None  # how old the newest payload is, by its own ts
    fps: float | None
    last_segment_age_s: float | None
    last_frame_age_s: float | None
    reconnects: int | None
    last_error: str | None


@dataclass(frozen=True)
class GatewayRow:
    gateway: str
    state: str
    age_s: float | None  # age of the newest payload of this gateway, by its own ts
    version: str | None
    backlog_count: int | None
    backlog_bytes: int | None
    oldest_unconfirmed_age_s: float | None
    minutes_left: float | None
    clock_synced: bool | None
    alarm_count: int
    alarms: tuple[Alarm, ...]
    cameras: tuple[CameraRow, ...]


@dataclass(frozen=True)
class FleetView:
    at: float
    stale_after_s: float
    gateways: tuple[GatewayRow, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# -- pure: snapshot -> view ------------------------------------------------------------------


def _number(obj: Mapping[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _integer(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _flag(obj: Mapping[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    return value if isinstance(value, bool) else None


def _object(value: Any) -> Mapping[str, Any]:
    """Untrusted JSON: anything but an object reads as an empty one."""
    return value if isinstance(value, Mapping) else {}


def _payload(received: Received | None) -> Mapping[str, Any]:
    return _object(received.payload) if received is not None else {}


def _age(ts: float | None, now: float) -> float | None:
    return None if ts is None else round(now - ts, 1)


def _is_stale(age: float | None, stale_after: float) -> bool:
    return age is not None and age > stale_after


def camera_row(camera: str, received: Received, now: float, stale_after: float) -> CameraRow:
    p = _object(received.payload)
    age = _age(_number(p, "ts"), now)
    online, frozen, recording = _flag(p, "online"), _flag(p, "frozen"), _flag(p, "recording")
    # The worst fact wins; a stale payload's other facts are history, so STALE comes first.
    if _is_stale(age, stale_after):
        status = STALE
    elif online is None:
        status = CAM_UNKNOWN
    elif not online:
        status = CAM_OFFLINE
    elif frozen:
        status = CAM_FROZEN
    elif recording is False:
        status = CAM_NOT_RECORDING
    else:
        status = CAM_OK
    return CameraRow(
        camera=camera,
        status=status,
        age_s=age,
        fps=_number(p, "fps"),
        last_segment_age_s=_number(p, "last_segment_age_s"),
        last_frame_age_s=_number(p, "last_frame_age_s"),
        reconnects=_integer(p, "reconnects"),
        last_error=_text(p, "last_error"),
    )


def _alarms(received: Received | None) -> tuple[Alarm, ...]:
    active = _payload(received).get("active")
    if not isinstance(active, list):
        return ()
    return tuple(
        Alarm(
            alarm=_text(a, "alarm") or "?",
            camera=_text(a, "camera"),
            since=_number(a, "since"),
            detail=_text(a, "detail"),
        )
        for a in map(_object, active)
    )


def gateway_row(view: GatewayView, now: float, stale_after: float) -> GatewayRow:
    health = _payload(view.health)
    upload, clock = _object(health.get("upload")), _object(health.get("clock"))
    stamps = [_number(_payload(r), "ts") for r in (view.health, view.alarms)]
    stamps += [_number(_object(r.payload), "ts") for r in view.cameras.values()]
    newest = max((ts for ts in stamps if ts is not None), default=None)
    age = _age(newest, now)
    said = view.state.payload if view.state is not None else None
    # The last will is the strongest fact; an `online` whose payloads stopped is STALE.
    if said == OFFLINE:
        state = OFFLINE
    elif _is_stale(age, stale_after):
        state = STALE
    elif said == ONLINE:
        state = ONLINE
    else:
        state = UNKNOWN
    alarms = _alarms(view.alarms)
    return GatewayRow(
        gateway=view.gateway,
        state=state,
        age_s=age,
        version=_text(health, "version"),
        backlog_count=_integer(upload, "backlog_count"),
        backlog_bytes=_integer(upload, "backlog_bytes"),
        oldest_unconfirmed_age_s=_number(upload, "oldest_unconfirmed_age_s"),
        minutes_left=_number(health, "minutes_left"),
        clock_synced=_flag(clock, "synced"),
        alarm_count=len(alarms),
        alarms=alarms,
        cameras=tuple(
            camera_row(cam, r, now, stale_after) for cam, r in sorted(view.cameras.items())
        ),
    )


def build_view(snapshot: FleetSnapshot, now: float, stale_after: float) -> FleetView:
    return FleetView(
        at=now,
        stale_after_s=stale_after,
        gateways=tuple(gateway_row(snapshot[gw], now, stale_after) for gw in sorted(snapshot)),
    )


# -- pure: view -> text ----------------------------------------------------------------------

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


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if abs(seconds) >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if abs(seconds) >= 60 else f"{seconds:.0f} s"


def _backlog(row: GatewayRow) -> str:
    if row.backlog_count is None:
        return "-"
    size = "" if row.backlog_bytes is None else f" ({row.backlog_bytes / 1e6:.1f} MB)"
    return f"{row.backlog_count}{size}"


def _ago(age: float | None) -> str:
    return "-" if age is None else f"{_dur(age)} ago"


def _short(text: str | None) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _cells(row: GatewayRow) -> list[tuple[str, ...]]:
    left = "-" if row.minutes_left is None else f"{row.minutes_left:.0f} min"
    oldest = _dur(row.oldest_unconfirmed_age_s)
    alarms, updated = str(row.alarm_count), _ago(row.age_s)
    cells = [(row.gateway, row.state, _backlog(row), oldest, left, alarms, *[""] * 3, updated, "")]
    for c in row.cameras:
        fps = "-" if c.fps is None else f"{c.fps:.1f}"
        reconnects = "-" if c.reconnects is None else str(c.reconnects)
        segment, error = _dur(c.last_segment_age_s), _short(c.last_error)
        blank = ("",) * 4
        cells.append(
            ("  " + c.camera, c.status, *blank, fps, segment, reconnects, _ago(c.age_s), error)
        )
    return cells


def render(view: FleetView) -> str:
    """The fleet table, then one line per active alarm."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(view.at))
    head = (
        f"evgw fleet at {stamp}: {len(view.gateways)} gateway(s), "
        f"STALE after {view.stale_after_s:g} s without news"
    )
    if not view.gateways:
        return f"{head}\nno gateways have reported under this topic root yet\n"
    table = [_COLUMNS] + [cells for row in view.gateways for cells in _cells(row)]
    widths = [max(len(r[i]) for r in table) for i in range(len(_COLUMNS))]
    lines = [head, ""]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in table]
    alarms = [(row.gateway, a) for row in view.gateways for a in row.alarms]
    if alarms:
        lines += ["", "active alarms:"]
    for gateway, a in alarms:
        where = f"{gateway}/{a.camera}" if a.camera else gateway
        since = "" if a.since is None else f" for {_dur(view.at - a.since)}"
        detail = f": {_short(a.detail)}" if a.detail else ""
        lines.append(f"  {where}: {a.alarm}{since}{detail}")
    return "\n".join(lines) + "\n"


# -- driver ----------------------------------------------------------------------------------


class MonitorError(Exception):
    """The monitor cannot run: bad arguments or the broker refused or is unreachable."""


class _Listener(FleetListener):
    """FleetListener that also signals when the broker has accepted us."""

    def __init__(self, settings: MqttSettings) -> None:
        super().__init__(settings)
        self.connected = threading.Event()

    def _on_connect(
        self,
        client: Client,
        userdata: object,
        flags: ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        super()._on_connect(client, userdata, flags, reason, properties)
        if not reason.is_failure:
            self.connected.set()

    def value_count(self) -> int:
        return sum(
            (v.state is not None) + (v.health is not None) + (v.alarms is not None) + len(v.cameras)
            for v in self.snapshot().values()
        )


def parse_broker(text: str, tls: bool) -> tuple[str, int]:
    """``HOST[:PORT]`` or ``[V6]:PORT``; the port defaults to 8883 with TLS, else 1883."""
    default = 8883 if tls else 1883
    host, port = text, ""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise MonitorError(f"--broker {text!r}: write an IPv6 address as [ADDR]:PORT")
        port = rest[1:]
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if not host:
        raise MonitorError(f"--broker {text!r}: no host; use HOST[:PORT]")
    if not port:
        return host, default
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise MonitorError(f"--broker {text!r}: port must be 1..65535")
    return host, int(port)


def _read_password(path: Path) -> str:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_PASSWORD_FILE + 1)
        if len(raw) > MAX_PASSWORD_FILE:
            raise ValueError(f"larger than {MAX_PASSWORD_FILE} bytes")
        password = raw.decode("utf-8").rstrip("\r\n")
    except (OSError, ValueError) as e:
        raise MonitorError(f"cannot read --password-file {path}: {e}") from e
    if not password:
        raise MonitorError(f"--password-file {path} is empty")
    return password


def settings_from(args: argparse.Namespace) -> MqttSettings:
    if args.stale_after <= 0:
        raise MonitorError("--stale-after must be a positive number of seconds")
    if args.password_file is not None and not args.username:
        raise MonitorError("--password-file needs --username")
    host, port = parse_broker(args.broker, args.tls)
    password = None if args.password_file is None else _read_password(args.password_file)
    try:
        return MqttSettings(
            host=host,
            port=port,
            tls=args.tls,
            ca_file=args.ca_file,
            username=args.username,
            password=password,
            topic_root=args.topic_root,
        )
    except SettingsError as e:
        raise MonitorError(str(e)) from e


def _connect(listener: _Listener, timeout: float) -> None:
    """Start the listener and wait until the broker accepts it, or raise MonitorError."""
    try:
        listener.start()
    except ValueError as e:  # TLS files that cannot be loaded
        raise MonitorError(str(e)) from e
    where = f"{listener.settings.host}:{listener.settings.port}"
    deadline = time.monotonic() + timeout
    while not listener.connected.wait(0.05):
        if listener.last_error is not None:
            raise MonitorError(f"{listener.last_error} (broker {where})")
        if time.monotonic() > deadline:
            raise MonitorError(f"no answer from the broker at {where} within {timeout:g} s")


def settle(count: Callable[[], int], max_wait: float, quiet: float) -> None:
    """Wait for retained values: until none arrive for `quiet` s, at most `max_wait` s."""
    start = last_change = time.monotonic()
    seen = count()
    while (now := time.monotonic()) - start < max_wait and now - last_change < quiet:
        time.sleep(0.05)
        if (n := count()) != seen:
            seen, last_change = n, time.monotonic()


def _emit(view: FleetView, as_json: bool, out: TextIO, clear: bool) -> None:
    if as_json:
        out.write(json.dumps(view.to_json(), ensure_ascii=False) + "\n")
    else:
        out.write((CLEAR_SCREEN if clear else "") + render(view) + ("" if clear else "\n"))
    out.flush()


def monitor(args: argparse.Namespace, out: TextIO) -> None:
    listener = _Listener(settings_from(args))
    try:
        _connect(listener, CONNECT_TIMEOUT_S)
        if args.once:
            settle(listener.value_count, ONCE_MAX_WAIT_S, ONCE_QUIET_S)
            view = build_view(listener.snapshot(), time.time(), args.stale_after)
            _emit(view, args.json, out, clear=False)
            return
        clear = not args.json and out.isatty()
        while True:
            view = build_view(listener.snapshot(), time.time(), args.stale_after)
            _emit(view, args.json, out, clear)
            if listener.last_error is not None and not args.json:
                out.write(f"broker connection: {listener.last_error} (retrying)\n")
                out.flush()
            time.sleep(REFRESH_S)
    finally:
        listener.stop()


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "monitor", help="live fleet table of every gateway reporting to an MQTT broker"
    )
    p.add_argument("--broker", required=True, help="HOST[:PORT] (port 1883, or 8883 with --tls)")
    p.add_argument("--tls", action="store_true", help="connect with TLS")
    p.add_argument("--ca-file", type=Path, help="CA certificate for --tls (default: system CAs)")
    p.add_argument("--username", help="MQTT user name")
    p.add_argument("--password-file", type=Path, help="file holding the MQTT password")
    p.add_argument("--topic-root", default="evgw", help="topic root (default evgw)")
    p.add_argument("--json", action="store_true", help="print JSON (one object per refresh)")
    p.add_argument("--once", action="store_true", help="print one snapshot and exit")
    p.add_argument(
        "--stale-after",
        type=float,
        default=DEFAULT_STALE_AFTER_S,
        help=f"seconds without a fresh payload before STALE (default {DEFAULT_STALE_AFTER_S:g})",
    )
    return p


def build_args(argv: list[str]) -> argparse.Namespace:
    """Parse `evgw monitor` arguments outside the CLI (the demo shows a snapshot)."""
    parser = argparse.ArgumentParser(prog="evgw monitor")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["monitor", *argv])


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        monitor(args, out)
    except MonitorError as e:
        print(f"evgw monitor: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
