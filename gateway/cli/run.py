"""`evgw run`: the daemon; records until SIGTERM, sealing every open segment before it exits.

`evgw run --check` checks instead of running, as `evgw check` does, and exits.
"""

from __future__ import annotations

import argparse

from ..daemon.service import run as run_daemon
from . import args as common
from . import check


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_config(p)
    p.add_argument(
        "--check",
        action="store_true",
        help="check everything `evgw check` checks, print every problem and exit (2 if any)",
    )
    check.add_check_options(p)


def run(args: argparse.Namespace) -> int:
    if args.check:
        return check.run(args)
    return run_daemon(common.config(args))
