"""Device keys: sign/verify, key files and their permissions, public key text parsing."""

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from segments.errors import CryptoFormatError, SegmentError
from segments.signing import (
    Ed25519Signer,
    KeyFileError,
    Signer,
    Verifier,
    digest,
    fingerprint,
    generate_signing_key,
    load_signer,
    load_verifier,
    new_hash,
    parse_public_key,
)

# RFC 8032 §7.1 TEST 1: secret key, public key and signature of the empty message.
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIG = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
    "d25bf5f0595bbe24655141438e7a100b"
)


def _rfc8032_signer() -> Ed25519Signer:
    return Ed25519Signer(Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET))


def test_known_answer_and_text_format() -> None:
    signer = _rfc8032_signer()
    assert signer.sign(b"") == RFC8032_SIG
    text = signer.public_key_text()
    assert text == "ed25519:" + base64.b64encode(RFC8032_PUBLIC).decode()
    assert "\n" not in text
    verifier = parse_public_key(text)
    assert verifier.verify(b"", RFC8032_SIG)
    assert verifier.key_id == hashlib.sha256(RFC8032_PUBLIC).hexdigest()[:16]
    assert verifier.key_id == signer.key_id
    assert fingerprint(verifier) == f"SHA256:{hashlib.sha256(RFC8032_PUBLIC).hexdigest()}"
    assert fingerprint(signer) == fingerprint(verifier)
    assert fingerprint(verifier).startswith(f"SHA256:{verifier.key_id}"), "names the key id"
    assert signer.alg == verifier.alg == "ed25519"


def test_round_trip_and_tampering(tmp_path: Path) -> None:
    signer: Signer = generate_signing_key(tmp_path / "keys" / "device.key")
    verifier: Verifier = load_verifier(signer.public_key_text())
    msg = b'{"kind":"segment","seq":1}'
    sig = signer.sign(msg)
    assert verifier.verify(msg, sig)
    assert not verifier.verify(msg + b" ", sig)
    assert not verifier.verify(msg, bytes([sig[0] ^ 1]) + sig[1:])
    assert not verifier.verify(msg, sig[:-1])
    assert not verifier.verify(msg, b"")


def test_wrong_key_fails(tmp_path: Path) -> None:
    a = generate_signing_key(tmp_path / "a.key")
    b = generate_signing_key(tmp_path / "b.key")
    assert a.key_id != b.key_id
    assert not b.verifier().verify(b"record", a.sign(b"record"))


def test_key_file_is_0600_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "device.key"
    signer = generate_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in path.parent.iterdir()] == ["device.key"]
    loaded = load_signer(path)
    assert loaded.key_id == signer.key_id
    assert signer.verifier().verify(b"m", loaded.sign(b"m"))


def test_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "device.key"
    first = generate_signing_key(path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        generate_signing_key(path)
    assert path.read_bytes() == before
    assert load_signer(path).key_id == first.key_id
    assert [p.name for p in tmp_path.iterdir()] == ["device.key"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o601])
def test_load_refuses_permissive_key_file(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "device.key"
    generate_signing_key(path)
    os.chmod(path, mode)
    with pytest.raises(KeyFileError) as info:
        load_signer(path)
    assert str(path) in str(info.value)
    assert "chmod 600" in str(info.value)
    assert isinstance(info.value, SegmentError)


def test_load_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read signing key"):
        load_signer(tmp_path / "absent.key")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a key\n",
        b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n",
        b"\x00\xff" * 40,
    ],
)
def test_bad_key_file_text_gives_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "device.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(CryptoFormatError, match="PKCS#8 PEM") as info:
        load_signer(path)
    assert str(path) in str(info.value)


def test_non_ed25519_key_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "ec.key"
    pem = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    with pytest.raises(CryptoFormatError, match="expected an Ed25519 key"):
        load_signer(path)


def test_load_verifier_from_file_and_text(tmp_path: Path) -> None:
    signer = generate_signing_key(tmp_path / "device.key")
    pub = tmp_path / "device.pub"
    pub.write_text(signer.public_key_text() + "\n")
    for source in (pub, str(pub), signer.public_key_text(), f"  {signer.public_key_text()}\n"):
        assert load_verifier(source).key_id == signer.key_id
    with pytest.raises(KeyFileError, match="cannot read public key"):
        load_verifier(tmp_path / "absent.pub")
    bad = tmp_path / "bad.pub"
    bad.write_text("ed25519:@@@\n")
    with pytest.raises(CryptoFormatError, match=str(bad)):
        load_verifier(bad)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must look like"),
        ("ed25519", "must look like"),
        ("rsa:AAAA", "unknown public key algorithm"),
        ("ed25519:not base64!", "not valid base64"),
        ("ed25519:" + base64.b64encode(b"short").decode(), "must be 32 bytes"),
        ("ed25519:" + base64.b64encode(bytes(33)).decode(), "must be 32 bytes"),
        ("ed25519:" + base64.b64encode(bytes(32)).decode()[:-1], "not valid base64"),
        ("ed25519:" + "A" * 42 + "B=", "not canonical"),
    ],
)
def test_public_key_parse_errors(text: str, message: str) -> None:
    with pytest.raises(CryptoFormatError, match=message):
        parse_public_key(text)


@given(st.binary(max_size=80))
def test_public_key_parser_fuzz_bytes(data: bytes) -> None:
    try:
        verifier = parse_public_key(data)
    except CryptoFormatError:
        return
    assert parse_public_key(verifier.public_key_text()).key_id == verifier.key_id


@given(st.text(max_size=80), st.sampled_from(["", "ed25519:", "ed25519: ", "sm2:"]))
def test_public_key_parser_fuzz_text(text: str, prefix: str) -> None:
    try:
        verifier = parse_public_key(prefix + text)
    except CryptoFormatError:
        return
    assert verifier.public_key_text() == (prefix + text).strip()


def test_digest() -> None:
    assert digest("sha256", b"abc") == hashlib.sha256(b"abc").digest()
    h = new_hash("sha256")
    h.update(b"a")
    h.update(b"bc")
    assert h.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(CryptoFormatError, match="unknown digest algorithm 'sm3'"):
        digest("sm3", b"abc")


def test_repr_does_not_show_private_material(tmp_path: Path) -> None:
    signer = generate_signing_key(tmp_path / "device.key")
    assert repr(signer) == f"Ed25519Signer(key_id={signer.key_id!r})"
