"""Case export packages: layout, manifest, inclusion proofs, and their offline re-check.

    <case>/original/<seq>_<start>.mp4.age   sealed segments, byte for byte as recorded
    <case>/original/records.jsonl           the exported ledger lines (a contiguous seq slice)
    <case>/decrypted/<seq>_<start>.mp4      their plaintext
    <case>/derived/<case>_<camera>_<from>_<to>.mp4   one remuxed copy of the range (derived)
    <case>/ledger/ledger.jsonl, checkpoints.jsonl    the camera's full ledger, for an expert
    <case>/keys/device.pub                  the device's public key
    <case>/report.json, report.txt          verdicts, gaps, hashes, key, checkpoint, proofs
    <case>/MANIFEST.sha256                  `sha256sum` lines for every other file

The check needs only public material: a record's signature proves origin, `prev` links the
slice, and an RFC 6962 inclusion proof ties each line to a signed checkpoint (tree head)
without handing over the rest of the ledger's media.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .checkpoint import Checkpoint
from .errors import CryptoFormatError
from .ledger import line_hash, signature_ok
from .merkle import inclusion_proof_from_leaf_hashes, leaf_hash, verify_inclusion
from .records import Record
from .signing import Verifier, fingerprint, parse_public_key
from .verify import SeqFinding, SeqVerdict, StreamIssue, Verdict

PACKAGE_VERSION = 1
MANIFEST_NAME = "MANIFEST.sha256"
REPORT_JSON = "report.json"
REPORT_TEXT = "report.txt"
RECORDS_NAME = "original/records.jsonl"
PUBKEY_NAME = "keys/device.pub"
ORIGINAL, DECRYPTED, DERIVED, LEDGER_DIR = "original", "decrypted", "derived", "ledger"
MEDIA_KINDS = ("segment", "truncated")

_IMPACT = {
    SeqVerdict.OK: Verdict.AUTHENTIC,
    SeqVerdict.GAP: Verdict.AUTHENTIC_WITH_DECLARED_GAPS,
    SeqVerdict.TRUNCATED: Verdict.AUTHENTIC_WITH_DECLARED_GAPS,
    SeqVerdict.MISSING: Verdict.INCOMPLETE,
}
_RANK = {v: i for i, v in enumerate(Verdict)}
_SEVERITY = {v: i for i, v in enumerate(SeqVerdict)}


def original_name(record: Record) -> str:
    """`<seq>_<start>.mp4.age`: the sealed file's own name (unique within a stream)."""
    assert record.file is not None
    return PurePosixPath(record.file).name


def decrypted_name(record: Record) -> str:
    return original_name(record).removesuffix(".age")


