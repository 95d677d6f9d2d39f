"""The package check: re-check an export package offline, with public material only.

What `evgw verify-export` runs for a court's expert. The procedure:

P1  Format: `report.json` is a JSON object whose `package_version` this evgw reads. A newer
    version stops the check (UnsupportedFormatError: update evgw); an unreadable report or a
    missing or garbled version is INCOMPLETE.
P2  Manifest: every file is listed with its SHA-256 and nothing was added or removed
    (NOT_AUTHENTIC).
P3  Proof material: the report's checkpoint and inclusion proofs parse (NOT_AUTHENTIC).
P4  Key: trust the caller's device key; without one, the package's own `keys/device.pub`,
    which proves integrity, not origin (NOT_AUTHENTIC when unusable).
P5  Records: the slice check (S1-S6, see `slice_check`) over `original/records.jsonl`, the
    sealed and decrypted files and the proofs.
P6  Verdict: the worst of every finding and issue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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
from .signing import Verifier, fingerprint, parse_public_key
from .slice_check import check_slice
from .verify.report import Findings, SeqFinding, StreamIssue, Verdict, worst


@dataclass(frozen=True)
class PackageCheck:
    verdict: Verdict
    case: str | None
    camera: str | None
    key_source: str  # "pubkey" (caller's) or "package" (keys/device.pub: integrity only)
    fingerprint: str | None
    checkpoint_size: int | None
    manifest_problems: tuple[str, ...]
    findings: tuple[SeqFinding, ...]
    issues: tuple[StreamIssue, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


def verify_package(root: Path, pubkey: Verifier | None = None) -> PackageCheck:
    """Run P1-P6 over the package folder `root`; every defect becomes a finding.

    Raises UnsupportedFormatError for a package written by a newer evgw.
    """
    found = Findings()
    report = _read_report(root / REPORT_JSON, found)  # P1
    problems = tuple(check_manifest(root))  # P2
    if problems:
        found.issue("P2", Verdict.NOT_AUTHENTIC, "the package differs from its manifest")
    checkpoint, proofs = _report_proofs(report, found)  # P3
    verifier, source = pubkey, "pubkey"  # P4
    if verifier is None:
        source = "package"
        try:
            verifier = parse_public_key((root / PUBKEY_NAME).read_text().strip())
        except (OSError, ValueError, CryptoFormatError) as e:
            found.issue("P4", Verdict.NOT_AUTHENTIC, f"no usable {PUBKEY_NAME}: {e}")
    try:
        lines = [ln for ln in (root / RECORDS_NAME).read_bytes().split(b"\n") if ln]
    except OSError:
        lines = []  # the slice check reports a slice without records
    findings: tuple[SeqFinding, ...] = ()
    issues = found.issues
    verdict = Verdict.NOT_AUTHENTIC
    if verifier is not None:
        sliced = check_slice(  # P5
            lines,
            verifier=verifier,
            checkpoint=checkpoint,
            proofs=proofs,
            file_hash=lambda rel: _stat_hash(root, rel),
        )
        findings, issues = sliced.findings, [*issues, *sliced.issues]
        verdict = worst([sliced.verdict, *(i.impact for i in issues)], Verdict.AUTHENTIC)  # P6
    return PackageCheck(
        verdict=verdict,
        case=_str(report.get("case")),
        camera=_str(report.get("camera")),
        key_source=source,
        fingerprint=None if verifier is None else fingerprint(verifier),
        checkpoint_size=None if checkpoint is None else checkpoint.size,
        manifest_problems=problems,
        findings=findings,
        issues=tuple(issues),
    )


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


def _stat_hash(root: Path, rel: str) -> tuple[int, str] | None:
    path = root / rel
    return hash_file(path) if path.is_file() else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
