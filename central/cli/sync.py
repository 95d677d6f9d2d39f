"""`evgw archive sync --config central.toml [--gateway G …] [--audit] [--json]`: parse, sync,
print.

Several `--gateway` (or a comma-separated list) let one process of several archive workers
take its share of the fleet and pay the start-up once for all of them (README, "Several
archive workers").

With [witness], each checkpoint found consistent is co-signed and written beside it
(`central.witness.step`); the summary says how many, and the TSA time of each stream's
newest checkpoint, in this machine's zone with the offset (UTC in `--json`).

Exit code 0 when the synced gateways have no finding, 1 when they have any (new or stored
earlier: a finding stands until a person resolves it), 2 for a configuration mistake.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from evgw.i18n import _, ngettext
from evgw.progress import Progress
from uplink.objectstore import ObjectStore

from ..catalogue.db import Catalogue
from ..catalogue.resolutions import SHORT
from ..config import load_central_config
from ..findings import MEANING, Finding
from ..sync.bucket import Bucket
from ..sync.service import ArchiveSync, SyncCounts, SyncResult
from ..witness.keys import companion_trust, load_witness_key
from ..witness.step import WitnessCounts, Witnesser
from .sync_report import companion_lines, companions_json
from .zone import display_zone


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, help=_("the archive's TOML file"))
    p.add_argument(
        "--gateway",
        action="append",
        type=_gateway_list,
        metavar="G[,G…]",
        help=_("sync only these gateways' objects (repeat, or separate with commas)"),
    )
    p.add_argument(
        "--audit",
        action="store_true",
        help=_(
            "list each gateway's whole prefix now, as [archive] audit_interval_h does "
            "periodically: finds new versions of settled objects, deletions, late arrivals"
        ),
    )
    p.add_argument("--json", action="store_true", help=_("print the summary as JSON"))


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
        raise argparse.ArgumentTypeError(_("an empty gateway name in {text!r}").format(text=text))
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
            self._line = Progress(
                sys.stderr, _("syncing {gateway}").format(gateway=gateway), _objects
            )
        assert self._line is not None
        self._line(done, total)

    def finish(self) -> None:
        if self._line is not None:
            self._line.finish()


def _objects(total: int) -> str:
    return ngettext("{count} new object", "{count} new objects", total).format(count=total)


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
        if gateways:
            return _(
                "no objects of gateway {names} in the bucket; check [store] bucket and --gateway"
            ).format(names=", ".join(gateways))
        return _("no objects of any gateway in the bucket; check [store] bucket and --gateway")
    lines = _counts(c)
    lines += companion_lines(result, witness, display_zone())
    if c.purged_segments:
        lines.append(
            ngettext(
                "declared: {count} segment evicted before upload by the gateway's ring buffer "
                "(signed purge records; not findings)",
                "declared: {count} segments evicted before upload by the gateway's ring buffer "
                "(signed purge records; not findings)",
                c.purged_segments,
            ).format(count=c.purged_segments)
        )
    if not result.findings:
        return "\n".join([*lines, _("findings: none")])
    return "\n".join(lines + _findings(result))


def _counts(c: SyncCounts) -> list[str]:
    """What was listed, fetched and catalogued, and what waits for a later sync."""
    audited = _(" ({count} audited: listed whole)").format(count=c.audited) if c.audited else ""
    lines = [
        _("{gateways}{audited}: listed {versions}, {new} new, fetched {fetched}").format(
            gateways=ngettext("{count} gateway", "{count} gateways", c.gateways).format(
                count=c.gateways
            ),
            audited=audited,
            versions=ngettext("{count} object version", "{count} object versions", c.listed).format(
                count=c.listed
            ),
            new=c.new_versions,
            fetched=c.fetched,
        ),
        _("catalogued {records} and {checkpoints}; {consistent} newly consistent").format(
            records=_records(c.records),
            checkpoints=_checkpoints(c.checkpoints),
            consistent=_checkpoints(c.consistent),
        ),
    ]
    if c.pending_checkpoints or c.waiting_segments:
        lines.append(
            _(
                "waiting: {checkpoints} for their records, {records} for their segment objects "
                "(judged by a later sync)"
            ).format(
                checkpoints=_checkpoints(c.pending_checkpoints),
                records=_records(c.waiting_segments),
            )
        )
    return lines


def _records(count: int) -> str:
    return ngettext("{count} record", "{count} records", count).format(count=count)


def _checkpoints(count: int) -> str:
    return ngettext("{count} checkpoint", "{count} checkpoints", count).format(count=count)


def _findings(result: SyncResult) -> list[str]:
    """The open findings with what each kind means, then the resolved ones."""
    unresolved = result.open_findings
    lines = [
        _("findings: {open} open ({new} new), {resolved} resolved").format(
            open=len(unresolved),
            new=result.counts.new_findings,
            resolved=len(result.findings) - len(unresolved),
        )
    ]
    for finding in unresolved:
        mark = _("NEW") + " " if finding in result.new_findings else ""
        lines.append(f"  #{finding.fingerprint[:SHORT]} {mark}{finding.kind:<17} "
                     f"{finding.where():<28} {finding.key}")  # fmt: skip
        lines.append(f"      {finding.detail}")
    for finding, _seen in result.findings:
        done = result.resolved.get(finding.fingerprint)
        if done is not None:
            lines.append(
                "  "
                + _("#{id} resolved {kind} {where} by {operator}: {note}").format(
                    id=finding.fingerprint[:SHORT],
                    kind=finding.kind,
                    where=finding.where(),
                    operator=done.operator,
                    note=done.note,
                )
            )
    if unresolved:
        lines.append(_("what they mean and what to do (then `evgw archive resolve ID --note …`):"))
        kinds = sorted({f.kind for f in unresolved})
        lines += [f"  {kind}: {_(MEANING[kind])}" for kind in kinds]
    return lines


def _resolution(result: SyncResult, finding: Finding) -> dict[str, object] | None:
    done = result.resolved.get(finding.fingerprint)
    if done is None:
        return None
    return {"at": done.resolved_at, "operator": done.operator, "note": done.note}
