"""Steps P5, P6 and P9 of the package check: what the package claims, against what was signed.

P5 checks the signed statement (`SIGNATURE.json`) binds this manifest; P6 that every label
of `report.json` and the derived copy are the signed ones, and that the signed labels agree
with the signed ledger records; P9 that the box's signed `export` record, in a ledger the
expert brings, logged this very package. Each defect is an issue of the package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import CryptoFormatError
from .hashing import hash_file
from .ledger import LEDGER_NAME, signature_ok
from .package import MANIFEST_NAME
from .package_signature import (
    LABELS,
    SIGNATURE_NAME,
    SIGNER_ARCHIVE,
    SIGNER_GATEWAY,
    PackageSignature,
)
from .records import MEDIA_KINDS, Record
from .signing import Verifier, fingerprint
from .timeline import parse_iso
from .verify.report import Findings, Verdict

EXPORT_KIND = "export"
MAX_LEDGER_BYTES = 1 << 30


def check_signature(
    found: Findings,
    root: Path,
    signature: PackageSignature,
    key: Verifier | None,
    gateway: str | None,
) -> bool:
    """P5: the statement verifies with `key` and names this manifest; True when both hold.

    `gateway` is the gateway the records name: a gateway signer must be that gateway.
    """
    st = signature.statement
    if st.signer.kind == SIGNER_GATEWAY and gateway is not None and st.signer.id != gateway:
        found.issue(
            "P5",
            Verdict.NOT_AUTHENTIC,
            f"signed by gateway {st.signer.id!r}, but the records are gateway {gateway!r}'s",
        )
    ok = True
    if key is None:
        how = (
            "pass --archive-pubkey with the archive's export key, or a trust file line "
            f"'archive:{st.signer.id} ed25519:<base64>'"
            if st.signer.kind == SIGNER_ARCHIVE
            else "pass --pubkey with the gateway's device key"
        )
        found.issue(
            "P5",
            Verdict.INCOMPLETE,
            f"{SIGNATURE_NAME} not checked: no key for {st.signer.kind} {st.signer.id!r}; {how}",
        )
        ok = False
    elif not signature.verify(key):
        found.issue(
            "P5",
            Verdict.NOT_AUTHENTIC,
            f"{SIGNATURE_NAME} does not verify with {fingerprint(key)} (it names key "
            f"id {st.key_id[:16]}): signed by another key, or altered",
        )
        ok = False
    try:
        manifest = hash_file(root / MANIFEST_NAME)[1]
    except OSError:
        return False  # P2 reports the absent manifest
    if manifest != st.manifest_sha256:
        found.issue(
            "P5",
            Verdict.NOT_AUTHENTIC,
            f"{MANIFEST_NAME} is not the signed one (SHA-256 {manifest[:16]}…, signed "
            f"{st.manifest_sha256[:16]}…): the package was changed after it was signed",
        )
        ok = False
    return ok


def check_labels(
    found: Findings,
    root: Path,
    report: Mapping[str, Any],
    signature: PackageSignature,
    records: Sequence[Record],
) -> None:
    """P6: report.json says what was signed; the signed labels say what the records say."""
    st = signature.statement
    labels = st.labels
    for name in LABELS:
        if report.get(name) != labels[name]:
            found.issue(
                "P6",
                Verdict.NOT_AUTHENTIC,
                f"report.json {name} is {_show(report.get(name))}, the signed label "
                f"{_show(labels[name])}",
            )
    for field_, values in (
        ("gateway", {r.gateway for r in records}),
        ("camera", {r.camera for r in records} | {r.stream for r in records}),
    ):
        if values - {labels[field_]}:
            found.issue(
                "P6",
                Verdict.NOT_AUTHENTIC,
                f"the signed records name {field_} {_show(sorted(values))}, the signed label "
                f"{_show(labels[field_])}",
            )
    _range(found, labels["from"], labels["to"], records)
    media = tuple(r.seq for r in records if r.kind in MEDIA_KINDS and r.file)
    if st.derived.source_seqs != media:
        found.issue(
            "P6",
            Verdict.NOT_AUTHENTIC,
            f"the derived copy is signed as made from seqs {_seqs(st.derived.source_seqs)}, "
            f"the package's segments are {_seqs(media)}",
        )
    _derived_file(found, root, report, signature)


def _range(found: Findings, start: str, end: str, records: Sequence[Record]) -> None:
    try:
        a, b = parse_iso(start), parse_iso(end)
    except CryptoFormatError:
        a = b = None
    if a is None or b is None or b < a:
        found.issue("P6", Verdict.NOT_AUTHENTIC, f"the signed range {start} .. {end} is invalid")
        return
    for r in records:
        if r.kind in MEDIA_KINDS and not _overlaps(r, a, b):
            found.issue(
                "P6",
                Verdict.NOT_AUTHENTIC,
                f"seq {r.seq} ({r.start} .. {r.end}) lies outside the signed range",
            )


def _overlaps(r: Record, a: datetime, b: datetime) -> bool:
    try:
        s, e = parse_iso(r.start), parse_iso(r.end)
    except CryptoFormatError:
        return False
    if s is None:
        return False
    e = e or s
    return a <= s <= b if s == e else s < b and e > a


def _derived_file(
    found: Findings, root: Path, report: Mapping[str, Any], signature: PackageSignature
) -> None:
    derived = signature.statement.derived
    path = PurePosixPath(derived.file)
    if path.is_absolute() or ".." in path.parts or "\\" in derived.file:
        found.issue(
            "P6",
            Verdict.NOT_AUTHENTIC,
            f"the signed derived file {derived.file!r} leaves the package",
        )
        return
    entry = report.get("derived")
    if not isinstance(entry, dict) or (entry.get("file"), entry.get("sha256")) != (
        derived.file,
        derived.sha256,
    ):
        found.issue("P6", Verdict.NOT_AUTHENTIC, "report.json's derived copy is not the signed one")
    target = root.joinpath(*path.parts)
    if not target.is_file():
        found.issue(
            "P6", Verdict.NOT_AUTHENTIC, f"the signed derived copy {derived.file} is absent"
        )
    elif hash_file(target)[1] != derived.sha256:
        found.issue(
            "P6",
            Verdict.NOT_AUTHENTIC,
            f"{derived.file} is not the signed derived copy (SHA-256 differs): replaced or altered",
        )


def check_export_record(
    found: Findings, ledger: Path, signature: PackageSignature, key: Verifier | None
) -> None:
    """P9: a signed `export` record in `ledger` (a stream folder or its ledger.jsonl) logged
    this package: same manifest, case, operator, range, camera, gateway and seqs."""
    path = ledger / LEDGER_NAME if ledger.is_dir() else ledger
    st = signature.statement
    try:
        with open(path, "rb") as f:
            lines = f.read(MAX_LEDGER_BYTES).split(b"\n")
    except OSError as e:
        found.issue("P9", Verdict.INCOMPLETE, f"cannot read the ledger {path}: {e.strerror}")
        return
    matches = [r for r in _records(lines) if r.kind == EXPORT_KIND
               and r.extra.get("manifest_sha256") == st.manifest_sha256]  # fmt: skip
    if not matches:
        found.issue(
            "P9",
            Verdict.INCOMPLETE,
            f"{path} holds no export record of this package (manifest SHA-256 "
            f"{st.manifest_sha256[:16]}…): take a copy of the ledger made after the export",
        )
        return
    record = matches[-1]
    if key is None or not signature_ok(record, key):
        found.issue(
            "P9",
            Verdict.NOT_AUTHENTIC,
            f"export record seq {record.seq} in {path} is not signed by the trusted key",
        )
        return
    labels = st.labels
    claimed = {
        "case": record.extra.get("case"),
        "operator": record.extra.get("operator"),
        "from": record.extra.get("from"),
        "to": record.extra.get("to"),
        "camera": record.stream,
        "gateway": record.gateway,
    }
    for name, value in claimed.items():
        if value != labels[name]:
            found.issue(
                "P9",
                Verdict.NOT_AUTHENTIC,
                f"export record seq {record.seq} logged {name} {_show(value)}, the package is "
                f"signed with {_show(labels[name])}",
            )
    if tuple(record.extra.get("seqs") or ()) != st.derived.source_seqs:
        found.issue(
            "P9",
            Verdict.NOT_AUTHENTIC,
            f"export record seq {record.seq} logged other seqs than the package's",
        )


def _records(lines: Sequence[bytes]) -> list[Record]:
    parsed = []
    for line in lines:
        if line.strip():
            try:
                parsed.append(Record.from_json(line))
            except CryptoFormatError:
                continue  # `evgw verify` judges the ledger itself
    return parsed


def _seqs(seqs: Sequence[int]) -> str:
    if not seqs:
        return "none"
    return f"{seqs[0]}-{seqs[-1]} ({len(seqs)})" if len(seqs) > 3 else ", ".join(map(str, seqs))


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
