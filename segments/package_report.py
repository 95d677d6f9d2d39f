"""The report of a case package: `report.json` for tools, `report.txt` for people.

Both say the same: who exported what and when, the records' key, the checkpoint the slice is
proven against, every segment with its hashes and verdict, the gaps, and the derived copy.
The box and the archive write the same report; the archive adds `witness` (which checkpoint
the proofs hold against, and whether the witness cosigned it) and `archive` (its export key).
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from evgw.display_width import ljust, rjust
from evgw.i18n import _
from evgw.local_time import Zone, declared_or_machine, note, show

from .camera_signing import CERT_SHA256, SIGNED, SigningClaim, summary_lines
from .case_range import Hole
from .checkpoint import Checkpoint
from .package import (
    DECRYPTED,
    ORIGINAL,
    PACKAGE_VERSION,
    REPORT_JSON,
    InclusionProof,
    decrypted_name,
    original_name,
)
from .package_signature import SIGNATURE_NAME
from .records import Record
from .signing import Signer, Verifier, fingerprint
from .slice_check import SliceCheck
from .verify.camera_events import EVENT_KIND

if TYPE_CHECKING:
    from .package_derive import Derived  # loads PyAV: only for its type here


@dataclass(frozen=True)
class Fetched:
    """A sealed original in the package and where it was copied from."""

    record: Record
    origin: str  # local path or central object key (and version) it came from


@dataclass(frozen=True)
class ReportHead:
    """Who exported which range of which camera, and when."""

    case: str
    camera: str
    camera_name: str
    site: str
    location: str
    gateway: str
    start: str
    end: str
    operator: str
    created: str
    source: str
    timezone: str = ""  # the gateway's configured zone: report.txt shows local times in it


def tool_version() -> str:
    try:
        return f"evgw {importlib.metadata.version('evgw')}"
    except importlib.metadata.PackageNotFoundError:
        return "evgw (source tree)"


def build_report(
    head: ReportHead,
    records_key: Signer | Verifier,
    checkpoint: Checkpoint,
    check: SliceCheck,
    fetched: Sequence[Fetched],
    gaps: Sequence[Hole],
    derived: Derived,
    proofs: Sequence[InclusionProof],
    more: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`report.json`'s content; its keys are the package format (version PACKAGE_VERSION).

    `records_key` is the key the records were checked with (the box's own device key, the
    archive's trusted key for the gateway); `more` adds the archive's sections.
    """
    return {
        "package_version": PACKAGE_VERSION,
        "case": head.case,
        "camera": head.camera,
        "camera_name": head.camera_name,
        "site": head.site,
        "location": head.location,
        "gateway": head.gateway,
        "from": head.start,
        "to": head.end,
        "operator": head.operator,
        "created": head.created,
        "tool": tool_version(),
        "source": head.source,
        "verdict": str(check.verdict),
        "key": {
            "fingerprint": fingerprint(records_key),
            "public_key": records_key.public_key_text(),
        },
        "checkpoint": json.loads(checkpoint.to_json()),
        "segments": [_segment_entry(f, check) for f in fetched],
        "gaps": [asdict(h) for h in gaps],
        "issues": [asdict(i) for i in check.issues],
        "derived": asdict(derived),
        "inclusion_proofs": [asdict(p) for p in proofs],
        "camera_events": camera_event_entries(check),
        "camera_records": _camera_records(check),
        **({"timezone": head.timezone} if head.timezone else {}),
        **(more or {}),
    }


def camera_event_entries(check: SliceCheck) -> list[dict[str, Any]]:
    """The camera's own notifications (`event` records) in the slice, listed as events."""
    return [
        {"seq": f.seq, "start": f.start, "detail": f.detail}
        for f in check.findings
        if f.kind == EVENT_KIND
    ]


def _segment_entry(f: Fetched, check: SliceCheck) -> dict[str, Any]:
    r = f.record
    finding = next((x for x in check.findings if x.seq == r.seq), None)
    return {
        "seq": r.seq,
        "kind": r.kind,
        "start": r.start,
        "end": r.end,
        "original": f"{ORIGINAL}/{original_name(r)}",
        "decrypted": f"{DECRYPTED}/{decrypted_name(r)}",
        "size_cipher": r.size_cipher,
        "sha256_cipher": r.sha256_cipher,
        "size_plain": r.size_plain,
        "sha256_plain": r.sha256_plain,
        "fetched_from": f.origin,
        "verdict": finding.verdict if finding else "-",
        "detail": finding.detail if finding else "",
        **_signing_entry(r),
    }


def _camera_records(check: SliceCheck) -> list[dict[str, Any]]:
    """Signed `camera` records in the slice (moves, identity, the camera's own OSD), in words."""
    return [
        {"seq": f.seq, "start": f.start, "detail": f.detail}
        for f in check.findings
        if f.kind == "camera"
    ]


def _signing_entry(r: Record) -> dict[str, Any]:
    """The camera's signing claim as recorded (absent in burn-in); evgw did not verify it."""
    claim = SigningClaim.from_extra(r.extra)
    if claim is None:
        return {}
    return {SIGNED: claim.signed, CERT_SHA256: claim.cert_sha256}


