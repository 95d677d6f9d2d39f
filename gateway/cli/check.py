"""`evgw check`: everything that can be checked before recording, every problem one line.

The configuration (every problem, not only the first), the device key (there, root's, 0600,
its folder not writable by the service), no age identity nearby, the data dir writable by
the service user, the overlay font; with --online also the central store, the broker and the
cameras. Exit 0 when nothing is wrong, 2 when anything is. It creates and changes nothing.
"""

from __future__ import annotations

import argparse
import sys

from evgw.config.problems import problems_of
from evgw.errors import ConfigError
from evgw.exit_codes import USAGE
from evgw.i18n import _

from ..config import Config, load_config
from ..preflight.inputs import Inputs, from_config, from_file
from ..preflight.local import local_problems
from ..preflight.service_user import SERVICE_USER, ServiceUser
from . import args as common

EXIT_PROBLEMS = USAGE  # a configuration that cannot run is a configuration error


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_config(p)
    add_check_options(p)


def add_check_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--online",
        action="store_true",
        help=_("also ask the central store, the MQTT broker and the cameras (read-only)"),
    )
    p.add_argument(
        "--service-user",
        default=SERVICE_USER,
        help=_(
            "the user the service runs as, whose access to the data dir counts (default "
            "{user}); run as root, the check takes that user's ids to ask the kernel"
        ).format(user=SERVICE_USER),
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help=_("seconds to wait for each server with --online (default 10)"),
    )


def run(args: argparse.Namespace) -> int:
    problems = check(args)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            _("evgw check: {count} problem(s) in {path}").format(
                count=len(problems), path=args.config
            ),
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    if args.online:
        print(_("evgw check: {path}: no problem found (online too)").format(path=args.config))
    else:
        print(_("evgw check: {path}: no problem found").format(path=args.config))
    return 0


def check(args: argparse.Namespace) -> list[str]:
    """Every problem found, one line each; the local checks run even on a file that did not
    validate, on the keys of it that did."""
    problems: list[str] = []
    config: Config | None = None
    try:
        config = load_config(args.config)
        inputs: Inputs | None = from_config(config)
    except ConfigError as e:
        problems += problems_of(e)
        inputs = from_file(args.config)
    user = ServiceUser.named(args.service_user)
    if user is None:
        problems.append(
            _(
                "the service user {user} does not exist on this machine; install.sh creates it, "
                "or name the user the service runs as with --service-user (checked as this user "
                "instead)"
            ).format(user=args.service_user)
        )
        user = ServiceUser.current()
    if inputs is not None:
        problems += local_problems(inputs, user)
    if args.online and config is None:
        print(_("evgw check: --online: not run until the configuration is valid"), file=sys.stderr)
    elif args.online and config is not None:
        from ..preflight.online import online_problems  # loads boto3, paho and zeep

        problems += online_problems(config, args.timeout)
    return problems
