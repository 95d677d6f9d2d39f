"""The signed package statement: its format, its signature, and hostile `SIGNATURE.json` bytes."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.errors import CryptoFormatError, UnsupportedFormatError
from segments.package_signature import (
    LABELS,
    REMUX_METHOD,
    DerivedCopy,
    PackageSignature,
    PackageStatement,
    SignerId,
)
from segments.signing import Ed25519Signer

SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
STATEMENT = PackageStatement(
    signer=SignerId("gateway", "gw1"),
    alg=SIGNER.alg,
    key_id=SIGNER.key_id,
    package_version=1,
    manifest_sha256="a" * 64,
    labels={name: f"{name} 值" for name in LABELS},
    derived=DerivedCopy("derived/x.mp4", "b" * 64, (2, 3), REMUX_METHOD, "note"),
)
SIGNED = PackageSignature.sign(STATEMENT, SIGNER)


def test_round_trip_and_signature() -> None:
    parsed = PackageSignature.parse(SIGNED.to_json())
    assert parsed == SIGNED and parsed.verify(SIGNER.verifier())
    doc = json.loads(SIGNED.to_json())
    assert doc["version"] == 1 and doc["statement"]["type"] == "evgw/package-statement"
    assert doc["statement"]["derived"]["method"] == "remux, no re-encoding"


@pytest.mark.parametrize(
    "change",
    [
        {"manifest_sha256": "c" * 64},
        {"labels": {**STATEMENT.labels, "case": "OTHER"}},
        {"signer": SignerId("gateway", "gw2")},
        {"derived": replace(STATEMENT.derived, source_seqs=(2,))},
        {"derived": replace(STATEMENT.derived, sha256="c" * 64)},
    ],
)
def test_every_part_of_the_statement_is_signed(change: dict[str, Any]) -> None:
    forged = PackageSignature(replace(STATEMENT, **change), SIGNED.sig)
    assert not forged.verify(SIGNER.verifier())


def test_another_key_does_not_verify_and_cannot_sign_this_statement() -> None:
    other = Ed25519Signer(Ed25519PrivateKey.generate())
    assert not SIGNED.verify(other.verifier())
    with pytest.raises(ValueError, match="another key"):
        PackageSignature.sign(STATEMENT, other)


def test_a_newer_version_is_refused() -> None:
    doc = json.loads(SIGNED.to_json())
    doc["version"] = 2
    with pytest.raises(UnsupportedFormatError, match="please update evgw"):
        PackageSignature.parse(json.dumps(doc).encode())


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_PATHS = st.sampled_from(
    [("version",), ("sig",), ("statement",), ("statement", "type"), ("statement", "signer"),
     ("statement", "signer", "kind"), ("statement", "signer", "id"), ("statement", "alg"),
     ("statement", "key_id"), ("statement", "package_version"),
     ("statement", "manifest_sha256"), ("statement", "labels"), ("statement", "labels", "case"),
     ("statement", "derived"), ("statement", "derived", "source_seqs"),
     ("statement", "derived", "sha256"), ("statement", "extra")]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=_PATHS, value=_JSON)
def test_a_mutated_field_parses_or_raises_only_the_declared_errors(
    path: tuple[str, ...], value: object
) -> None:
    doc = json.loads(SIGNED.to_json())
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    try:
        parsed = PackageSignature.parse(json.dumps(doc).encode())
    except (CryptoFormatError, UnsupportedFormatError):
        return
    changed = json.loads(parsed.to_json()) != json.loads(SIGNED.to_json())
    assert not changed or not parsed.verify(SIGNER.verifier())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_parse_or_raise_only_the_declared_errors(data: bytes) -> None:
    with contextlib.suppress(CryptoFormatError, UnsupportedFormatError):
        PackageSignature.parse(data)


def test_deep_nesting_is_a_format_error() -> None:
    with pytest.raises(CryptoFormatError):
        PackageSignature.parse(b"[" * 100_000 + b"]" * 100_000)
