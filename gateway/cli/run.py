"""`evgw run`: the daemon; records until SIGTERM, sealing every open segment before it exits."""

from __future__ import annotations

import argparse

from ..daemon.lifecycle import run as run_daemon
from . import args as common


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_config(p)


def run(args: argparse.Namespace) -> int:
    return run_daemon(common.config(args))
