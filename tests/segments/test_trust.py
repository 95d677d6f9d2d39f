"""Trusted keys: the trust file format, read strictly, and which key a subject gets."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from segments.errors import UnsupportedFormatError
from segments.signing import Ed25519Signer
from segments.trust import (
    MAX_TRUST_FILE,
    TrustedKeys,
    TrustFileError,
    archive_subject,
    load_trust_file,
    parse_trust_text,
)

# Fixed keys: they appear in parametrized test ids, which must be the same in every
# pytest-xdist worker.
A = Ed25519Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
B = Ed25519Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64))))
KA, KB = A.public_key_text(), B.public_key_text()


def test_lines_comments_rotation_and_an_archive() -> None:
    hq = Ed25519Signer(Ed25519PrivateKey.generate()).public_key_text()
    text = (
        f"evgw-trust 1\r\n# enrolled 2026-11-27\n\n  gw-post-01\t{KA}  \n"
        f"gw-post-01 {KB}\narchive:hq {hq}\n"
    )
    trust = parse_trust_text(text, "t")
    assert [k.key_id for k in trust.subjects["gw-post-01"]] == [A.key_id, B.key_id]
    assert trust.for_subject("gw-post-01", B.key_id) is trust.subjects["gw-post-01"][1]
    assert trust.for_subject("gw-post-01", "unknown") is trust.subjects["gw-post-01"][0]
    assert trust.for_subject("gw-other") is None
    assert trust.for_subject(archive_subject("hq")) is trust.subjects["archive:hq"][0]
    assert trust.unlisted("gw-other") == "t lists no key for 'gw-other'"


def test_a_single_key_speaks_for_any_gateway_never_for_an_archive() -> None:
    trust = TrustedKeys.single(A.verifier())
    assert trust.for_subject("gw1") is trust.for_subject("anything") is not None
    assert trust.for_subject(archive_subject("hq")) is None
    assert trust.for_subject(None) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "lists no key"),
        ("# only a comment\n", "lists no key"),
        (f"gw1 {KA} extra\n", "line 1: expected '<gateway-id> ed25519:<base64>', got 3 fields"),
        ("gw1\n", "got 1 fields"),
        (f"gw/1 {KA}\n", "is not a gateway id"),
        (f"gw:1 {KA}\n", "is not a gateway id"),
        (f"archive: {KA}\n", "is not a gateway id"),
        (f".. {KA}\n", "is not a gateway id"),
        (f"{'g' * 65} {KA}\n", "is not a gateway id"),
        (f"gw١ {KA}\n", "is not a gateway id"),  # an Arabic-Indic digit
        (f"gw1\u3000{KA}\n", "got 1 fields"),  # an ideographic space separates nothing
        ("gw1 ed25519:AAAA\n", "must be 32 bytes"),
        ("gw1 rsa:AAAA\n", "unknown public key algorithm"),
        (f"gw1 {KA[:-2]}==\n", "line 1"),
        (f"gw1 {KA}\ngw1 {KA}\n", "line 2: t repeats this key"),
        (f"gw1 {KA}\ngw2 {KA}\n", "already lists this key for 'gw1'"),
        (f"gw1 {KA}\x1b[2J\n", "control character '\\x1b'"),
        (f"gw1 {KA}\u202e\n", "control character"),
        (f"gw1 {KA}\nevgw-trust 1\n", "may only be the first line"),
        ("evgw-trust ²\n", "expected 'evgw-trust 1'"),
        ("evgw-trust 0\n", "unknown trust file format 0"),
        ("evgw-trust 1 x\n", "expected 'evgw-trust 1'"),
    ],
)
def test_anything_else_is_refused_with_file_and_line(text: str, message: str) -> None:
    with pytest.raises(TrustFileError) as caught:
        parse_trust_text(text, "t")
    assert message in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_newer_format_asks_for_an_update() -> None:
    with pytest.raises(UnsupportedFormatError, match="format 2, this evgw reads up to 1"):
        parse_trust_text(f"evgw-trust 2\ngw1 {KA}\n", "t")


def test_file_level_refusals(tmp_path: Path) -> None:
    cases = {
        "bom": b"\xef\xbb\xbfgw1 " + KA.encode(),
        "latin1": b"gw\xe91 " + KA.encode(),
        "huge": b"#" * (MAX_TRUST_FILE + 1),
    }
    expected = {"bom": "byte order mark", "latin1": "not UTF-8", "huge": "larger than"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(TrustFileError, match=expected[name]):
            load_trust_file(tmp_path / name)
    with pytest.raises(TrustFileError, match="cannot read trust file"):
        load_trust_file(tmp_path / "absent")
    (tmp_path / "good").write_text(f"gw1 {KA}\n", encoding="utf-8")
    assert load_trust_file(tmp_path / "good").origin == str(tmp_path / "good")


_PIECES = st.sampled_from(
    ["gw1", "gw-2", "archive:hq", KA, KB, "evgw-trust", "1", "2", "²", "#", " ", "\t", "\n",
     "\r\n", "\x00", "ed25519:", "=", "/", ":", "١", "\u3000", "\u202e", KA[:10]]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=24))
def test_assembled_pieces_parse_or_raise_only_the_declared_errors(pieces: list[str]) -> None:
    try:
        trust = parse_trust_text("".join(pieces), "t")
    except (TrustFileError, UnsupportedFormatError):
        return
    assert trust.subjects and all(keys for keys in trust.subjects.values())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_parses_or_raises_only_the_declared_errors(text: str) -> None:
    with contextlib.suppress(TrustFileError, UnsupportedFormatError):
        parse_trust_text(text, "t")
