"""`evgw`: the command line of the gateway: the daemon, the demo, keys and the evidence tools.

Only the chosen command's module is imported, so a court expert's `evgw verify-export` never
loads the video stack. A known failure (`EvgwError`) is printed as one line (and a hint), never
a traceback; the exit code is 2 for a usage or configuration mistake, 1 for a failure.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from importlib import metadata

from evgw.errors import EvgwError
from evgw.text import SafeText

from ..logs import setup_logging

COMMANDS = {
    "run": "record the configured cameras until SIGTERM",
    "status": "recorded, confirmed and waiting segments; minutes of recording left",
    "discover": "find the ONVIF cameras on the camera network (WS-Discovery)",
    "verify": "verify recorded streams (signatures, chain, checkpoints, media hashes)",
    "find": "segments covering a camera's time range: state, gaps and verdicts",
    "export": "export a camera's time range as a verifiable case package",
    "verify-export": "re-check an export package offline (public material only)",
    "monitor": "live fleet table of every gateway reporting to an MQTT broker",
    "command": "send a signed command (hold, release, upload-priority, rediscover) to a gateway",
    "keygen": "make the device signing key (or an operator key, or an archive age identity)",
    "demo": "record simulated cameras for a while and show the result",
    "archive": "headquarters: catalogue the bucket, find and export cases without the box "
    "(archive sync, find, export)",
    "desk": "headquarters: serve the monitoring desk web application (desk useradd: add a user)",
    "check": "check the configuration, keys, data dir and font (and with --online the servers) "
    "before running: every problem, one line each",
}
ELSEWHERE = {"archive": "central.cli.archive", "desk": "central.cli.desk"}
"""Commands whose module lives outside the gateway, named by path: the gateway never imports
the archive's code, only this command line loads it when asked."""


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only `commands` (default: all) get their arguments, importing their module."""
    wanted = set(COMMANDS if commands is None else commands)
    parser = argparse.ArgumentParser(prog="evgw", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"evgw {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name in wanted:
            path = ELSEWHERE.get(name, f"{__package__}.{name.replace('-', '_')}")
            module = importlib.import_module(path)
            module.add_arguments(p)
            p.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    with redirect_stdout(SafeText(sys.stdout)), redirect_stderr(SafeText(sys.stderr)):
        return _main(argv)


def _main(argv: list[str]) -> int:
    named = _named_commands(argv)
    try:
        args = build_parser(named).parse_args(argv)
        setup_logging(args.verbose)
        return int(args.handler(args))
    except EvgwError as e:
        prefix = f"evgw {named[0]}" if named else "evgw"
        print(f"{prefix}: error: {e}", file=sys.stderr)
        if e.hint:
            print(f"{prefix}: hint: {e.hint}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


def _named_commands(argv: Sequence[str]) -> list[str]:
    """The command words in `argv` (argparse decides which one is the command)."""
    return [word for word in argv if word in COMMANDS]


def installed_version() -> str:
    """The version of the installed evgw package (its metadata), or "unknown" in a bare tree."""
    try:
        return metadata.version("evgw")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"
