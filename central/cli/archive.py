"""`evgw archive COMMAND`: the group of headquarters commands; each lives in its own module.

Only the chosen sub-command's module does work; each module has `add_arguments(parser)` and
`run(args) -> exit code`, as the gateway's commands do. The help texts are marked here with
`N_` and translated when the parser is built, after the reader's catalogue is chosen.
"""

from __future__ import annotations

import argparse
import importlib

from evgw.i18n import N_, _
from evgw.verbose import accept_verbose

SUBCOMMANDS = {
    "sync": (
        "central.cli.sync",
        N_(
            "catalogue the bucket's new object versions and check every gateway's records, "
            "segments and checkpoints; co-sign the consistent checkpoints as witness"
        ),
    ),
    "verify-box": (
        "central.cli.verify_box",
        N_("verify a box's data dir against the newest checkpoints this archive co-signed"),
    ),
    "keygen": (
        "central.cli.keygen",
        N_("make the archive's witness or export signing key"),
    ),
    "resolve": (
        "central.cli.resolve",
        N_("close findings a person has looked into: who, when and why, kept beside them"),
    ),
    "find": (
        "central.cli.find",
        N_("segments covering a camera's time range at the archive: state, gaps and verdicts"),
    ),
    "export": (
        "central.cli.export",
        N_("export a camera's time range as a case package from the bucket, signed by the archive"),
    ),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="archive_command", required=True, metavar=_("COMMAND"))
    for name, (path, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(path)
        q = sub.add_parser(name, help=_(help_text), description=_(help_text))
        accept_verbose(q)
        module.add_arguments(q)
        q.set_defaults(archive_handler=module.run)


def run(args: argparse.Namespace) -> int:
    return int(args.archive_handler(args))