# --- manifest ---


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def package_files(root: Path) -> list[str]:
    """Every file under `root` but the manifest, '/'-separated, sorted."""
    found = (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return sorted(f for f in found if f != MANIFEST_NAME)


def manifest_text(root: Path) -> str:
    """`sha256sum` format (two spaces, relative path), so `sha256sum -c` checks it too."""
    return "".join(f"{sha256_file(root / rel)}  {rel}\n" for rel in package_files(root))


def parse_manifest(text: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or not rel:
            raise CryptoFormatError(f"{MANIFEST_NAME} line {n} is not '<sha256>  <path>'")
        path = PurePosixPath(rel)
        if path.is_absolute() or ".." in path.parts:
            raise CryptoFormatError(f"{MANIFEST_NAME} line {n}: path {rel!r} leaves the package")
        entries[rel] = digest.lower()
    return entries


def check_manifest(root: Path) -> list[str]:
    """Every difference between the package and its manifest, one line each."""
    try:
        entries = parse_manifest((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{MANIFEST_NAME} is absent"]
    except (CryptoFormatError, UnicodeDecodeError) as e:
        return [f"{MANIFEST_NAME} is unreadable: {e}"]
    problems = []
    present = set(package_files(root))
    for rel, digest in entries.items():
        if rel not in present:
            problems.append(f"{rel}: listed in the manifest but absent")
        elif sha256_file(root / rel) != digest:
            problems.append(f"{rel}: SHA-256 differs from the manifest (altered or replaced)")
    problems += [f"{rel}: not listed in the manifest" for rel in sorted(present - set(entries))]
    return problems


# --- inclusion proofs ---


@dataclass(frozen=True)
class InclusionProof:
    """RFC 6962 audit path of ledger line `index` in the tree of `tree_size` lines."""

    seq: int
    index: int
    tree_size: int
    leaf_hash: str
    path: tuple[str, ...]

    def holds(self, line: bytes, root_hex: str) -> bool:
        leaf = leaf_hash(line)
        try:
            path = [bytes.fromhex(p) for p in self.path]
            root = bytes.fromhex(root_hex)
        except ValueError:
            return False
        return leaf.hex() == self.leaf_hash and verify_inclusion(
            leaf, self.index, self.tree_size, path, root
        )

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> InclusionProof:
        try:
            return cls(
                seq=int(obj["seq"]),
                index=int(obj["index"]),
                tree_size=int(obj["tree_size"]),
                leaf_hash=str(obj["leaf_hash"]),
                path=tuple(str(p) for p in obj["path"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise CryptoFormatError(f"not a valid inclusion proof: {e}") from e


def make_proofs(
    ledger_lines: Sequence[bytes], wanted: Sequence[int], tree_size: int
) -> list[InclusionProof]:
    """Proofs for ledger line indexes `wanted` (line i holds seq i) in the first `tree_size`."""
    hashes = [leaf_hash(line) for line in ledger_lines[:tree_size]]
    return [
        InclusionProof(
            seq=i,
            index=i,
            tree_size=tree_size,
            leaf_hash=hashes[i].hex(),
            path=tuple(p.hex() for p in inclusion_proof_from_leaf_hashes(i, hashes)),
        )
        for i in wanted
    ]


# --- checking a slice of records against files and a checkpoint ---

FileHash = Callable[[str], tuple[int, str] | None]  # package path -> (size, SHA-256), or None


@dataclass(frozen=True)
class SliceCheck:
    verdict: Verdict
    findings: tuple[SeqFinding, ...]
    issues: tuple[StreamIssue, ...]


def check_slice(
    lines: Sequence[bytes],
    *,
    verifier: Verifier,
    checkpoint: Checkpoint | None,
    proofs: Mapping[int, InclusionProof],
    file_hash: FileHash,
    check_plain: bool = True,
    require_checkpoint: bool = True,
) -> SliceCheck:
    """Verdicts for a slice of ledger lines (steps numbered for auditors).

    `check_plain` False skips the decrypted copies (a gateway holds none);
    `require_checkpoint` False accepts records not yet pinned by a checkpoint.
    """
    rows: dict[int, list[tuple[SeqVerdict, str, str | None]]] = {}
    recs: dict[int, Record] = {}
    issues: list[StreamIssue] = []

    def add(seq: int, verdict: SeqVerdict, detail: str, reason: str | None = None) -> None:
        rows.setdefault(seq, []).append((verdict, detail, reason))

    if not lines:
        issues.append(StreamIssue(Verdict.INCOMPLETE, f"{RECORDS_NAME} holds no records"))
    # (1) The checkpoint must carry the device's signature.
    cp_ok = checkpoint is not None and checkpoint.verify(verifier)
    if checkpoint is None and require_checkpoint:
        issues.append(StreamIssue(Verdict.INCOMPLETE, "no checkpoint to prove inclusion against"))
    elif not cp_ok:
        issues.append(StreamIssue(Verdict.NOT_AUTHENTIC, "the checkpoint's signature is bad"))
    prev: tuple[int, str] | None = None
    for n, line in enumerate(lines, start=1):
        # (2) Parse; an unreadable line breaks the slice.
        try:
            record = Record.from_json(line)
        except CryptoFormatError as e:
            issues.append(StreamIssue(Verdict.NOT_AUTHENTIC, f"record line {n}: {e}"))
            prev = None
            continue
        seq = record.seq
        recs.setdefault(seq, record)
        rows.setdefault(seq, [])
        # (3) Signature by the trusted device key.
        if not signature_ok(record, verifier):
            add(seq, SeqVerdict.SIG_BAD, f"signature does not verify with {fingerprint(verifier)}")
        # (4) Chain continuity inside the slice.
        if prev is not None:
            if seq != prev[0] + 1:
                add(seq, SeqVerdict.CHAIN_BREAK, f"follows seq {prev[0]}: the slice has a hole")
            elif record.prev != prev[1]:
                add(seq, SeqVerdict.CHAIN_BREAK, f"prev does not match seq {prev[0]}")
        prev = (seq, line_hash(line))
        # (5) Inclusion in the signed log.
        proof = proofs.get(seq)
        if checkpoint is not None and cp_ok:
            if proof is None:
                add(seq, SeqVerdict.CHAIN_BREAK, "no inclusion proof for this record")
            elif proof.tree_size != checkpoint.size or not proof.holds(line, checkpoint.root):
                add(
                    seq,
                    SeqVerdict.CHAIN_BREAK,
                    f"inclusion proof fails against checkpoint (size {checkpoint.size})",
                )
        # (6) Declared gaps, and the files of media records.
        if record.kind == "gap":
            add(seq, SeqVerdict.GAP, record.reason or "gap", record.reason or "unspecified")
        elif record.kind in MEDIA_KINDS and record.file:
            _check_files(record, file_hash, add, check_plain)
    findings = tuple(_finding(seq, rows[seq], recs.get(seq)) for seq in sorted(rows))
    worst = [_impact(v) for entries in rows.values() for v, _, _ in entries]
    verdict = max([*worst, *(i.impact for i in issues)], key=_RANK.__getitem__, default=None)
    return SliceCheck(verdict or Verdict.AUTHENTIC, findings, tuple(issues))


def _check_files(
    record: Record,
    file_hash: FileHash,
    add: Callable[[int, SeqVerdict, str], None],
    check_plain: bool,
) -> None:
    seq = record.seq
    original = f"{ORIGINAL}/{original_name(record)}"
    found = file_hash(original)
    if found is None:
        add(seq, SeqVerdict.MISSING, f"{original} is absent")
    elif found != (record.size_cipher, record.sha256_cipher):
        add(seq, SeqVerdict.HASH_MISMATCH, f"{original} differs from the signed SHA-256/size")
    if not check_plain:
        return
    plain = f"{DECRYPTED}/{decrypted_name(record)}"
    found = file_hash(plain)
    if found is None:
        add(seq, SeqVerdict.MISSING, f"{plain} is absent")
    elif record.kind == "truncated":
        add(seq, SeqVerdict.TRUNCATED, "segment was cut by a crash; its prefix is exported")
    elif found != (record.size_plain, record.sha256_plain):
        add(seq, SeqVerdict.HASH_MISMATCH, f"{plain} differs from the signed sha256_plain")


def _impact(verdict: SeqVerdict) -> Verdict:
    return _IMPACT.get(verdict, Verdict.NOT_AUTHENTIC)


def _finding(
    seq: int, entries: list[tuple[SeqVerdict, str, str | None]], record: Record | None
) -> SeqFinding:
    ordered = sorted(entries, key=lambda e: -_SEVERITY[e[0]])
    worst, _, reason = ordered[0] if ordered else (SeqVerdict.OK, "", None)
    return SeqFinding(
        seq=seq,
        verdict=f"GAP({reason})" if worst is SeqVerdict.GAP else str(worst),
        detail="; ".join(dict.fromkeys(e[1] for e in ordered)),
        kind=record.kind if record else None,
        start=record.start if record else None,
        end=record.end if record else None,
        file=record.file if record else None,
    )


# --- the offline re-check of a whole package ---


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
    """Re-check a package with public material only; every defect becomes a finding."""
    issues: list[StreamIssue] = []
    # (1) Manifest: every file hashed, nothing added or removed.
    problems = tuple(check_manifest(root))
    if problems:
        issues.append(StreamIssue(Verdict.NOT_AUTHENTIC, "the package differs from its manifest"))
    # (2) Report: the case, the checkpoint used and the proofs.
    report = _read_json(root / REPORT_JSON, issues)
    # (3) Trusted key: the caller's, else the package's own (integrity, not origin).
    verifier, source = pubkey, "pubkey"
    if verifier is None:
        source = "package"
        try:
            verifier = parse_public_key((root / PUBKEY_NAME).read_text().strip())
        except (OSError, CryptoFormatError) as e:
            issues.append(StreamIssue(Verdict.NOT_AUTHENTIC, f"no usable {PUBKEY_NAME}: {e}"))
    checkpoint, proofs = _report_proofs(report, issues)
    try:
        lines = [ln for ln in (root / RECORDS_NAME).read_bytes().split(b"\n") if ln]
    except OSError:
        lines = []
    findings: tuple[SeqFinding, ...] = ()
    verdict = Verdict.NOT_AUTHENTIC
    if verifier is not None:
        # (4)-(6) Signatures, chain, inclusion, media hashes.
        sliced = check_slice(
            lines,
            verifier=verifier,
            checkpoint=checkpoint,
            proofs=proofs,
            file_hash=lambda rel: _stat_hash(root, rel),
        )
        findings, issues = sliced.findings, [*issues, *sliced.issues]
        verdict = max([sliced.verdict, *(i.impact for i in issues)], key=_RANK.__getitem__)
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


def _read_json(path: Path, issues: list[StreamIssue]) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(obj, dict):
            return obj
        raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        issues.append(StreamIssue(Verdict.INCOMPLETE, f"{path.name} unreadable: {e}"))
        return {}


def _report_proofs(
    report: Mapping[str, Any], issues: list[StreamIssue]
) -> tuple[Checkpoint | None, dict[int, InclusionProof]]:
    try:
        cp_obj = report.get("checkpoint")
        checkpoint = None if cp_obj is None else Checkpoint.from_json(json.dumps(cp_obj).encode())
        proofs = [InclusionProof.from_dict(p) for p in report.get("inclusion_proofs") or []]
    except (CryptoFormatError, TypeError) as e:
        issues.append(StreamIssue(Verdict.NOT_AUTHENTIC, f"{REPORT_JSON}: {e}"))
        return None, {}
    return checkpoint, {p.seq: p for p in proofs}


def _stat_hash(root: Path, rel: str) -> tuple[int, str] | None:
    path = root / rel
    if not path.is_file():
        return None
    return path.stat().st_size, sha256_file(path)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
