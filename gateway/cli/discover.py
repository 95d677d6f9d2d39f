"""`evgw discover`: list the ONVIF cameras on a camera network, for installing a gateway.

Exit 0 when the search ran (also when it found nothing, which it says), 2 on usage errors.
Cameras that answered the probe but not the ONVIF queries are listed with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from cameras import onvif_client
from cameras.onvif_client import Discovered
from cameras.redact import redact
from evgw.errors import UsageError
from evgw.i18n import _

from . import args as common
from .table import columns

COLUMNS = (
    "endpoint",
    "address",
    "manufacturer",
    "model",
    "serial",
    "firmware",
    "profiles",
    "stream_uri",
    "clock_offset_s",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--interface", help=_("camera network interface, e.g. eth1"))
    where.add_argument("--address", help=_("IPv4 address of this gateway on the camera network"))
    common.add_json(p, "print a JSON list")
    p.add_argument("--username", help=_("ONVIF user name for the queries"))
    p.add_argument("--password-file", type=Path, help=_("file holding the ONVIF password"))
    p.add_argument(
        "--timeout", type=float, default=3.0, help=_("seconds to wait for answers (default 3)")
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if not args.interface and not args.address:
        raise UsageError("give --interface IF or --address IP of the camera network")
    if not 0 < args.timeout <= 60:
        raise UsageError(f"--timeout must be between 0 and 60 seconds, got {args.timeout:g}")
    if args.password_file is not None and not args.username:
        raise UsageError("--password-file needs --username")
    password = None
    if args.password_file is not None:
        password = common.secret_file(args.password_file, "--password-file")
    result = onvif_client.discover(
        args.address or "", args.timeout, args.username, password, interface=args.interface
    )
    rows = rows_of(result)
    if args.json:
        json.dump(rows, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(render_table(rows))
    return 0


def rows_of(result: Discovered) -> list[dict[str, Any]]:
    """One JSON-ready row per camera, queried ones first; `error` says why one was not."""
    rows: list[dict[str, Any]] = []
    for d in sorted(result.devices, key=lambda d: (d.xaddr, d.endpoint)):
        rows.append(
            {
                "endpoint": d.endpoint,
                "address": _address(d.xaddr),
                "xaddr": d.xaddr,
                "name": d.name,
                "manufacturer": d.manufacturer,
                "model": d.model,
                "serial": d.serial,
                "firmware": d.firmware,
                "profiles": [
                    {
                        "token": p.token,
                        "name": p.name,
                        "width": p.width,
                        "height": p.height,
                        "fps": p.fps,
                        "encoding": p.encoding,
                    }
                    for p in d.profiles
                ],
                "profile": d.profile_token,
                "stream_uri": redact(d.stream_uri),
                "clock_offset_s": round(d.clock_offset_s, 3),
                "error": None,
            }
        )
    for a, error in result.failures:
        xaddr = a.xaddrs[0] if a.xaddrs else ""
        rows.append(
            {
                "endpoint": a.endpoint,
                "address": _address(xaddr),
                "xaddr": xaddr,
                "name": a.name,
                "error": str(error),
            }
        )
    return rows


def _address(xaddr: str) -> str:
    try:
        return urlsplit(xaddr).netloc.rpartition("@")[2]
    except ValueError:
        return ""


def render_table(rows: list[dict[str, Any]]) -> str:
    ok = [r for r in rows if r["error"] is None]
    failed = [r for r in rows if r["error"] is not None]
    if not rows:
        return "no ONVIF cameras answered on this network\n"
    lines = columns([COLUMNS, *(_cells(r) for r in ok)]) if ok else []
    lines.append(f"{len(ok)} camera(s) queried, {len(failed)} found but not queryable")
    for r in failed:
        lines.append(f"not queryable: {r['endpoint']} at {r['address'] or '?'}: {r['error']}")
    return "\n".join(lines) + "\n"


def _cells(r: dict[str, Any]) -> tuple[str, ...]:
    profiles = ", ".join(
        f"{p['token']}:{p['width']}x{p['height']}@{p['fps']:g}" for p in r["profiles"]
    )
    values = {**r, "profiles": profiles, "clock_offset_s": f"{r['clock_offset_s']:+.1f} s"}
    return tuple(str(values[c]) for c in COLUMNS)
