"""`evgw desk --config central.toml [--listen HOST:PORT]`: serve the monitoring desk (and
ingest the fleet's MQTT reports in the same process when [desk] ingest and [mqtt] are set);
`evgw desk useradd NAME --role viewer|investigator|admin --password-file F --config F`: add a
desk user, or give an existing one a new role and password (ending its sessions).

The password comes from a file so it never shows in the shell history or the process list.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sqlalchemy.engine import URL

from evgw.config.fields import Scope
from evgw.config.secret_files import read_secret
from evgw.errors import UsageError
from evgw.i18n import _
from evgw.verbose import accept_verbose

from ..catalogue.db import Catalogue
from ..config import load_central_config
from ..desk.web.accounts import MIN_PASSWORD_CHARS, ROLES, save_user

MAX_NAME_CHARS = 64


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help=_("the archive's TOML file with [desk]"))
    p.add_argument(
        "--listen", metavar="HOST:PORT", help=_("serve here instead of [desk] listen (port 0: any)")
    )
    sub = p.add_subparsers(dest="desk_command", metavar=_("COMMAND"))
    q = sub.add_parser("useradd", help=_("add a desk user or change one's role and password"))
    accept_verbose(q)
    q.add_argument("name", help=_("the login name"))
    q.add_argument("--role", choices=ROLES, required=True, help=_("what the user may do"))
    q.add_argument(
        "--password-file", type=Path, required=True, help=_("a file holding the password")
    )
    q.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=_("the archive's TOML"))


def run(args: argparse.Namespace) -> int:
    if args.config is None:
        raise UsageError(_("give the archive's configuration: --config central.toml"))
    config = load_central_config(args.config)
    if args.desk_command == "useradd":
        return _useradd(args, config.database)
    from ..desk.web.serve import serve

    return serve(config, args.listen, lambda line: print(line, flush=True))


def _useradd(args: argparse.Namespace, database: URL) -> int:
    name = args.name.strip()
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable() or name != args.name:
        raise UsageError(
            _(
                "a user name is 1 to {max} printable characters without surrounding spaces, "
                "got {name!r}"
            ).format(max=MAX_NAME_CHARS, name=args.name[:80])
        )
    scope = Scope(args.password_file, "--password-file", " ")
    password = read_secret(scope, "", args.password_file)
    if len(password) < MIN_PASSWORD_CHARS:
        raise UsageError(
            _("the password must have at least {count} characters").format(count=MIN_PASSWORD_CHARS)
        )
    catalogue = Catalogue.open(database)
    try:
        added = save_user(catalogue, name, args.role, password, time.time())
    finally:
        catalogue.close()
    done = (
        _("desk: added user {name} ({role})") if added else _("desk: updated user {name} ({role})")
    )
    print(done.format(name=name, role=args.role))
    return 0
