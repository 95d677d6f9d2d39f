"""The package check: re-check an export package offline, with public material only.

What `evgw verify-export` runs for a court's expert. The procedure:

P1  Format: `report.json` is a JSON object whose `package_version` this evgw reads, and
    `SIGNATURE.json` a signed statement whose version it reads. A newer version of either
    stops the check (UnsupportedFormatError: update evgw); an unreadable report or a garbled
    version is INCOMPLETE, an absent or unreadable signature NOT_AUTHENTIC.
P2  Manifest: every file is listed with its SHA-256 and nothing was added or removed
    (NOT_AUTHENTIC).
P3  Proof material: the report's checkpoint and inclusion proofs parse (NOT_AUTHENTIC).
P4  Key: the caller's trusted key for the gateway the records name (--pubkey, --trust);
    without one, the package's own `keys/device.pub`, which proves integrity, not origin:
    the verdict is then INTEGRITY_ONLY at best (NOT_AUTHENTIC when unusable).
P5  Signature: the statement verifies with the signer's key (a gateway signs with the
    records' key and must be the gateway they name) and its `manifest_sha256` is the
    manifest's, so every file is the signed one (NOT_AUTHENTIC).
P6  Labels: each label of `report.json` (gateway, camera, case, from, to, operator, created)
    is the signed one; the signed gateway and camera are what every record names, each
    segment overlaps the signed range, the derived copy is signed as made from exactly the
    package's segments, and its file has the signed SHA-256 (NOT_AUTHENTIC).
P7  Records: the slice check (S1-S6, see `slice_check`) over `original/records.jsonl`, the
    sealed and decrypted files and the proofs.
P8  Re-derivation, given an age identity: the originals decrypt to their signed plaintext
    and the same remux of them gives the signed derived copy (see `package_rederive`).
P9  Export record, given a ledger (the box's or the archive's copy, taken after the export):
    its signed `export` record names this manifest, case, operator, range and seqs.
P10 Verdict: the worst of every finding and issue; INTEGRITY_ONLY instead of a passing one
    when P4 found no trusted key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .agekeys import X25519Identity
from .checkpoint import Checkpoint
from .errors import CryptoFormatError, UnsupportedFormatError
from .hashing import hash_file
from .package import (
    PACKAGE_VERSION,
    PUBKEY_NAME,
    RECORDS_NAME,
    REPORT_JSON,
    InclusionProof,
    check_manifest,
)
from .package_claims import check_export_record, check_labels, check_signature
from .package_signature import SIGNER_GATEWAY, PackageSignature, read_signature
from .records import Record
from .signing import Verifier, fingerprint, parse_public_key
from .slice_check import check_slice
from .trust import TrustedKeys, archive_subject
from .verify.report import (
    KEY_FROM_CALLER,
    Findings,
    SeqFinding,
    StreamIssue,
    Verdict,
    with_origin,
    worst,
)

KEY_FROM_PACKAGE = "package"  # keys/device.pub: integrity only


@dataclass(frozen=True)
class PackageCheck:
    verdict: Verdict
    integrity: Verdict  # what the package shows, whichever key checked it
    labels: dict[str, str]  # the signed labels (empty when the statement is unusable)
    signer: str | None  # "gateway gw-1", "archive hq"
    key_source: str  # "trusted" (the caller's) or "package" (keys/device.pub)
    fingerprint: str | None
    origin: str
    checkpoint_size: int | None
    manifest_problems: tuple[str, ...]
    findings: tuple[SeqFinding, ...]
    issues: tuple[StreamIssue, ...]
    timezone: str | None = None  # the zone report.json declares (unsigned: for display only)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


def verify_package(
    root: Path,
    trust: TrustedKeys | None = None,
    *,
    identities: Sequence[X25519Identity] = (),
    ledger: Path | None = None,
) -> PackageCheck:
    """Run P1-P10 over the package folder `root`; every defect becomes a finding.

    Raises UnsupportedFormatError for a package written by a newer evgw.
    """
    found = Findings()
    report = _read_report(root / REPORT_JSON, found)  # P1
    signature = _read_signature(root, found)
    problems = tuple(check_manifest(root))  # P2
    if problems:
        found.issue("P2", Verdict.NOT_AUTHENTIC, "the package differs from its manifest")
    checkpoint, proofs = _report_proofs(report, found)  # P3
    lines = _record_lines(root)
    records = _records(lines)
    gateway = records[0].gateway if records else None
    verifier, key_source, origin = _key(root, found, trust, gateway, records)  # P4
    trusted = key_source == KEY_FROM_CALLER
    if signature is not None:
        signer_key = _signer_key(signature, verifier, trust)
        signed = check_signature(found, root, signature, signer_key, gateway)  # P5
        trusted = trusted and signed
        check_labels(found, root, report, signature, records)  # P6
    findings: tuple[SeqFinding, ...] = ()
    slice_verdict = Verdict.NOT_AUTHENTIC
    if verifier is not None:
        sliced = check_slice(  # P7
            lines,
            verifier=verifier,
            checkpoint=checkpoint,
            proofs=proofs,
            file_hash=lambda rel: _stat_hash(root, rel),
        )
        findings, slice_verdict = sliced.findings, sliced.verdict
        found.issues.extend(sliced.issues)
    if signature is not None and identities:
        from .package_rederive import rederive  # loads PyAV: only on this path

        rederive(found, root, records, signature, identities)  # P8
    if signature is not None and ledger is not None:
        check_export_record(found, ledger, signature, verifier)  # P9
    integrity = worst([slice_verdict, *(i.impact for i in found.issues)], Verdict.AUTHENTIC)  # P10
    return PackageCheck(
        verdict=with_origin(integrity, trusted),
        integrity=integrity,
        labels=dict(signature.statement.labels) if signature is not None else {},
        signer=None if signature is None else " ".join(
            (signature.statement.signer.kind, signature.statement.signer.id)
        ),
        key_source=key_source,
        fingerprint=None if verifier is None else fingerprint(verifier),
        origin=origin,
        checkpoint_size=None if checkpoint is None else checkpoint.size,
        manifest_problems=problems,
        findings=findings,
        issues=tuple(found.issues),
        timezone=_declared_zone(report),
    )  # fmt: skip


def _declared_zone(report: Mapping[str, Any]) -> str | None:
    zone = report.get("timezone")
    return zone if isinstance(zone, str) and zone else None


def _read_report(path: Path, found: Findings) -> dict[str, Any]:
    """P1: the report as a JSON object ({} when unreadable), after its version is checked."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, RecursionError) as e:
        found.issue("P1", Verdict.INCOMPLETE, f"{path.name} unreadable: {e}")
        return {}
    version = obj.get("package_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        found.issue(
            "P1",
            Verdict.INCOMPLETE,
            f"{path.name} names no valid package_version ({version!r}): the format is unknown",
        )
    elif version > PACKAGE_VERSION:
        raise UnsupportedFormatError(
            f"{path.parent}: written by a newer evgw (package_version {version}, this evgw "
            f"reads up to {PACKAGE_VERSION}): please update evgw"
        )
    return obj


