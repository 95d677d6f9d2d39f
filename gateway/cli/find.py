"""`evgw find`: which segments cover a camera's time range, where they are, what is missing.

Origin is proven only by a key the caller trusts (--pubkey or --trust). Exit 0 when the
range holds recording with a passing verdict, 4 for INTEGRITY_ONLY, 1 when it holds none or
the verdict fails, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from segments.case_found import render_find
from segments.verify import EXIT_FAIL, Verdict, exit_code

from ..cases.find import find
from ..wiring import case_sources
from . import args as common


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_config(p)
    common.add_range(p)
    common.add_trust(p)
    common.add_json(p)


def run(args: argparse.Namespace) -> int:
    start, end = common.time_range(args)
    config = common.reading_config(args)
    sources = case_sources(config)
    result = find(sources, args.camera, start, end, args.source, common.trusted(args))
    print(
        json.dumps(asdict(result), indent=2, ensure_ascii=False)
        if args.json
        else render_find(result, common.display_zone(config))
    )
    return exit_code(Verdict(result.verdict)) if result.segments else EXIT_FAIL
