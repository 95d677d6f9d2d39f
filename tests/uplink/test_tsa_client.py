"""The TSA client against a real TSA that lies, vanishes or answers garbage.

Attacks first: a reply carrying another nonce (a replay) or another hash (a misrouted
answer), a signer under another CA, a rejection, bytes that are no reply at all: each is
refused before anything is kept. Then an offline TSA, and the honest round trip.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from rfc3161_client import TimestampRequestBuilder, decode_timestamp_response
from rfc3161_client.base import HashAlgorithm

from segments.timestamp import TRUSTED, check_token, load_anchors
from testbeds.pki import write_test_pki
from testbeds.tsa import POLICY, TsaPki, TsaServer
from tests.support.tsa_fixtures import tsa_settings
from uplink.errors import TsaReplyRefused, TsaUnavailable
from uplink.tsa_client import TsaClient, TsaSettings

CHECKPOINT = b'{"size":10,"stream":"cam1"}'


def fresh_query(message: bytes) -> bytes:
    return (
        TimestampRequestBuilder()
        .data(message)
        .hash_algorithm(HashAlgorithm.SHA256)
        .build()
        .as_bytes()
    )


def test_a_reply_with_another_nonce_is_refused(tsa_server: TsaServer) -> None:
    tsa_server.answer = lambda query: tsa_server.reply_to(fresh_query(CHECKPOINT))
    with pytest.raises(TsaReplyRefused, match="Nonce mismatch"):
        TsaClient(tsa_settings(tsa_server)).timestamp(CHECKPOINT)


def test_a_reply_for_another_hash_is_refused(tsa_server: TsaServer) -> None:
    tsa_server.answer = lambda query: tsa_server.reply_to(fresh_query(b"something else"))
    with pytest.raises(TsaReplyRefused, match="for other bytes"):
        TsaClient(tsa_settings(tsa_server)).timestamp(CHECKPOINT)


def test_a_tsa_under_another_ca_is_refused(other_tsa_server: TsaServer, tsa_pki: TsaPki) -> None:
    client = TsaClient(tsa_settings(other_tsa_server, trusted=tsa_pki))
    with pytest.raises(TsaReplyRefused, match="does not verify"):
        client.timestamp(CHECKPOINT)


@pytest.mark.parametrize(
    "answer, reason",
    [
        (b"", "not an RFC 3161 reply"),
        (b"\x30\x03\x02\x01\x02", "not an RFC 3161 reply"),
        (b"<html>proxy login</html>", "not an RFC 3161 reply"),
    ],
)
def test_garbage_is_refused(tsa_server: TsaServer, answer: bytes, reason: str) -> None:
    tsa_server.answer = lambda query: answer
    with pytest.raises(TsaReplyRefused, match=reason):
        TsaClient(tsa_settings(tsa_server)).timestamp(CHECKPOINT)


def test_a_rejection_is_refused(tsa_server: TsaServer) -> None:
    tsa_server.answer = lambda query: tsa_server.reply_to(b"not a query")
    with pytest.raises(TsaReplyRefused, match="did not grant"):
        TsaClient(tsa_settings(tsa_server)).timestamp(CHECKPOINT)


def test_another_policy_than_configured_is_refused(tsa_server: TsaServer) -> None:
    client = TsaClient(tsa_settings(tsa_server, policy="1.2.3.4"))
    with pytest.raises(TsaReplyRefused, match="Policy ID mismatch"):
        client.timestamp(CHECKPOINT)


def test_an_offline_tsa_is_unavailable_not_refused(tsa_server: TsaServer) -> None:
    tsa_server.stop()
    with pytest.raises(TsaUnavailable, match="unreachable"):
        TsaClient(tsa_settings(tsa_server, timeout_s=5.0)).timestamp(CHECKPOINT)


def test_a_token_over_the_exact_bytes_round_trips(tsa_server: TsaServer, tsa_pki: TsaPki) -> None:
    client = TsaClient(tsa_settings(tsa_server, policy=POLICY))
    stamped = client.timestamp(CHECKPOINT)
    info = decode_timestamp_response(stamped.token).tst_info
    assert info.message_imprint.message == hashlib.sha256(CHECKPOINT).digest()
    assert info.nonce is not None
    assert stamped.stamp.policy == POLICY
    assert check_token(stamped.token, CHECKPOINT, 10, client.settings.anchors).status == TRUSTED


def test_an_https_tsa_is_reached_with_the_ca_file_and_refused_without(
    tsa_pki: TsaPki, tmp_path: Path
) -> None:
    tls_ca, cert, key = write_test_pki(tmp_path / "tls", ca="TSA web server CA")
    server = TsaServer(tsa_pki, tls=(cert, key)).start()
    try:
        with pytest.raises(TsaUnavailable, match=r"CERTIFICATE_VERIFY_FAILED.*ca_file"):
            TsaClient(tsa_settings(server, timeout_s=5.0)).timestamp(CHECKPOINT)
        both = tmp_path / "tsa-and-tls-ca.pem"
        both.write_bytes(tsa_pki.ca_file.read_bytes() + tls_ca.read_bytes())
        settings = TsaSettings(server.url, both, load_anchors(both.read_bytes(), "ca"), 5.0)
        stamped = TsaClient(settings).timestamp(CHECKPOINT)
        assert check_token(stamped.token, CHECKPOINT, 10, settings.anchors).status == TRUSTED
    finally:
        server.stop()
