"""The case export package format (version 1): layout, manifest, and inclusion proofs.

    <case>/original/<seq>_<start>.mp4.age   sealed segments, byte for byte as recorded
    <case>/original/records.jsonl           the exported ledger lines (a contiguous seq slice)
    <case>/decrypted/<seq>_<start>.mp4      their plaintext
    <case>/derived/<case>_<camera>_<from>_<to>.mp4   one remuxed copy of the range (derived)
    <case>/ledger/ledger.jsonl, checkpoints.jsonl    the camera's full ledger, for an expert
    <case>/keys/device.pub                  the device's public key
    <case>/report.json, report.txt          verdicts, gaps, hashes, key, checkpoint, proofs
    <case>/MANIFEST.sha256                  `sha256sum` lines for every other file
    <case>/SIGNATURE.json                   the signed statement over the manifest, the
                                            labels and the derived copy (`package_signature`)

`report.json` carries `package_version`; a reader refuses a package newer than it knows.
The check (`package_check`) needs only public material: a record's signature proves origin,
`prev` links the slice, an RFC 6962 inclusion proof ties each line to a signed checkpoint
(tree head) without handing over the rest of the ledger's media, and the signed statement
covers the manifest, so every file, including the derived copy and the report's labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from evgw.errors import UsageError

from .age_reader import decrypt_stream
from .agekeys import X25519Identity
from .errors import CryptoFormatError
from .hashing import hash_file
from .merkle import inclusion_proof_from_leaf_hashes, leaf_hash, verify_inclusion
from .package_signature import SIGNATURE_NAME
from .records import Record
from .timeline import compact_utc

PACKAGE_VERSION = 1
MANIFEST_NAME = "MANIFEST.sha256"
REPORT_JSON = "report.json"
REPORT_TEXT = "report.txt"
RECORDS_NAME = "original/records.jsonl"
PUBKEY_NAME = "keys/device.pub"
ORIGINAL, DECRYPTED, DERIVED, LEDGER_DIR = "original", "decrypted", "derived", "ledger"
MAX_OPERATOR = 200
DERIVED_NOTE = (
    "DERIVED COPY for viewing, not an original: remuxed without re-encoding from the "
    "decrypted originals of case {case}; cut at keyframes; gaps are kept as gaps"
)


def original_name(record: Record) -> str:
    """`<seq>_<start>.mp4.age`: the sealed file's own name (unique within a stream)."""
    assert record.file is not None
    return PurePosixPath(record.file).name


def decrypted_name(record: Record) -> str:
    return original_name(record).removesuffix(".age")


def decrypt_original(staging: Path, record: Record, identities: Sequence[X25519Identity]) -> None:
    """The plaintext of `original/<name>` into `decrypted/`; a truncated segment yields its
    authenticated prefix. Raises CryptoFormatError when no identity opens it."""
    target = staging / DECRYPTED / decrypted_name(record)
    target.parent.mkdir(exist_ok=True)
    with open(staging / ORIGINAL / original_name(record), "rb") as src, open(target, "wb") as dst:
        decrypt_stream(src, dst, identities, allow_truncated=record.kind == "truncated")


def derived_name(case: str, camera: str, start: datetime, end: datetime) -> str:
    """`<case>_<camera>_<from>_<to>.mp4`, the derived copy's name in `derived/`."""
    return f"{case}_{camera}_{compact_utc(start.timestamp())}_{compact_utc(end.timestamp())}.mp4"


def check_operator(operator: str) -> str:
    """Who exports, as the package labels and signs it: 1-MAX_OPERATOR characters."""
    if not operator.strip() or len(operator) > MAX_OPERATOR:
        raise UsageError(f"--operator must name who exports (1-{MAX_OPERATOR} characters)")
    return operator


# --- manifest ---


def package_files(root: Path) -> list[str]:
    """Every file under `root` but the manifest and its signature, '/'-separated, sorted."""
    found = (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return sorted(f for f in found if f not in (MANIFEST_NAME, SIGNATURE_NAME))


def manifest_text(root: Path) -> str:
    """`sha256sum` format (two spaces, relative path), so `sha256sum -c` checks it too."""
    return "".join(f"{hash_file(root / rel)[1]}  {rel}\n" for rel in package_files(root))


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
        elif hash_file(root / rel)[1] != digest:
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
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise CryptoFormatError(f"not a valid inclusion proof: {e}") from e


def make_proofs(
    ledger_lines: Sequence[bytes], wanted: Sequence[int], tree_size: int
) -> list[InclusionProof]:
    """Proofs for ledger line indexes `wanted` (line i holds seq i) in the first `tree_size`."""
    return proofs_from_leaves([leaf_hash(line) for line in ledger_lines[:tree_size]], wanted)


def proofs_from_leaves(leaves: Sequence[bytes], wanted: Sequence[int]) -> list[InclusionProof]:
    """Proofs for seqs `wanted` in the tree of `leaves` (the leaf hashes of seqs 0, 1, …): the
    archive holds the catalogued leaf hashes, not the box's ledger file."""
    hashes = list(leaves)
    return [
        InclusionProof(
            seq=i,
            index=i,
            tree_size=len(hashes),
            leaf_hash=hashes[i].hex(),
            path=tuple(p.hex() for p in inclusion_proof_from_leaf_hashes(i, hashes)),
        )
        for i in wanted
    ]
