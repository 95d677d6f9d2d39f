"""Commands from central monitoring (`<root>/<gateway>/cmd/<name>`): signed, bounded, recorded.

Every message passes the `CommandGate` first (a listed operator's signature, fresh, used
once, within the operator's rate); only then are its arguments read, each one bounded. A
hold or a release is evidence: its signed ledger record (naming the operator's key id, the
command's nonce and issue time) is written first, and only then does the index change, so
a hold is never active without its record. Replies carry the command's nonce, so the sender
can tell its reply from others on the topic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from cameras.wsd import Announcement
from evgw.errors import EvgwError
from evgw.times import parse_range
from segments.clock import kernel_clock_status
from segments.index import Index
from segments.ledger import Ledger
from segments.records import Record, StreamIdentity
from uplink.command_check import Verified
from uplink.mqtt import GatewayLink, error_reply
from uplink.signed_command import Refusal

from ..config import CommandsConfig
from .command_gate import CommandGate

log = logging.getLogger(__name__)

MAX_FUTURE_S = 86_400.0
"""A range may end at most this far after now: a hold can cover the rest of a shift, not
the year 9999."""
MAX_FOUND = 32  # devices listed in a `rediscover` reply; `found` counts them all


class CommandError(EvgwError):
    """A verified command whose arguments cannot be carried out; the message is the reply."""


@dataclass(frozen=True)
class CommandContext:
    index: Index
    ledgers: Mapping[str, Ledger]
    identities: Mapping[str, StreamIdentity]
    limits: CommandsConfig
    wake_uploads: Callable[[], None]
    rediscover: Callable[[], Sequence[Announcement] | None]


Handler = Callable[[CommandContext, Verified], dict[str, Any]]


def upload_priority(ctx: CommandContext, command: Verified) -> dict[str, Any]:
    args = _args(command, "camera", "from", "to")
    camera = _camera(ctx, args)
    start, end = _range(ctx, args)
    moved = ctx.index.prioritise(camera, start, end)
    ctx.wake_uploads()
    return {"camera": camera, "queued_first": moved}


def hold(ctx: CommandContext, command: Verified) -> dict[str, Any]:
    args = _args(command, "camera", "from", "to", "case")
    camera = _camera(ctx, args)
    start, end = _range(ctx, args)
    case = _case(ctx, args)
    hold_id = ctx.index.reserve_hold_id()
    record = _hold_record(ctx, command, camera, start, end, "hold", hold_id, case)
    ctx.index.add_hold(camera, start, end, case, hold_id)
    return {"hold_id": hold_id, "camera": camera, "record_seq": record.seq}


def release(ctx: CommandContext, command: Verified) -> dict[str, Any]:
    args = _args(command, "hold_id")
    hold_id = args.get("hold_id")
    if not isinstance(hold_id, int) or isinstance(hold_id, bool) or hold_id < 1:
        raise CommandError("'hold_id' must be the number a hold command returned")
    found = ctx.index.hold(hold_id)
    if found is None or found[0] not in ctx.ledgers:
        raise CommandError(f"no active hold #{hold_id}")
    camera, start, end, case = found
    record = _hold_record(ctx, command, camera, start, end, "release", hold_id, case)
    if not ctx.index.release_hold(hold_id):
        raise CommandError(f"hold #{hold_id} was released meanwhile")
    return {"hold_id": hold_id, "camera": camera, "record_seq": record.seq}


def rediscover(ctx: CommandContext, command: Verified) -> dict[str, Any]:
    """Probe the camera network now; the reply lists who answered (at most `MAX_FOUND`)."""
    _args(command)
    found = ctx.rediscover()
    if found is None:
        raise CommandError("discovery is off on this gateway: set [discovery] interface or address")
    cameras = [{"endpoint": a.endpoint, "xaddrs": list(a.xaddrs)} for a in found[:MAX_FOUND]]
    return {"found": len(found), "cameras": cameras}


HANDLERS: Mapping[str, Handler] = {
    "hold": hold,
    "release": release,
    "upload-priority": upload_priority,
    "rediscover": rediscover,
}


def serve(link: GatewayLink, gate: CommandGate, ctx: CommandContext) -> None:
    """Answer every command topic through `gate`; says at start whom the gateway obeys."""
    if not gate.keyring:
        log.warning(
            "[commands] lists no operator keys: every MQTT command will be refused; add "
            "operators (public keys from `evgw keygen --operator`) to obey signed commands"
        )
    else:
        ids = ", ".join(sorted(gate.keyring.keys))
        log.info("obeying MQTT commands signed by %d operator key(s): %s", len(gate.keyring), ids)
    for name in HANDLERS:
        link.on_command(name, partial(dispatch, gate, ctx, name))


def dispatch(gate: CommandGate, ctx: CommandContext, name: str, payload: bytes) -> dict[str, Any]:
    """The reply to one message on `cmd/<name>`: refused, failed, or done."""
    admitted = gate.admit(name, payload)
    if isinstance(admitted, Refusal):
        reply = {**error_reply(admitted.message()), "reason": str(admitted.reason)}
        return reply if admitted.nonce is None else {**reply, "nonce": admitted.nonce}
    try:
        reply = {"ok": True, **HANDLERS[name](ctx, admitted)}
    except EvgwError as e:
        reply = error_reply(str(e))
    except Exception:
        log.exception("command %s by operator %s failed", name, admitted.operator)
        reply = error_reply("internal error: see the gateway log")
    gate.report_done(name, admitted, reply.get("error"))
    return {**reply, "nonce": admitted.body.nonce}


def _hold_record(
    ctx: CommandContext,
    command: Verified,
    camera: str,
    start: float,
    end: float,
    reason: str,
    hold_id: int,
    case: str,
) -> Record:
    """Holds and releases are evidence too: a signed record in the camera's ledger."""
    body = command.body
    return ctx.ledgers[camera].append(
        ctx.identities[camera].draft(
            kind="hold",
            start=start,
            end=end,
            clock=kernel_clock_status(),
            reason=reason,
            extra={
                "hold_id": hold_id,
                "case": case,
                "operator": body.key_id,
                "nonce": body.nonce,
                "issued": body.issued,
                "requested": time.time(),
            },
        )
    )


def _args(command: Verified, *allowed: str) -> Mapping[str, Any]:
    unknown = sorted(set(command.args) - set(allowed))
    if unknown:
        expected = ", ".join(allowed) or "none"
        raise CommandError(f"unknown argument {unknown[0]!r} (expected: {expected})")
    return command.args


def _camera(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    camera = args.get("camera")
    if not isinstance(camera, str) or camera not in ctx.ledgers:
        known = ", ".join(sorted(ctx.ledgers))
        raise CommandError(f"'camera' must be one of this gateway's cameras ({known})")
    return camera


def _range(ctx: CommandContext, args: Mapping[str, Any]) -> tuple[float, float]:
    first, last = parse_range(args.get("from"), args.get("to"), ("'from'", "'to'"))
    start, end = first.timestamp(), last.timestamp()
    if end > time.time() + MAX_FUTURE_S:
        raise CommandError("'to' lies more than a day in the future")
    days = ctx.limits.max_range_days
    if end - start > days * 86_400:
        raise CommandError(f"the range is longer than {days} days ([commands] max_range_days)")
    return start, end


def _case(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    case = args.get("case")
    limit = ctx.limits.max_case_chars
    if not isinstance(case, str) or not case.strip():
        raise CommandError("'case' must be the case number (a non-empty string)")
    if len(case) > limit or not case.isprintable():
        raise CommandError(f"'case' must be at most {limit} printable characters")
    return case
