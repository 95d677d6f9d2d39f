"""`evgw status`: what is recorded, confirmed and waiting, and how long the disk will last."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from segments.index_readonly import open_readonly

from ..status import GatewayStatus, gather
from ..wiring import index_path, status_scope
from . import args as common
from .table import columns, duration, megabytes


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_config(p)
    common.add_json(p)


def run(args: argparse.Namespace) -> int:
    config = common.reading_config(args)
    index = open_readonly(index_path(config))
    if index is None:
        print(f"no index yet in {config.gateway.data_dir}: nothing recorded there so far")
        return 0
    try:
        status = gather(status_scope(config), index)
    finally:
        index.close()
    print(json.dumps(asdict(status), ensure_ascii=False, indent=2) if args.json else render(status))
    return 0


def render(status: GatewayStatus) -> str:
    up = status.uploading
    rows = [
        ("camera", "on disk", "bytes", "confirmed", "evicted", "purged", "missing", "backlog",
         "backlog bytes", "oldest"),
    ]  # fmt: skip
    for c in status.cameras:
        rows.append(
            (
                c.camera,
                str(c.local_segments),
                megabytes(c.local_bytes),
                str(c.confirmed_segments),
                str(c.evicted_segments),
                str(c.purged_segments),
                str(c.missing_segments),
                str(c.backlog_count) if up else "off",
                megabytes(c.backlog_bytes) if up else "-",
                duration(c.oldest_unconfirmed_age_s),
            )
        )
    quota = megabytes(status.quota_bytes) if status.quota_bytes else "none"
    left = "unknown" if status.minutes_left is None else f"{status.minutes_left:.0f} min"
    uploads = (
        f"upload backlog: {status.backlog_count} items, {megabytes(status.backlog_bytes)}, "
        f"oldest {duration(status.oldest_unconfirmed_age_s)}"
        if up
        else "uploading is off (no [upload] section): segments stay on this box until the "
        "ring buffer evicts them, each eviction declared by a signed purge record"
    )
    lines = [
        *columns(rows),
        "",
        f"gateway {status.gateway}: {megabytes(status.used_bytes)} used of quota {quota}, "
        f"{megabytes(status.free_bytes)} free (keep {megabytes(status.min_free_bytes)})",
        uploads,
        f"recording left before eviction: {left}",
        "evicted/purged: removed by the ring buffer after/before upload, declared by signed "
        "purge records (`evgw verify` shows them as declared gaps)",
    ]
    missing = sum(c.missing_segments for c in status.cameras)
    if missing:
        lines.append(
            f"MISSING segments (deleted without a purge record, not by evgw): {missing}; "
            "run `evgw verify`"
        )
    if status.refused_uploads:
        lines.append(
            f"REFUSED uploads (local file altered or vanished after sealing): "
            f"{status.refused_uploads}; run `evgw verify`"
        )
    return "\n".join(lines)