def _read_signature(root: Path, found: Findings) -> PackageSignature | None:
    """P1: the signed statement; None (and NOT_AUTHENTIC) when absent or unreadable."""
    try:
        return read_signature(root)
    except CryptoFormatError as e:
        found.issue(
            "P1", Verdict.NOT_AUTHENTIC, f"{e}: nothing in the package is signed as a whole"
        )
        return None


def _report_proofs(
    report: Mapping[str, Any], found: Findings
) -> tuple[Checkpoint | None, dict[int, InclusionProof]]:
    """P3: the checkpoint and the inclusion proofs the report carries."""
    try:
        cp_obj = report.get("checkpoint")
        checkpoint = None if cp_obj is None else Checkpoint.from_json(json.dumps(cp_obj).encode())
        proofs = [InclusionProof.from_dict(p) for p in report.get("inclusion_proofs") or []]
    except (CryptoFormatError, TypeError) as e:
        found.issue("P3", Verdict.NOT_AUTHENTIC, f"{REPORT_JSON}: {e}")
        return None, {}
    return checkpoint, {p.seq: p for p in proofs}


def _key(
    root: Path,
    found: Findings,
    trust: TrustedKeys | None,
    gateway: str | None,
    records: Sequence[Record],
) -> tuple[Verifier | None, str, str]:
    """P4: the trusted key for the records' gateway, else keys/device.pub (integrity only)."""
    hint = records[0].key_id if records else None
    key = None if trust is None else trust.for_subject(gateway, hint)
    if trust is not None and key is not None:
        return key, KEY_FROM_CALLER, f"for gateway {gateway!r} from {trust.origin}"
    origin = "no trusted key given" if trust is None else trust.unlisted(gateway)
    try:
        return parse_public_key((root / PUBKEY_NAME).read_text().strip()), KEY_FROM_PACKAGE, origin
    except (OSError, ValueError, CryptoFormatError) as e:
        found.issue("P4", Verdict.NOT_AUTHENTIC, f"no usable {PUBKEY_NAME}: {e}")
        return None, KEY_FROM_PACKAGE, origin


def _signer_key(
    signature: PackageSignature,
    records_key: Verifier | None,
    trust: TrustedKeys | None,
) -> Verifier | None:
    """The key the statement must verify with: a gateway signs with the records' key, an
    archive with its export key from the trust file."""
    signer = signature.statement.signer
    if signer.kind == SIGNER_GATEWAY:
        return records_key
    if trust is None:
        return None
    return trust.for_subject(archive_subject(signer.id), signature.statement.key_id)


def _record_lines(root: Path) -> list[bytes]:
    try:
        return [ln for ln in (root / RECORDS_NAME).read_bytes().split(b"\n") if ln]
    except OSError:
        return []  # the slice check reports a slice without records


def _records(lines: Sequence[bytes]) -> list[Record]:
    """The records that parse (the slice check reports the others)."""
    parsed = []
    for line in lines:
        try:
            parsed.append(Record.from_json(line))
        except CryptoFormatError:
            continue
    return parsed


def _stat_hash(root: Path, rel: str) -> tuple[int, str] | None:
    path = root / rel
    return hash_file(path) if path.is_file() else None
