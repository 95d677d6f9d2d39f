"""Options several commands share, and turning their values into checked objects.

A bad value becomes a `UsageError` naming the option (exit code 2), so every command says
the same thing about the same mistake.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

from evgw.errors import UsageError
from evgw.i18n import N_, _
from evgw.local_time import CONFIG, Zone, machine, named
from evgw.times import parse_range
from segments.errors import SegmentError
from segments.signing import load_verifier
from segments.trust import TrustedKeys, load_trust_file

from ..config import Config, load_config
from ..config.existing import existing_data_dir

PUBKEY_HELP = N_(
    "the gateway's trusted device key 'ed25519:<base64>' (as recorded at its enrolment) or a "
    "file holding it; proves origin"
)
TRUST_HELP = N_(
    "trust file: lines '<gateway-id> ed25519:<base64>'; the key of the gateway the records "
    "name proves origin"
)
MAX_SECRET_FILE = 4096
DEFAULT_CONFIG = Path("/etc/evgw/evgw.toml")
CONFIG_ENV = "EVGW_CONFIG"


def add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        default=default_config(),
        help=_("the TOML configuration file (default: $%(env)s, else %(path)s)")
        % {"env": CONFIG_ENV, "path": DEFAULT_CONFIG},
    )


def add_json(p: argparse.ArgumentParser, what: str | None = None) -> None:
    p.add_argument("--json", action="store_true", help=what or _("print JSON"))


def add_trust(p: argparse.ArgumentParser) -> None:
    """--pubkey KEY|FILE or --trust FILE: the keys that prove origin (without: integrity only)."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--pubkey", help=_(PUBKEY_HELP))
    group.add_argument("--trust", type=Path, help=_(TRUST_HELP))


def add_range(p: argparse.ArgumentParser) -> None:
    """--camera, --from, --to and --source: a camera's time range on one gateway."""
    p.add_argument("--camera", required=True, help=_("camera id"))
    p.add_argument("--from", dest="start", required=True, help=_("ISO 8601 with offset or Z"))
    p.add_argument("--to", dest="end", required=True, help=_("ISO 8601 with offset or Z"))
    p.add_argument(
        "--source",
        choices=("local", "central"),
        default="local",
        help=_("where to look for the sealed files (default: local, then central)"),
    )


def config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def reading_config(args: argparse.Namespace) -> Config:
    """The configuration of a command that only reads (`status`, `find`): its data dir must
    exist, since such a command creates nothing, and an empty folder would read as no
    recording."""
    found = load_config(args.config)
    existing_data_dir(found)
    return found


def time_range(args: argparse.Namespace) -> tuple[datetime, datetime]:
    return parse_range(args.start, args.end, ("--from", "--to"))


def trusted(args: argparse.Namespace) -> TrustedKeys | None:
    """The keys the caller trusts (--pubkey or --trust), or None: then origin is unproven."""
    if args.trust is not None:
        return load_trust_file(args.trust)
    if args.pubkey is None:
        return None
    try:
        return TrustedKeys.single(load_verifier(args.pubkey))
    except SegmentError as e:
        raise UsageError(_("--pubkey: {error}").format(error=e)) from e


def secret_file(path: Path, option: str) -> str:
    """A password from a file (one trailing newline dropped), for --password-file options."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SECRET_FILE + 1)
        if len(raw) > MAX_SECRET_FILE:
            raise ValueError(f"larger than {MAX_SECRET_FILE} bytes")
        secret = raw.decode("utf-8").rstrip("\r\n")
    except (OSError, ValueError) as e:
        raise UsageError(
            _("cannot read {option} {path}: {error}").format(option=option, path=path, error=e)
        ) from e
    if not secret:
        raise UsageError(_("{option} {path} is empty").format(option=option, path=path))
    return secret


def default_config() -> Path:
    """The file `--config` names when not given: $EVGW_CONFIG, else the installed one."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def display_zone(config: Config) -> Zone:
    """The zone human-facing times are shown in: the configured [gateway] timezone."""
    return named(config.gateway.timezone, CONFIG) or machine()
