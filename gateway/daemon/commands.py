"""Commands from central monitoring (`<root>/<gateway>/cmd/<name>`): validated, logged, signed.

Each handler returns the reply; a `CommandError` becomes an error reply naming what was wrong.
Holds and releases are signed ledger records, so the hold itself is evidence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from segments.clock import kernel_clock_status
from segments.index import Index
from segments.ledger import Ledger
from segments.records import Record, StreamIdentity
from uplink.mqtt import CommandError, GatewayLink

from ..times import parse_range

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandContext:
    index: Index
    ledgers: Mapping[str, Ledger]
    identities: Mapping[str, StreamIdentity]
    wake_uploads: Callable[[], None]
    rediscover: Callable[[], None]


def register(link: GatewayLink, ctx: CommandContext) -> None:
    link.on_command("upload-priority", lambda args: upload_priority(ctx, args))
    link.on_command("hold", lambda args: hold(ctx, args))
    link.on_command("release", lambda args: release(ctx, args))
    link.on_command("rediscover", lambda args: rediscover(ctx))


def upload_priority(ctx: CommandContext, args: Mapping[str, Any]) -> dict[str, Any]:
    camera = _camera(ctx, args)
    start, end = _range(args)
    moved = ctx.index.prioritise(camera, start, end)
    ctx.wake_uploads()
    log.info("command upload-priority %s %s..%s: %d items first", camera, start, end, moved)
    return {"ok": True, "camera": camera, "queued_first": moved}


def hold(ctx: CommandContext, args: Mapping[str, Any]) -> dict[str, Any]:
    camera = _camera(ctx, args)
    start, end = _range(args)
    case = args.get("case")
    if not isinstance(case, str) or not case.strip():
        raise CommandError("'case' must be the case number (a non-empty string)")
    hold_id = ctx.index.add_hold(camera, start, end, case)
    record = _hold_record(ctx, camera, start, end, "hold", hold_id, case)
    log.info("command hold #%d %s case %s: ledger record #%d", hold_id, camera, case, record.seq)
    return {"ok": True, "hold_id": hold_id, "record_seq": record.seq}


def release(ctx: CommandContext, args: Mapping[str, Any]) -> dict[str, Any]:
    hold_id = args.get("hold_id")
    if not isinstance(hold_id, int) or isinstance(hold_id, bool):
        raise CommandError("'hold_id' must be the integer a hold command returned")
    found = ctx.index.hold(hold_id)
    if found is None or not ctx.index.release_hold(hold_id):
        raise CommandError(f"no active hold #{hold_id}")
    camera, start, end, case = found
    record = _hold_record(ctx, camera, start, end, "release", hold_id, case)
    log.info("command release #%d %s: ledger record #%d", hold_id, camera, record.seq)
    return {"ok": True, "hold_id": hold_id, "record_seq": record.seq}


def rediscover(ctx: CommandContext) -> dict[str, Any]:
    ctx.rediscover()
    log.info("command rediscover")
    return {"ok": True}


def _hold_record(
    ctx: CommandContext, camera: str, start: float, end: float, reason: str, hold_id: int, case: str
) -> Record:
    """Holds and releases are evidence too: a signed record in the camera's ledger."""
    return ctx.ledgers[camera].append(
        ctx.identities[camera].draft(
            kind="hold",
            start=start,
            end=end,
            clock=kernel_clock_status(),
            reason=reason,
            extra={"hold_id": hold_id, "case": case, "requested": time.time()},
        )
    )


def _camera(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    camera = args.get("camera")
    if not isinstance(camera, str) or camera not in ctx.ledgers:
        known = ", ".join(sorted(ctx.ledgers))
        raise CommandError(f"'camera' must be one of this gateway's cameras ({known})")
    return camera


def _range(args: Mapping[str, Any]) -> tuple[float, float]:
    start, end = parse_range(args.get("from"), args.get("to"), ("'from'", "'to'"))
    return start.timestamp(), end.timestamp()
