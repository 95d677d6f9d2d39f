"""The export package format: manifest lines and inclusion proofs, parsed defensively."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segments.errors import CryptoFormatError
from segments.merkle import root
from segments.package import (
    MANIFEST_NAME,
    InclusionProof,
    check_manifest,
    make_proofs,
    manifest_text,
    parse_manifest,
)

LINES = [f'{{"seq":{i}}}'.encode() for i in range(7)]


def test_manifest_lists_every_file_but_itself_as_sha256sum_does(tmp_path: Path) -> None:
    (tmp_path / "original").mkdir()
    (tmp_path / "original" / "a.mp4.age").write_bytes(b"sealed")
    (tmp_path / "report.json").write_text("{}")
    text = manifest_text(tmp_path)
    assert text == (
        f"{hashlib.sha256(b'sealed').hexdigest()}  original/a.mp4.age\n"
        f"{hashlib.sha256(b'{}').hexdigest()}  report.json\n"
    )
    (tmp_path / MANIFEST_NAME).write_text(text)
    assert check_manifest(tmp_path) == []
    (tmp_path / "extra.txt").write_text("added")
    (tmp_path / "report.json").write_text('{"changed": 1}')
    assert check_manifest(tmp_path) == [
        "report.json: SHA-256 differs from the manifest (altered or replaced)",
        "extra.txt: not listed in the manifest",
    ]


@pytest.mark.parametrize("line", ["nonsense", f"{'0' * 64}  /etc/passwd", f"{'0' * 64}  a/../../x"])
def test_manifest_lines_that_leave_the_package_are_refused(line: str) -> None:
    with pytest.raises(CryptoFormatError):
        parse_manifest(line + "\n")


def test_proofs_hold_against_the_tree_root_and_nothing_else() -> None:
    tree = root(LINES).hex()
    for proof in make_proofs(LINES, range(2, 6), len(LINES)):
        assert proof.holds(LINES[proof.index], tree)
        assert not proof.holds(LINES[proof.index] + b" ", tree)
        assert InclusionProof.from_dict(asdict(proof)) == proof


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
_FIELDS = ("seq", "index", "tree_size", "leaf_hash", "path")


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(_FIELDS), _JSON) | _JSON)
def test_any_proof_object_parses_or_raises_crypto_format_error(obj: object) -> None:
    try:
        proof = InclusionProof.from_dict(obj)  # type: ignore[arg-type]
    except CryptoFormatError:
        return
    assert isinstance(proof.seq, int) and isinstance(proof.path, tuple)


def test_an_infinite_number_is_a_format_error_not_a_crash() -> None:
    bad = {"seq": float("inf"), "index": 0, "tree_size": 1, "leaf_hash": "", "path": []}
    with pytest.raises(CryptoFormatError):
        InclusionProof.from_dict(bad)
