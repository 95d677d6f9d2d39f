"""Witnessed checkpoints: the note of a gateway checkpoint, the file, and each attack on it."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.checkpoint import Checkpoint
from segments.errors import CryptoFormatError, SegmentError, UnsupportedFormatError
from segments.merkle import root
from segments.note import CosignatureError, SignedNote, parse_note
from segments.signing import Ed25519Signer, generate_signing_key, load_signer, parse_public_key
from segments.witness import (
    MAX_WITNESSED_BYTES,
    DeviceSignatureError,
    WitnessedCheckpoint,
    WitnessError,
    check_witnessed,
    checkpoint_body,
    cosign,
    open_witnessed,
    origin,
)

DEVICE = Ed25519Signer(Ed25519PrivateKey.generate())
WITNESS = Ed25519Signer(Ed25519PrivateKey.generate())
OTHER = Ed25519Signer(Ed25519PrivateKey.generate())
NAME = "archive.example.gov/witness"
T = 1_795_759_260
ROOT = root([b"line-0", b"line-1", b"line-2"])


def checkpoint(stream: str = "gate-1", size: int = 3, root_hex: str = ROOT.hex()) -> Checkpoint:
    return Checkpoint(
        stream=stream, gateway="gw-01", size=size, root=root_hex, time="2026-11-27T06:01:00+00:00"
    ).signed_by(DEVICE)


def witnessed(cp: Checkpoint | None = None) -> bytes:
    return cosign(cp or checkpoint(), NAME, WITNESS, T).to_bytes()


def test_note_body_is_a_c2sp_checkpoint_of_the_stream() -> None:
    cp = checkpoint()
    assert checkpoint_body(cp) == (f"evgw/gw-01/gate-1\n3\n{base64.b64encode(ROOT).decode()}\n")
    # One origin per stream, stable, and no name can pose as another path.
    assert origin("gw-01", "门口 1") == "evgw/gw-01/%E9%97%A8%E5%8F%A3%201"
    assert origin("gw-01", "a/b") != origin("gw-01/a", "b")


def test_cosign_and_check_round_trip(tmp_path: Path) -> None:
    key = generate_signing_key(tmp_path / "witness.ed25519")
    signer = load_signer(tmp_path / "witness.ed25519")
    data = cosign(checkpoint(), NAME, signer, T).to_bytes()
    public = parse_public_key(key.public_key_text())
    assert check_witnessed(data, DEVICE.verifier(), public, NAME) == checkpoint()
    seen = open_witnessed(data, DEVICE.verifier(), public)
    assert (seen.cosignature.name, seen.cosignature.timestamp) == (NAME, T)
    doc = json.loads(data)
    assert (doc["type"], doc["v"]) == ("evgw-witnessed-checkpoint", 1)
    assert Checkpoint.from_json(json.dumps(doc["checkpoint"]).encode()) == checkpoint()
    assert WitnessedCheckpoint.from_bytes(data).to_bytes() == data


def test_the_note_alone_checks_with_any_c2sp_reader() -> None:
    """The note in the file is a plain signed note: body + one cosignature/v1 line."""
    note = parse_note(json.loads(witnessed())["note"].encode())
    assert note.text == checkpoint_body(checkpoint())
    [line] = note.signatures
    assert line.name == NAME and len(line.sig) == 8 + 64


def test_tampered_note_body_fails_the_cosignature() -> None:
    doc = json.loads(witnessed())
    doc["note"] = doc["note"].replace("\n3\n", "\n4\n", 1)
    with pytest.raises(CosignatureError, match="does not verify"):
        check_witnessed(json.dumps(doc).encode(), DEVICE.verifier(), WITNESS.verifier(), NAME)


def test_wrong_witness_key_or_name_is_refused() -> None:
    with pytest.raises(CosignatureError, match="trusted witness key"):
        check_witnessed(witnessed(), DEVICE.verifier(), OTHER.verifier(), NAME)
    with pytest.raises(CosignatureError, match="under witness name 'hq/other'"):
        check_witnessed(witnessed(), DEVICE.verifier(), WITNESS.verifier(), "hq/other")


def test_a_checkpoint_swapped_in_from_another_stream_does_not_match_the_note() -> None:
    doc = json.loads(witnessed())
    other = checkpoint(stream="gate-2")
    doc["checkpoint"] = json.loads(other.to_json())
    with pytest.raises(WitnessError, match="pairs a checkpoint with another's note"):
        check_witnessed(json.dumps(doc).encode(), DEVICE.verifier(), WITNESS.verifier())


def test_a_checkpoint_of_another_device_key_is_refused() -> None:
    with pytest.raises(DeviceSignatureError, match="does not verify with the device key"):
        check_witnessed(witnessed(), OTHER.verifier(), WITNESS.verifier())
    forged = replace(checkpoint(), time="2026-11-27T06:02:00+00:00")  # signature now stale
    with pytest.raises(DeviceSignatureError):
        check_witnessed(witnessed(forged), DEVICE.verifier(), WITNESS.verifier())


def test_an_unsigned_checkpoint_is_not_cosigned() -> None:
    with pytest.raises(WitnessError, match="unsigned"):
        cosign(replace(checkpoint(), sig=""), NAME, WITNESS, T)


@pytest.mark.parametrize(
    ("change", "error", "reason"),
    [
        (lambda d: {**d, "v": 2}, UnsupportedFormatError, "newer"),
        (lambda d: {**d, "v": 0}, CryptoFormatError, "format 1"),
        (lambda d: {**d, "extra": 1}, CryptoFormatError, "exactly the fields"),
        (lambda d: {**d, "type": "x"}, CryptoFormatError, "not a witnessed checkpoint"),
        (lambda d: {**d, "note": 5}, CryptoFormatError, "note text"),
        (lambda d: {**d, "checkpoint": {"size": -1}}, CryptoFormatError, "checkpoint"),
        (lambda d: [d], CryptoFormatError, "not a witnessed checkpoint"),
    ],
)
def test_malformed_files_are_refused_with_a_reason(
    change: object, error: type[Exception], reason: str
) -> None:
    doc = change(json.loads(witnessed()))  # type: ignore[operator]
    with pytest.raises(error, match=reason):
        WitnessedCheckpoint.from_bytes(json.dumps(doc).encode())


def test_size_limit_and_lone_surrogates() -> None:
    with pytest.raises(CryptoFormatError, match="over"):
        WitnessedCheckpoint.from_bytes(b" " * (MAX_WITNESSED_BYTES + 1))
    doc = json.dumps(json.loads(witnessed())).replace('"note": "', '"note": "\\ud800', 1)
    with pytest.raises(CryptoFormatError, match="surrogate"):
        WitnessedCheckpoint.from_bytes(doc.encode())


def _mutate(data: bytes, at: int, value: int, cut: int) -> bytes:
    b = bytearray(data[: len(data) - cut])
    if b:
        b[at % len(b)] = value
    return bytes(b)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=400),
        st.builds(
            _mutate,
            st.just(witnessed()),
            st.integers(0, 10_000),
            st.integers(0, 255),
            st.integers(0, 40),
        ),
    )
)
def test_hostile_bytes_raise_only_the_declared_errors(data: bytes) -> None:
    try:
        check_witnessed(data, DEVICE.verifier(), WITNESS.verifier(), NAME)
    except SegmentError as e:  # CryptoFormatError, UnsupportedFormatError, WitnessError
        assert str(e)


def test_the_note_keeps_its_signature_lines_in_order() -> None:
    """A note with another witness's line as well still checks for ours."""
    w = cosign(checkpoint(), NAME, WITNESS, T)
    second = cosign(checkpoint(), "other.example/w", OTHER, T + 1).note.signatures
    both = WitnessedCheckpoint(w.checkpoint, SignedNote(w.note.text, (*second, *w.note.signatures)))
    assert check_witnessed(both.to_bytes(), DEVICE.verifier(), WITNESS.verifier(), NAME)
    assert check_witnessed(both.to_bytes(), DEVICE.verifier(), OTHER.verifier())
