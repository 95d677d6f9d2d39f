"""The slice check on its own: what `evgw find` shows for records not yet exported."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from segments.hashing import hash_file
from segments.ledger import read_checkpoints
from segments.package import ORIGINAL, make_proofs, original_name
from segments.records import Record
from segments.signing import Ed25519Signer
from segments.slice_check import SliceCheck, check_slice
from segments.verify import Verdict
from tests.segments.sealed_stream import SIGNER, Stream


def slice_of(tmp_path: Path, **kw: object) -> tuple[Stream, list[bytes], SliceCheck]:
    """Seqs 2-4 (three segments) of a fresh stream, their files read from the stream folder."""
    s = Stream(tmp_path)
    s.start()
    for _ in range(3):
        s.segment()
    s.ledger.checkpoint()
    lines = s.lines()[2:]
    files = {f"{ORIGINAL}/{original_name(r)}": s.file(r) for r in map(Record.from_json, lines)}
    checkpoint = read_checkpoints(s.root)[-1]
    proofs = {p.seq: p for p in make_proofs(s.lines(), range(2, 5), checkpoint.size)}
    args: dict[str, object] = {
        "verifier": SIGNER.verifier(),
        "checkpoint": checkpoint,
        "proofs": proofs,
        "file_hash": lambda rel: hash_file(files[rel]) if rel in files else None,
        "check_plain": False,
        **kw,
    }
    return s, lines, check_slice(lines, **args)  # type: ignore[arg-type]


def test_sealed_files_without_plaintext_are_authentic(tmp_path: Path) -> None:
    _, _, check = slice_of(tmp_path)
    assert check.verdict is Verdict.AUTHENTIC and check.issues == ()
    assert [(f.seq, f.verdict) for f in check.findings] == [(2, "OK"), (3, "OK"), (4, "OK")]


def test_unpinned_records_pass_only_when_no_checkpoint_is_required(tmp_path: Path) -> None:
    _, _, loose = slice_of(tmp_path / "a", checkpoint=None, require_checkpoint=False)
    assert loose.verdict is Verdict.AUTHENTIC
    _, _, strict = slice_of(tmp_path / "b", checkpoint=None)
    assert strict.verdict is Verdict.INCOMPLETE
    assert [(i.step, i.detail) for i in strict.issues] == [
        ("S1", "[S1] no checkpoint to prove inclusion against")
    ]


def test_a_checkpoint_signed_by_another_key_proves_nothing(tmp_path: Path) -> None:
    s, _, _ = slice_of(tmp_path / "a")
    other = Ed25519Signer(Ed25519PrivateKey.generate())
    forged = replace(read_checkpoints(s.root)[-1]).signed_by(other)
    _, _, check = slice_of(tmp_path / "b", checkpoint=forged)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert [i.step for i in check.issues] == ["S1"]


def test_missing_proofs_and_files_name_their_steps(tmp_path: Path) -> None:
    _, lines, check = slice_of(tmp_path, proofs={}, file_hash=lambda rel: None, check_plain=True)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    for f in check.findings:
        assert f.steps == ("S5", "S6"), f
        assert f.detail.startswith("[S5] no inclusion proof") and "[S6] original/" in f.detail
    assert len(check.findings) == len(lines)
