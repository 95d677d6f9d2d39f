"""`evgw archive resolve ID… --operator NAME --note TEXT --config central.toml`: close findings.

A finding stands (and `evgw archive sync` exits 1) until a person has looked into it; this
records who did, when and why, beside the finding and in the audit log. The finding itself
is kept. IDs are the hex digits `archive sync` shows after '#'.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from evgw.i18n import _
from evgw.text import printable

from ..catalogue import audit
from ..catalogue.db import Catalogue
from ..catalogue.resolutions import SHORT, ResolveError, resolve
from ..config import load_central_config


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, help=_("the archive's TOML file"))
    p.add_argument(
        "ids", nargs="+", metavar="ID", help=_("finding ids as `archive sync` shows them")
    )
    p.add_argument("--operator", required=True, help=_("who looked into it"))
    p.add_argument("--note", required=True, help=_("what was found and done (kept with it)"))


def run(args: argparse.Namespace) -> int:
    note, operator = args.note.strip(), args.operator.strip()
    if not note or not operator:
        raise ResolveError(_("say who resolves (--operator) and why (--note)"))
    config = load_central_config(args.config)
    catalogue = Catalogue.open(config.database)
    try:
        with catalogue.transaction() as tx:
            done = [resolve(tx, i.lower(), operator, note, time.time()) for i in args.ids]
            for r in done:
                entry = audit.AuditEntry(r.resolved_at, operator, "resolve_finding",
                                         r.fingerprint, {"note": note}, audit.CLI)  # fmt: skip
                audit.append(tx, entry)
    finally:
        catalogue.close()
    for r in done:
        print(
            _("resolved #{id} by {operator}").format(
                id=r.fingerprint[:SHORT], operator=printable(operator)
            )
        )
    return 0
