"""The test TSA: an openssl-made PKI with a proper TSA certificate, answering over HTTP, able
to go offline and come back on the same port."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from segments.timestamp import REFUSED, check_token
from testbeds.tsa import QUERY_TYPE, REPLY_TYPE, TsaPki, TsaServer
from tests.support.tsa_fixtures import token_for


def test_the_tsa_certificate_has_the_critical_timestamping_eku(tsa_pki: TsaPki) -> None:
    ca = x509.load_pem_x509_certificate(tsa_pki.ca_file.read_bytes())
    cert = x509.load_pem_x509_certificate(tsa_pki.cert_file.read_bytes())
    cert.verify_directly_issued_by(ca)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_it_answers_goes_offline_and_comes_back_on_the_same_port(tsa_server: TsaServer) -> None:
    assert token_for(tsa_server, b"first")
    port = tsa_server.port
    tsa_server.stop()
    query = urllib.request.Request(tsa_server.url, data=b"x", headers={"Content-Type": QUERY_TYPE})
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(query, timeout=5)
    tsa_server.start()
    assert tsa_server.port == port and token_for(tsa_server, b"again")
    assert tsa_server.requests == 2


def test_a_request_that_is_not_a_query_gets_a_rejection_reply(tsa_server: TsaServer) -> None:
    """Like a public TSA, it answers a bad query with a TimeStampResp of status rejection."""
    query = urllib.request.Request(
        tsa_server.url, data=b"garbage", headers={"Content-Type": QUERY_TYPE}
    )
    with urllib.request.urlopen(query, timeout=5) as answer:
        assert answer.headers.get_content_type() == REPLY_TYPE
        found = check_token(answer.read(), b"garbage", 1, None)
    assert found.status == REFUSED and "did not grant" in found.detail
