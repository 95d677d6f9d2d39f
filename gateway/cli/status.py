"""`evgw status`: what is recorded, confirmed and waiting, and how long the disk will last."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from segments.index import Index

from ..status import GatewayStatus, gather
from ..wiring import index_path, status_scope
from . import args as common
from .table import columns, duration, megabytes


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_config(p)
    common.add_json(p)


def run(args: argparse.Namespace) -> int:
    config = common.config(args)
    index = Index.open(index_path(config))
    try:
        status = gather(status_scope(config), index)
    finally:
        index.close()
    print(json.dumps(asdict(status), ensure_ascii=False, indent=2) if args.json else render(status))
    return 0


def render(status: GatewayStatus) -> str:
    rows = [("camera", "on disk", "bytes", "confirmed", "backlog", "backlog bytes", "oldest")]
    for c in status.cameras:
        rows.append(
            (
                c.camera,
                str(c.local_segments),
                megabytes(c.local_bytes),
                str(c.confirmed_segments),
                str(c.backlog_count),
                megabytes(c.backlog_bytes),
                duration(c.oldest_unconfirmed_age_s),
            )
        )
    quota = megabytes(status.quota_bytes) if status.quota_bytes else "none"
    left = "unknown" if status.minutes_left is None else f"{status.minutes_left:.0f} min"
    lines = [
        *columns(rows),
        "",
        f"gateway {status.gateway}: {megabytes(status.used_bytes)} used of quota {quota}, "
        f"{megabytes(status.free_bytes)} free (keep {megabytes(status.min_free_bytes)})",
        f"upload backlog: {status.backlog_count} items, {megabytes(status.backlog_bytes)}, "
        f"oldest {duration(status.oldest_unconfirmed_age_s)}",
        f"recording left before eviction: {left}",
    ]
    if status.refused_uploads:
        lines.append(f"REFUSED uploads (tampered local files): {status.refused_uploads}")
    return "\n".join(lines)
