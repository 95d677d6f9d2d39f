"""RFC 3161 tokens over checkpoints: the pure checks, against tokens from a real TSA.

Attacks first: a genuine token moved beside another checkpoint, a token from a TSA under
another CA, a fresh reply for another nonce or another hash, and hostile bytes, all refused
with a clear reason; then the honest round trip.
"""

from __future__ import annotations

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

from segments.timestamp import (
    MISSING,
    REFUSED,
    TRUSTED,
    UNCHECKED,
    TimestampError,
    accept_reply,
    check_token,
    load_anchors,
    token_relpath,
)
from testbeds.tsa import OTHER_POLICY, POLICY, TsaPki, TsaServer
from tests.support.tsa_fixtures import token_for

CHECKPOINT = b'{"gateway":"gw1","root":"' + b"ab" * 32 + b'","size":10,"stream":"cam1"}'
OTHER_CHECKPOINT = CHECKPOINT.replace(b'"size":10', b'"size":20')


def anchors(pki: TsaPki) -> tuple[x509.Certificate, ...]:
    return load_anchors(pki.ca_file.read_bytes(), str(pki.ca_file))


def request_for(message: bytes) -> tuple[bytes, int]:
    """A DER request over SHA-256(`message`) with a fresh nonce, as the gateway makes one."""
    request = TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256).build()
    assert request.nonce is not None
    return request.as_bytes(), request.nonce


@pytest.fixture(scope="module")
def token(tsa_pki: TsaPki) -> bytes:
    server = TsaServer(tsa_pki).start()
    try:
        return token_for(server, CHECKPOINT)
    finally:
        server.stop()


def test_a_genuine_token_beside_another_checkpoint_is_refused(
    token: bytes, tsa_pki: TsaPki
) -> None:
    found = check_token(token, OTHER_CHECKPOINT, 20, anchors(tsa_pki))
    assert found.status == REFUSED and "for other bytes" in found.detail
    unchecked = check_token(token, OTHER_CHECKPOINT, 20, None)
    assert unchecked.status == REFUSED, "a wrong imprint needs no trust anchor to be refused"


def test_a_token_from_a_tsa_under_another_ca_is_refused(
    other_tsa_server: TsaServer, tsa_pki: TsaPki
) -> None:
    forged = token_for(other_tsa_server, CHECKPOINT)
    found = check_token(forged, CHECKPOINT, 10, anchors(tsa_pki))
    assert found.status == REFUSED and found.time is None
    assert "not verified by the given TSA CA" in found.detail


def test_a_reply_for_another_nonce_is_refused_at_request_time(
    tsa_server: TsaServer, tsa_pki: TsaPki
) -> None:
    query, nonce = request_for(CHECKPOINT)
    replayed = tsa_server.reply_to(request_for(CHECKPOINT)[0])  # same hash, other nonce
    with pytest.raises(TimestampError, match="Nonce mismatch"):
        accept_reply(replayed, CHECKPOINT, nonce, anchors(tsa_pki))
    assert accept_reply(tsa_server.reply_to(query), CHECKPOINT, nonce, anchors(tsa_pki))


def test_a_reply_for_another_hash_is_refused_at_request_time(
    tsa_server: TsaServer, tsa_pki: TsaPki
) -> None:
    _, nonce = request_for(CHECKPOINT)
    other = tsa_server.reply_to(request_for(OTHER_CHECKPOINT)[0])
    with pytest.raises(TimestampError, match="for other bytes"):
        accept_reply(other, CHECKPOINT, nonce, anchors(tsa_pki))


def test_a_reply_under_another_policy_than_configured_is_refused(
    tsa_server: TsaServer, tsa_pki: TsaPki
) -> None:
    query, nonce = request_for(CHECKPOINT)
    reply = tsa_server.reply_to(query)
    with pytest.raises(TimestampError, match="Policy ID mismatch"):
        accept_reply(reply, CHECKPOINT, nonce, anchors(tsa_pki), OTHER_POLICY)
    assert accept_reply(reply, CHECKPOINT, nonce, anchors(tsa_pki), POLICY).policy == POLICY


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048))
def test_hostile_bytes_are_refused_with_a_reason_never_a_crash(data: bytes) -> None:
    found = check_token(data, CHECKPOINT, 10, None)
    assert found.status == REFUSED and found.detail
    with pytest.raises(TimestampError):
        accept_reply(data, CHECKPOINT, 1, ())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_damaged_genuine_token_is_refused_never_a_crash(
    token: bytes, tsa_pki: TsaPki, data: st.DataObject
) -> None:
    """Bit flips, cuts and splices of a real token: each is refused or (a flip in an unsigned
    field) still verifies; none escapes as anything but a verdict."""
    cut = data.draw(st.integers(0, len(token) - 1))
    damaged = bytearray(token)
    how = data.draw(st.sampled_from(["flip", "truncate", "splice"]))
    if how == "flip":
        damaged[cut] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "truncate":
        del damaged[cut:]
    else:
        damaged[cut:cut] = data.draw(st.binary(min_size=1, max_size=64))
    found = check_token(bytes(damaged), CHECKPOINT, 10, anchors(tsa_pki))
    assert found.status in (REFUSED, TRUSTED) and found.detail


def test_a_genuine_token_is_trusted_with_the_tsa_time(token: bytes, tsa_pki: TsaPki) -> None:
    found = check_token(token, CHECKPOINT, 10, anchors(tsa_pki))
    assert found.status == TRUSTED, found.detail
    assert found.time is not None and found.time.endswith("Z")
    assert found.tsa is not None and "evgw test TSA CA time-stamping unit" in found.tsa
    assert POLICY in found.detail


def test_without_anchors_a_token_is_listed_unchecked_never_trusted(token: bytes) -> None:
    found = check_token(token, CHECKPOINT, 10, None)
    assert found.status == UNCHECKED and found.time is not None


def test_a_missing_token_is_reported_as_missing() -> None:
    assert check_token(None, CHECKPOINT, 10, None).status == MISSING


def test_a_ca_file_without_certificates_is_refused_clearly() -> None:
    with pytest.raises(TimestampError, match="no readable PEM certificate"):
        load_anchors(b"not a certificate", "ca.pem")


def test_tokens_are_named_by_checkpoint_size() -> None:
    assert token_relpath(10) == "checkpoints/00000010.tsr"
