"""`evgw find`: which segments cover a camera's time range, where they are, what is missing.

Origin is proven only by a key the caller trusts (--pubkey or --trust). Exit 0 when the
range holds recording with a passing verdict, 3 for INTEGRITY_ONLY, 1 when it holds none or
the verdict fails, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from segments.trust import ORIGIN_HINT
from segments.verify import EXIT_FAIL, Verdict, exit_code

from ..cases.find import FindResult, find
from ..cases.lookup import DECLARED
from ..wiring import case_sources
from . import args as common


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_config(p)
    common.add_range(p)
    common.add_trust(p)
    common.add_json(p)


def run(args: argparse.Namespace) -> int:
    start, end = common.time_range(args)
    sources = case_sources(common.config(args))
    result = find(sources, args.camera, start, end, args.source, common.trusted(args))
    print(json.dumps(asdict(result), indent=2, ensure_ascii=False) if args.json else render(result))
    return exit_code(Verdict(result.verdict)) if result.segments else EXIT_FAIL


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
    for h in result.gaps:
        by = "" if h.status != DECLARED else _declared_by(h.seq, h.reason)
        out.append(f"  gap {h.start} .. {h.end}: {h.reason} ({h.status.replace('_', ' ')}{by})")
    out += [f"  ! {i.impact}: {i.detail}" for i in result.issues]
    out.append(f"key: {result.key} ({result.origin})")
    out.append(f"verdict: {result.verdict}")
    if result.verdict == Verdict.INTEGRITY_ONLY:
        out.append(f"origin NOT established: {ORIGIN_HINT}")
    return "\n".join(out)


def _declared_by(seq: int | None, reason: str) -> str:
    if seq is not None:
        return f" by record seq {seq}"
    return " by the final checkpoint of a clean stop" if reason == "operator_stop" else ""