def render_report(report: dict[str, Any]) -> str:
    """`report.txt`: times in the zone the report declares (else this machine's, said so)."""
    zone = declared_or_machine(report.get("timezone"))
    cp = report["checkpoint"]
    lines = [
        _("evgw export package — case {case}").format(case=report["case"]),
        _("camera {camera} ({name}), {site}, {location}, gateway {gateway}").format(
            camera=report["camera"],
            name=report["camera_name"],
            site=report["site"],
            location=report["location"],
            gateway=report["gateway"],
        ),
        _("range {start} .. {end}").format(
            start=show(report["from"], zone), end=show(report["to"], zone)
        ),
        _("exported {created} by {operator} with {tool}").format(
            created=show(report["created"], zone), operator=report["operator"], tool=report["tool"]
        ),
        note(zone),
        _("signing key {fingerprint} ({public_key})").format(
            fingerprint=report["key"]["fingerprint"], public_key=report["key"]["public_key"]
        ),
        _("checkpoint: tree size {size}, root {root}, signed {time}").format(
            size=cp["size"], root=cp["root"], time=show(cp["time"], zone)
        ),
        *_archive_lines(report, zone),
        "",
        f"{rjust(_('seq'), 6)}  {ljust(_('start'), 32)}  {ljust(_('verdict'), 12)}  "
        + _("sha256 (sealed file)"),
    ]
    for s in report["segments"]:
        lines.append(
            f"{s['seq']:>6}  {show(s['start'], zone):<32}  {s['verdict']:<12}  {s['sha256_cipher']}"
        )
    lines += [
        _("gap {start} .. {end}: {reason} ({status})").format(
            start=show(g["start"], zone),
            end=show(g["end"], zone),
            reason=g["reason"],
            status=g["status"].replace("_", " "),
        )
        for g in report["gaps"]
    ]
    lines += _signing_lines(report)
    lines += [f"! {i['impact']}: {i['detail']}" for i in report["issues"]]
    lines += [
        _("camera event {start}: {detail}").format(start=show(e["start"], zone), detail=e["detail"])
        for e in report.get("camera_events", [])
    ]
    lines += [
        _("camera record {seq} at {start}: {detail}").format(
            seq=c["seq"], start=show(c["start"], zone), detail=c["detail"]
        )
        for c in report.get("camera_records", [])
    ]
    d = report["derived"]
    proofs = report["inclusion_proofs"]
    lines += [
        "",
        _("derived copy (NOT an original; remuxed, cut at keyframes): {file}").format(
            file=d["file"]
        ),
        "  "
        + _("from keyframe {first} to {end}, sha256 {sha256}").format(
            first=d["first_keyframe"], end=d["end"], sha256=d["sha256"]
        ),
        _("inclusion proofs of seqs {first}..{last} against the checkpoint: see {report}").format(
            first=proofs[0]["seq"], last=proofs[-1]["seq"], report=REPORT_JSON
        ),
        "",
        _("verdict: {verdict}").format(verdict=report["verdict"]),
        *_signed_lines(report),
    ]
    return "\n".join(lines) + "\n"


def _archive_lines(report: dict[str, Any], zone: Zone) -> list[str]:
    """Which checkpoint an archive export is proven against, and whether it was witnessed."""
    witness = report.get("witness")
    if witness is None:
        return []
    ignored = [
        _("ignored witnessed file: {why}").format(why=why) for why in witness.get("ignored", [])
    ]
    if witness["witnessed"]:
        return [
            _("witnessed: cosigned by {name} ({fingerprint}) at {time}; file {file}").format(
                name=witness["name"],
                fingerprint=witness["fingerprint"],
                time=show(witness["time"], zone),
                file=witness["file"],
            ),
            *ignored,
        ]
    return [_("NOT witnessed: {why}").format(why=witness["why"]), *ignored]


def _signed_lines(report: dict[str, Any]) -> list[str]:
    archive = report.get("archive")
    if archive is None:
        return [
            _(
                "signed: {signature} (by the key above) covers the manifest, so every file, "
                "the labels and the derived copy"
            ).format(signature=SIGNATURE_NAME),
            _(
                "re-check offline: evgw verify-export <this folder> --pubkey <the gateway's "
                "enrolled device key> (or --trust FILE); add --identity <archive identity> to "
                "re-derive the copy"
            ),
        ]
    return [
        _(
            "signed: {signature} by archive {id}'s export key {fingerprint} ({public_key}); it "
            "covers the manifest, so every file, the labels and the derived copy"
        ).format(
            signature=SIGNATURE_NAME,
            id=archive["id"],
            fingerprint=archive["fingerprint"],
            public_key=archive["public_key"],
        ),
        _(
            "re-check offline: evgw verify-export <this folder> --pubkey <the gateway's enrolled "
            "device key> --archive-pubkey <this archive's export key> (or --trust FILE with "
            "'archive:{id} <key>'); add --identity <archive identity> to re-derive the copy"
        ).format(id=archive["id"]),
    ]


def _signing_lines(report: dict[str, Any]) -> list[str]:
    claims = [
        (s["seq"], SigningClaim(s[SIGNED], s.get(CERT_SHA256)))
        for s in report["segments"]
        if isinstance(s.get(SIGNED), bool)
    ]
    return summary_lines(claims)
