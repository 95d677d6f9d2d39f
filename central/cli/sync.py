"""`evgw archive sync --config central.toml [--gateway G …] [--audit] [--json]`: parse, sync,
print.

Several `--gateway` (or a comma-separated list) let one process of several archive workers
take its share of the fleet and pay the start-up once for all of them (README, "Several
archive workers").

With [witness], each checkpoint found consistent is co-signed and written beside it
(`central.witness.step`); the summary says how many, and the TSA time of each stream's
newest checkpoint.

Exit code 0 when the synced gateways have no finding, 1 when they have any (new or stored
earlier: a finding stands until a person resolves it), 2 for a configuration mistake.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from evgw.progress import Progress
from uplink.objectstore import ObjectStore

from ..catalogue.db import Catalogue
from ..catalogue.resolutions import SHORT
from ..config import load_central_config
from ..findings import MEANING, Finding
from ..sync.bucket import Bucket
from ..sync.service import ArchiveSync, SyncResult
from ..witness.keys import companion_trust, load_witness_key
from ..witness.step import WitnessCounts, Witnesser
from .sync_report import companion_lines, companions_json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, help="the archive's TOML file")
    p.add_argument(
        "--gateway",
        action="append",
        type=_gateway_list,
        metavar="G[,G…]",
        help="sync only these gateways' objects (repeat, or separate with commas)",
    )
    p.add_argument(
        "--audit",
        action="store_true",
        help="list each gateway's whole prefix now, as [archive] audit_interval_h does "
        "periodically: finds new versions of settled objects, deletions, late arrivals",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    config = load_central_config(args.config)
    key = load_witness_key(config)
    trust = companion_trust(config, key)
    catalogue = Catalogue.open(config.database)
    progress = _TerminalProgress() if sys.stderr.isatty() else None
    try:
        bucket = Bucket(config.store)
        witness = None
        if key is not None:
            store = ObjectStore(config.store)
            witness = Witnesser(key, config.trust, catalogue, bucket, store)
            witness.resume()
        sync = ArchiveSync(config, catalogue, bucket, progress=progress, on_consistent=witness,
                           companions=trust)  # fmt: skip
        result = sync.run(_gateways(args.gateway), audit=args.audit)
    finally:
        if progress is not None:
            progress.finish()
        catalogue.close()
    counts = None if witness is None else witness.counts
    print(_json(result, counts) if args.json else _human(result, _gateways(args.gateway), counts))
    return 1 if result.open_findings else 0


def _gateway_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"an empty gateway name in {text!r}")
    return names


def _gateways(given: list[list[str]] | None) -> list[str] | None:
    return None if given is None else [name for names in given for name in names]


class _TerminalProgress:
    """One percentage line per gateway on a terminal."""

    def __init__(self) -> None:
        self._gateway: str | None = None
        self._line: Progress | None = None

    def __call__(self, gateway: str, done: int, total: int) -> None:
        if gateway != self._gateway:
            self.finish()
            self._gateway = gateway
            self._line = Progress(sys.stderr, f"syncing {gateway}", _objects)
        assert self._line is not None
        self._line(done, total)

    def finish(self) -> None:
        if self._line is not None:
            self._line.finish()


def _objects(total: int) -> str:
    return f"{total} new objects"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _json(result: SyncResult, witness: WitnessCounts | None) -> str:
    findings = [
        {**asdict(f), "id": f.fingerprint[:SHORT], "first_seen": seen,
         "new": f in result.new_findings, "resolved": _resolution(result, f)}
        for f, seen in result.findings
    ]  # fmt: skip
    body = {"counts": asdict(result.counts), "gateways": result.gateways, "findings": findings,
            **companions_json(result, witness)}  # fmt: skip
    return json.dumps(body, ensure_ascii=False, indent=2)


def _human(result: SyncResult, gateways: list[str] | None, witness: WitnessCounts | None) -> str:
    c = result.counts
    if not c.gateways:
        where = f"gateway {', '.join(gateways)}" if gateways else "any gateway"
        return f"no objects of {where} in the bucket; check [store] bucket and --gateway"
    audited = f" ({c.audited} audited: listed whole)" if c.audited else ""
    lines = [
        f"{_n(c.gateways, 'gateway')}{audited}: listed {_n(c.listed, 'object version')}, "
        f"{c.new_versions} new, fetched {c.fetched}",
        f"catalogued {_n(c.records, 'record')} and {_n(c.checkpoints, 'checkpoint')}; "
        f"{_n(c.consistent, 'checkpoint')} newly consistent",
    ]
    if c.pending_checkpoints or c.waiting_segments:
        lines.append(
            f"waiting: {_n(c.pending_checkpoints, 'checkpoint')} for their records, "
            f"{_n(c.waiting_segments, 'record')} for their segment objects (judged by a later "
            "sync)"
        )
    lines += companion_lines(result, witness)
    if c.purged_segments:
        lines.append(
            f"declared: {_n(c.purged_segments, 'segment')} evicted before upload by the "
            "gateway's ring buffer (signed purge records; not findings)"
        )
    if not result.findings:
        return "\n".join([*lines, "findings: none"])
    unresolved = result.open_findings
    lines.append(f"findings: {len(unresolved)} open ({c.new_findings} new), "
                 f"{len(result.findings) - len(unresolved)} resolved")  # fmt: skip
    for finding in unresolved:
        mark = "NEW " if finding in result.new_findings else ""
        lines.append(f"  #{finding.fingerprint[:SHORT]} {mark}{finding.kind:<17} "
                     f"{finding.where():<28} {finding.key}")  # fmt: skip
        lines.append(f"      {finding.detail}")
    for finding, _ in result.findings:
        done = result.resolved.get(finding.fingerprint)
        if done is not None:
            lines.append(f"  #{finding.fingerprint[:SHORT]} resolved {finding.kind} "
                         f"{finding.where()} by {done.operator}: {done.note}")  # fmt: skip
    if unresolved:
        lines.append("what they mean and what to do (then `evgw archive resolve ID --note …`):")
        lines += [f"  {kind}: {MEANING[kind]}" for kind in sorted({f.kind for f in unresolved})]
    return "\n".join(lines)


def _resolution(result: SyncResult, finding: Finding) -> dict[str, object] | None:
    done = result.resolved.get(finding.fingerprint)
    if done is None:
        return None
    return {"at": done.resolved_at, "operator": done.operator, "note": done.note}
