"""`evgw find`: which segments cover a camera's time range, where they are, what is missing.

Exit 0 when the range holds recording, 1 when it holds none, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ..cases.lookup import FindResult, find
from ..wiring import case_sources
from . import args as common


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_config(p)
    common.add_range(p)
    common.add_pubkey(p)
    common.add_json(p)


def run(args: argparse.Namespace) -> int:
    start, end = common.time_range(args)
    sources = case_sources(common.config(args))
    result = find(sources, args.camera, start, end, args.source, common.pubkey(args.pubkey))
    print(json.dumps(asdict(result), indent=2, ensure_ascii=False) if args.json else render(result))
    return 0 if result.segments else 1


def render(result: FindResult) -> str:
    out = [f"camera {result.camera}: {result.start} .. {result.end} (source {result.source})"]
    if not result.segments:
        out.append("  no recording in this range")
    out.append(f"  {'seq':>6}  {'start':<32}  {'end':<32}  {'state':<9}  verdict")
    for s in result.segments:
        detail = f"  {s.detail}" if s.detail else ""
        out.append(
            f"  {s.seq:>6}  {s.start or '-':<32}  {s.end or '-':<32}  {s.state:<9}  {s.verdict}"
            + detail
        )
    out += [f"  gap {h.start} .. {h.end}: {h.reason}" for h in result.gaps]
    out += [f"  ! {i.impact}: {i.detail}" for i in result.issues]
    out.append(f"verdict: {result.verdict}")
    return "\n".join(out)
