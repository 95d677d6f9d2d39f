"""`evgw command`: sign one command with an operator key, send it to a gateway, print the reply.

    evgw command --key operator.ed25519 --broker mqtt.example.gov:8883 --tls \\
        gw-post-01 hold --camera gate-1 --from 2026-11-27T14:00:00+08:00 \\
        --to 2026-11-27T15:00:00+08:00 --case 2026-001

Exit 0 when the gateway carried the command out, 1 when it refused or failed it, 3 when it
never answered, 2 for a mistake in the arguments, the key file or the broker settings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from evgw.errors import UsageError
from evgw.i18n import _
from segments.errors import SegmentError
from segments.signing import load_signer
from uplink.command_sender import send_command
from uplink.signed_command import ArgValue, EnvelopeError, sign_command

from . import args as common
from .broker import add_broker_options, broker_settings

DEFAULT_TIMEOUT_S = 15.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--key",
        type=Path,
        required=True,
        help=_("the operator key that signs the command (from `evgw keygen --operator`)"),
    )
    add_broker_options(p)
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds to wait for the gateway's reply (default {DEFAULT_TIMEOUT_S:g})",
    )
    common.add_json(p, _("print the reply as JSON"))
    p.add_argument("gateway", metavar="GATEWAY", help=_("the gateway's id ([gateway] id)"))
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    hold = actions.add_parser("hold", help=_("put a camera's time range under a legal hold"))
    _add_range(hold)
    hold.add_argument("--case", required=True, help=_("the case number the hold is for"))
    release = actions.add_parser("release", help=_("release a hold by the number hold returned"))
    release.add_argument("--hold-id", type=int, required=True, help=_("the hold's number"))
    upload = actions.add_parser("upload-priority", help=_("upload a time range ahead of the rest"))
    _add_range(upload)
    actions.add_parser("rediscover", help=_("look for cameras on the camera network now"))


def _add_range(p: argparse.ArgumentParser) -> None:
    p.add_argument("--camera", required=True, help=_("camera id"))
    p.add_argument("--from", dest="start", required=True, help=_("ISO 8601 with offset or Z"))
    p.add_argument("--to", dest="end", required=True, help=_("ISO 8601 with offset or Z"))


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if not args.timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    settings = broker_settings(args)
    try:
        signer = load_signer(args.key)
    except SegmentError as e:
        raise UsageError(f"--key: {e}") from e
    try:
        command = sign_command(
            signer,
            gateway=args.gateway,
            command=args.action,
            args=command_args(args),
            now=time.time(),
        )
    except EnvelopeError as e:
        raise UsageError(f"cannot send this command: {e.refusal.detail}") from e
    reply = send_command(settings, command, args.timeout)
    out.write(render(reply, args.gateway, args.action, args.json))
    return 0 if reply.get("ok") is True else 1


def command_args(args: argparse.Namespace) -> dict[str, ArgValue]:
    """The signed arguments of the chosen action; times are sent in UTC."""
    found: dict[str, ArgValue] = {}
    if args.action in ("hold", "upload-priority"):
        start, end = common.time_range(args)
        found = {"camera": args.camera, "from": start.isoformat(), "to": end.isoformat()}
    if args.action == "hold":
        found["case"] = args.case
    if args.action == "release":
        found["hold_id"] = args.hold_id
    return found


def render(reply: dict[str, Any], gateway: str, action: str, as_json: bool) -> str:
    """The reply for a terminal: control and format characters shown escaped, never obeyed."""
    if as_json:
        return _printable(json.dumps(reply, ensure_ascii=False, sort_keys=True)) + "\n"
    if reply.get("ok") is True:
        lines = [f"{gateway} {action}: ok"]
    else:
        lines = [f"{gateway} {action}: {reply.get('error', 'failed')}"]
    lines += [f"  {k}: {v}" for k, v in sorted(reply.items()) if k not in ("ok", "error")]
    return "\n".join(_printable(line) for line in lines) + "\n"


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
