"""`python -m gateway.cli.manpage`: the manual page evgw(1), generated from the argparse parser.

Generated at install time rather than committed, so it cannot drift from `--help`: every
command, sub-command and option comes from the same parser `evgw` runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from .args import CONFIG_ENV, DEFAULT_CONFIG
from .main import build_parser

EXIT_STATUS = (
    ("0", "success"),
    ("1", "evidence verdict negative (NOT_AUTHENTIC, tampering found)"),
    ("2", "usage or configuration error (bad option, bad config, missing file or data dir)"),
    ("3", "runtime failure (server unreachable, I/O error)"),
    ("4", "partial: some items could not be checked"),
)


def roff(text: str) -> str:
    """`text` as roff body text: backslashes, hyphens, non-ASCII, control characters."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    return "\n".join(
        "\\&" + line if line.startswith((".", "'")) else line for line in text.splitlines()
    )


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse._SubParsersAction]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield action


def _helps(sub: argparse._SubParsersAction) -> dict[str, str]:
    return {choice.dest: choice.help or "" for choice in sub._choices_actions}


def _metavar(action: argparse.Action) -> str:
    metavar = action.metavar or action.dest.upper()
    return metavar if isinstance(metavar, str) else " ".join(metavar)


def _option(action: argparse.Action) -> str:
    """`.TP` entry of one argument: its flags (bold), its value (italic), then its help."""
    if action.option_strings:
        names = ", ".join(f"\\fB{roff(s)}\\fR" for s in action.option_strings)
        if action.nargs != 0:
            names += f" \\fI{roff(_metavar(action))}\\fR"
    else:
        names = f"\\fI{roff(str(action.metavar or action.dest))}\\fR"
    help_text = (action.help or "").replace("%(default)s", str(action.default))
    return f".TP\n{names}\n{roff(help_text)}"


def _command(name: str, parser: argparse.ArgumentParser, help_text: str) -> list[str]:
    """The section of one command: usage, description and options, then its sub-commands."""
    usage = parser.format_usage().removeprefix("usage: ").strip()
    lines = [f".SS {roff(name)}", f".B {roff(' '.join(usage.split()))}", ".PP", roff(help_text)]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.help != argparse.SUPPRESS:
            lines.append(_option(action))
    for sub in _subparsers(parser):
        helps = _helps(sub)
        for child, child_parser in sub.choices.items():
            lines += _command(f"{name} {child}", child_parser, helps.get(child, ""))
    return lines


def render(parser: argparse.ArgumentParser, today: date) -> str:
    """The whole page in man(7) format."""
    lines = [
        f'.TH EVGW 1 "{today.isoformat()}" "evgw" "User Commands"',
        ".SH NAME",
        "evgw \\- evidence\\-grade video recording gateway",
        ".SH SYNOPSIS",
        ".B evgw",
        "[\\fB\\-v\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        roff(
            "evgw records IP cameras into signed, hash-chained segments, uploads them to "
            "object storage and reports over MQTT; its evidence tools find, verify and "
            "export what was recorded. Every command prints its own help with --help."
        ),
        ".SH OPTIONS",
    ]
    for action in parser._actions:
        if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            lines.append(_option(action))
    lines.append(".SH COMMANDS")
    for sub in _subparsers(parser):
        helps = _helps(sub)
        for name, child in sub.choices.items():
            lines += _command(name, child, helps.get(name, ""))
    lines += [
        ".SH EXIT STATUS",
        *(f".TP\n{code}\n{roff(meaning)}" for code, meaning in EXIT_STATUS),
        ".SH ENVIRONMENT",
        f".TP\n{CONFIG_ENV}",
        roff(f"the configuration file when --config is not given (default {DEFAULT_CONFIG})"),
        ".SH FILES",
        f".TP\n{roff(str(DEFAULT_CONFIG))}",
        roff("the gateway's configuration (root:evgw 0640)"),
        ".TP\n/etc/evgw/keys/device.ed25519",
        roff("the device signing key (root 0600); the service reads a copy systemd hands it"),
        ".TP\n/var/lib/evgw",
        roff("the data dir: sealed segments, their ledger and the index"),
        ".SH SEE ALSO",
        "\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1), \\fBmosquitto\\fR(8)",
    ]
    return "\n".join(lines) + "\n"


def build_date() -> date:
    """$SOURCE_DATE_EPOCH's day when set (a reproducible build), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return date.today() if not epoch else datetime.fromtimestamp(int(epoch), UTC).date()


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m gateway.cli.manpage", description=__doc__)
    cli.add_argument("--output", type=Path, help="write the page here (default: stdout)")
    args = cli.parse_args(argv)
    page = render(build_parser(), build_date())
    if args.output is None:
        sys.stdout.write(page)
    else:
        args.output.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
