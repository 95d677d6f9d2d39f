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
from typing import Any

from evgw.errors import EvgwError
from evgw.i18n import _, ngettext
from evgw.progress import Progress
from segments.verify import PASSING

from ..catalogue import audit
from ..retrieval.export import ArchiveExportRequest, archive_export
from ..retrieval.setup import archive_keys
from . import retrieval_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    retrieval_args.add_range(p)
    p.add_argument("--case", required=True, help=_("case id: the package's folder name"))
    p.add_argument("--out", type=Path, required=True, help=_("folder to write <case>/ into"))
    p.add_argument("--operator", default="unknown", help=_("who exports (labelled and signed)"))


def run(args: argparse.Namespace) -> int:
    start, end = retrieval_args.time_range(args)
    request = ArchiveExportRequest(
        args.gateway, args.camera, start, end, args.case, args.out, args.operator
    )
    with retrieval_args.opened(args) as (config, source):
        keys = archive_keys(config)
        progress = Progress(sys.stderr, _("exporting"))
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
    print(summary(path, report))
    return 0 if report["verdict"] in PASSING else 1


def summary(path: Path, report: dict[str, Any]) -> str:
    """What the operator reads after an export: where, how much, proven how, the verdict."""
    witness, archive = report["witness"], report["archive"]
    segments, gaps = len(report["segments"]), len(report["gaps"])
    lines = [
        _("package: {path}").format(path=path),
        _("{segments}, {gaps}").format(
            segments=ngettext("{count} segment", "{count} segments", segments).format(
                count=segments
            ),
            gaps=ngettext("{count} gap", "{count} gaps", gaps).format(count=gaps),
        ),
    ]
    if witness["witnessed"]:
        lines.append(
            _("proven against checkpoint size {size}, witnessed").format(
                size=witness["checkpoint_size"]
            )
        )
    else:
        lines.append(
            _("proven against checkpoint size {size}, NOT witnessed: {why}").format(
                size=witness["checkpoint_size"], why=witness["why"]
            )
        )
    lines.append(
        _("signed by archive {id} ({fingerprint})").format(
            id=archive["id"], fingerprint=archive["fingerprint"]
        )
    )
    lines.append(_("verdict: {verdict}").format(verdict=report["verdict"]))
    return "\n".join(lines)
