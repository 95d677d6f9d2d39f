"""`evgw archive export --config central.toml --gateway G --camera C --from T --to T --case ID
--out DIR [--operator NAME]`: the case package, made at headquarters without the box.

Progress (fetch, decrypt, derive) on stderr when it takes more than a second. Every export,
and every refused one, is appended to the audit log at headquarters (`central.catalogue.audit`),
with the operator named by `--operator`. Exit 0 when the
package verifies (AUTHENTIC or AUTHENTIC_WITH_DECLARED_GAPS), 1 otherwise or when nothing
could be exported, 2 for usage and configuration mistakes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evgw.errors import EvgwError
from evgw.progress import Progress
from segments.verify import PASSING

from ..catalogue import audit
from ..retrieval.export import ArchiveExportRequest, archive_export
from ..retrieval.setup import archive_keys
from . import retrieval_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    retrieval_args.add_range(p)
    p.add_argument("--case", required=True, help="case id: the package's folder name")
    p.add_argument("--out", type=Path, required=True, help="folder to write <case>/ into")
    p.add_argument("--operator", default="unknown", help="who exports (labelled and signed)")


def run(args: argparse.Namespace) -> int:
    start, end = retrieval_args.time_range(args)
    request = ArchiveExportRequest(
        args.gateway, args.camera, start, end, args.case, args.out, args.operator
    )
    with retrieval_args.opened(args) as (config, source):
        keys = archive_keys(config)
        progress = Progress(sys.stderr, "exporting")
        target = f"{args.gateway}/{args.camera} {start.isoformat()}..{end.isoformat()}"
        try:
            path, report = archive_export(source, request, keys, progress)
        except EvgwError as e:
            audit.record(source.catalogue, args.operator, "export_failed", target,
                         {"case": args.case, "error": str(e)})  # fmt: skip
            raise
        finally:
            progress.finish()
        made = {"case": args.case, "package": str(path), "verdict": report["verdict"]}
        audit.record(source.catalogue, args.operator, "export", target, made)
    witness = report["witness"]
    print(f"package: {path}")
    print(f"segments: {len(report['segments'])}, gaps: {len(report['gaps'])}")
    if witness["witnessed"]:
        print(f"proven against checkpoint size {witness['checkpoint_size']}, witnessed")
    else:
        print(f"proven against checkpoint size {witness['checkpoint_size']}, NOT witnessed: "
              f"{witness['why']}")  # fmt: skip
    print(f"signed by archive {report['archive']['id']} ({report['archive']['fingerprint']})")
    print(f"verdict: {report['verdict']}")
    return 0 if report["verdict"] in PASSING else 1
