"""`evgw`: the command line of the gateway: the daemon, the demo, keys, and the evidence tools."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import (
    daemon,
    demo,
    discover_cmd,
    export_cmd,
    find_cmd,
    monitor_cmd,
    status_cmd,
    verify_cmd,
    verify_export_cmd,
)
from .config import load_config
from .errors import EvgwError
from .keys import make_archive_identity, make_device_key
from .logs import setup_logging

COMMANDS = (
    verify_cmd,
    status_cmd,
    discover_cmd,
    monitor_cmd,
    find_cmd,
    export_cmd,
    verify_export_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evgw", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="record the configured cameras until SIGTERM")
    run.add_argument("--config", type=Path, required=True, help="the TOML configuration file")

    kg = sub.add_parser("keygen", help="make the device signing key (or an archive age identity)")
    kg.add_argument("--out", type=Path, required=True, help="folder for the new key files")
    kg.add_argument(
        "--archive",
        action="store_true",
        help="make an age identity for the central archive (never install it on a gateway)",
    )

    dm = sub.add_parser("demo", help="record simulated cameras for a while and show the result")
    dm.add_argument("--seconds", type=float, default=40.0, help="how long to record (default 40)")
    dm.add_argument(
        "--config", type=Path, default=demo.DEFAULT_CONFIG, help="demo configuration file"
    )
    for command in COMMANDS:
        command.add_parser(sub).set_defaults(handler=command.run)
    run.set_defaults(handler=lambda args: daemon.run(load_config(args.config)))
    kg.set_defaults(handler=lambda args: keygen(args.out, args.archive))
    dm.set_defaults(handler=lambda args: demo.run(args.config, args.seconds))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return int(args.handler(args))
    except EvgwError as e:
        print(f"evgw: error: {e}", file=sys.stderr)
        return 2


def keygen(out: Path, archive: bool) -> int:
    try:
        if archive:
            path, recipient = make_archive_identity(out)
            print(f"archive identity: {path} (mode 0600; keep it off every gateway)")
            print(f"recipient (put into [keys] recipients): {recipient}")
        else:
            path, fp = make_device_key(out)
            public = path.with_name(path.name + ".pub").read_text().strip()
            print(f"device signing key: {path} (mode 0600)")
            print(f"public key: {public}")
            print(f"fingerprint: {fp}")
    except FileExistsError as e:
        print(f"evgw: error: {e.filename} exists; refusing to overwrite a key", file=sys.stderr)
        return 2
    return 0
