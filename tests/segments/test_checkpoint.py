"""Signed checkpoints: sign/verify, tamper detection, canonical JSON and strict parsing."""

import contextlib
import json
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from segments.checkpoint import Checkpoint
from segments.errors import CryptoFormatError
from segments.merkle import root
from segments.records import canonical_json
from segments.signing import Ed25519Signer

SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
OTHER = Ed25519Signer(Ed25519PrivateKey.generate())
ROOT = root([b"line-0", b"line-1", b"line-2"]).hex()


def _cp(**changes: Any) -> Checkpoint:
    base: dict[str, Any] = {
        "stream": "gate-1",
        "gateway": "gw-01",
        "size": 3,
        "root": ROOT,
        "time": "2026-11-27T06:03:00.000000+00:00",
    }
    return Checkpoint(**{**base, **changes})


def test_signed_checkpoint_verifies_with_its_key_only() -> None:
    cp = _cp().signed_by(SIGNER)
    assert (cp.alg, cp.key_id) == ("ed25519", SIGNER.key_id)
    assert cp.sig
    assert cp.verify(SIGNER.verifier())
    assert not cp.verify(OTHER.verifier())
    assert not _cp().verify(SIGNER.verifier()), "an unsigned checkpoint does not verify"


@pytest.mark.parametrize(
    "change",
    [
        {"size": 4},
        {"root": "00" * 32},
        {"stream": "gate-2"},
        {"gateway": "gw-02"},
        {"time": "2026-11-27T06:03:01.000000+00:00"},
    ],
)
def test_any_altered_field_breaks_the_signature(change: dict[str, Any]) -> None:
    cp = replace(_cp().signed_by(SIGNER), **change)
    assert not cp.verify(SIGNER.verifier())


def test_a_signature_copied_under_another_key_id_does_not_verify() -> None:
    cp = _cp().signed_by(SIGNER)
    forged = replace(cp, key_id=OTHER.key_id)
    assert not forged.verify(OTHER.verifier())


@pytest.mark.parametrize("sig", ["not base64!", "", "AAAA", "=" * 4])
def test_malformed_signatures_do_not_verify(sig: str) -> None:
    cp = replace(_cp().signed_by(SIGNER), sig=sig)
    assert not cp.verify(SIGNER.verifier())


def test_re_signing_replaces_the_old_signature() -> None:
    cp = _cp().signed_by(OTHER).signed_by(SIGNER)
    assert cp.key_id == SIGNER.key_id and cp.verify(SIGNER.verifier())


def test_json_is_canonical_and_round_trips() -> None:
    cp = _cp().signed_by(SIGNER)
    data = cp.to_json()
    assert data == canonical_json(json.loads(data))
    back = Checkpoint.from_json(data)
    assert back == cp
    assert back.verify(SIGNER.verifier())
    assert "sig" not in json.loads(cp.signed_part())


def _line(**changes: Any) -> bytes:
    return json.dumps({**json.loads(_cp().signed_by(SIGNER).to_json()), **changes}).encode()


@pytest.mark.parametrize(
    "data",
    [
        _line(extra=1),
        _line(v=2),
        _line(size=-1),
        _line(size="3"),
        _line(size=3.0),
        _line(root="ab"),
        _line(root=None),
        _line(root=[0] * 64),
        _line(sig=5),
        b"[" * 100_000,
        b"[]",
        b"{}",
        b"nope",
        b"\x80",
    ],
)
def test_bad_checkpoints_raise_crypto_format_error(data: bytes) -> None:
    with pytest.raises(CryptoFormatError):
        Checkpoint.from_json(data)


_values = st.none() | st.booleans() | st.integers() | st.text(max_size=70) | st.lists(st.integers())


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["stream", "gateway", "size", "root", "time", "alg", "sig", "v", "x"]),
        _values,
    )
)
def test_arbitrary_objects_only_raise_crypto_format_error(obj: dict[str, Any]) -> None:
    with contextlib.suppress(CryptoFormatError):
        Checkpoint.from_json(json.dumps(obj).encode())


def test_root_must_be_hex() -> None:
    with pytest.raises(CryptoFormatError):
        Checkpoint.from_json(_line(root="zz" * 32))
