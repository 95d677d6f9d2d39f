"""`evgw export`: hand over a camera's time range as a self-checking case package.

Exit 0 when the package verifies (AUTHENTIC or AUTHENTIC_WITH_DECLARED_GAPS), 1 otherwise
or when nothing could be exported, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evgw.i18n import _
from evgw.progress import Progress
from segments.agekeys import load_identities
from segments.verify import PASSING

from ..cases.export import ExportRequest, export
from ..wiring import case_sources, gateway_keys
from . import args as common


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_config(p)
    common.add_range(p)
    p.add_argument(
        "--identity", type=Path, required=True, help=_("age identity file (archive key)")
    )
    p.add_argument("--case", required=True, help=_("case id: the package's folder name"))
    p.add_argument("--out", type=Path, required=True, help=_("folder to write <case>/ into"))
    p.add_argument("--operator", default="unknown", help=_("who exports (logged and signed)"))


def run(args: argparse.Namespace) -> int:
    start, end = common.time_range(args)
    identities = load_identities(args.identity)
    config = common.config(args)
    request = ExportRequest(
        camera=args.camera,
        start=start,
        end=end,
        case=args.case,
        out=args.out,
        source=args.source,
        operator=args.operator,
    )
    progress = Progress(sys.stderr, _("exporting"))
    try:
        path, report = export(
            case_sources(config), request, identities, gateway_keys(config).signer, progress
        )
    finally:
        progress.finish()
    print(_("package: {path}").format(path=path))
    print(
        _("segments: {segments}, gaps: {gaps}").format(
            segments=len(report["segments"]), gaps=len(report["gaps"])
        )
    )
    print(_("verdict: {verdict}").format(verdict=report["verdict"]))
    return 0 if report["verdict"] in PASSING else 1
