"""`evgw`: the command line of the gateway: the daemon, the demo, keys and the evidence tools.

Only the chosen command's module is imported, so a court expert's `evgw verify-export` never
loads the video stack. Every error, of any command, is one line `evgw: error: …` (and a hint),
never a traceback; the exit codes are the one table in `evgw.exit_codes`, shown in every --help.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from importlib import metadata
from typing import Any, NoReturn

from evgw import exit_codes
from evgw.display_width import wrap
from evgw.errors import EvgwError
from evgw.i18n import _, translations
from evgw.text import SafeText
from evgw.verbose import accept_verbose

from ..logs import setup_logging

COMMANDS = {
    "run": _("record the configured cameras until SIGTERM"),
    "status": _("recorded, confirmed and waiting segments; minutes of recording left"),
    "discover": _("find the ONVIF cameras on the camera network (WS-Discovery)"),
    "verify": _("verify recorded streams (signatures, chain, checkpoints, media hashes)"),
    "find": _("segments covering a camera's time range: state, gaps and verdicts"),
    "export": _("export a camera's time range as a verifiable case package"),
    "verify-export": _("re-check an export package offline (public material only)"),
    "monitor": _("live fleet table of every gateway reporting to an MQTT broker"),
    "command": _("send a signed command (hold, release, upload-priority, rediscover) to a gateway"),
    "keygen": _("make the device signing key (or an operator key, or an archive age identity)"),
    "demo": _("record simulated cameras for a while and show the result"),
    "archive": _(
        "headquarters: catalogue the bucket, find and export cases without the box "
        "(archive sync, find, export)"
    ),
    "desk": _("headquarters: serve the monitoring desk web application (desk useradd: add a user)"),
    "check": _(
        "check the configuration, keys, data dir and font (and with --online the servers) "
        "before running: every problem, one line each"
    ),
}
ELSEWHERE = {"archive": "central.cli.archive", "desk": "central.cli.desk"}
"""Commands whose module lives outside the gateway, named by path: the gateway never imports
the archive's code, only this command line loads it when asked."""


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only `commands` (default: all) get their arguments, importing their module."""
    wanted = set(COMMANDS if commands is None else commands)
    translations()
    parser = Parser(
        prog="evgw",
        description=_(
            "the command line of the gateway: the daemon, the demo, keys and the evidence tools"
        ),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=_("debug logging"))
    parser.add_argument("--version", action="version", version=f"evgw {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar=_("COMMAND"))
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        accept_verbose(p)
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
        report_error(str(e), e.hint)
        return e.exit_code
    except OSError as e:  # an I/O failure no service named: still one line, not a traceback
        report_error(str(e), None)
        return exit_codes.RUNTIME
    except KeyboardInterrupt:
        return 130


def report_error(message: str, hint: str | None) -> None:
    """The one form of every error: `evgw: error: <what>` (and `evgw: hint: <next step>`)."""
    print(_("evgw: error: {message}").format(message=message), file=sys.stderr)
    if hint:
        print(_("evgw: hint: {hint}").format(hint=hint), file=sys.stderr)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Option help wrapped by display width, so Chinese help breaks inside the terminal."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return wrap(text, width)


class Parser(argparse.ArgumentParser):
    """argparse, but its errors in evgw's one form (exit 2: a usage error), and the exit-code
    table as the epilog of every command and sub-command's --help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("epilog", exit_codes.epilog())
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        report_error(message, _("`{prog} --help` lists the options").format(prog=self.prog))
        sys.exit(exit_codes.USAGE)


def _named_commands(argv: Sequence[str]) -> list[str]:
    """The command words in `argv` (argparse decides which one is the command)."""
    return [word for word in argv if word in COMMANDS]


def installed_version() -> str:
    """The version of the installed evgw package (its metadata), or "unknown" in a bare tree."""
    try:
        return metadata.version("evgw")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"
