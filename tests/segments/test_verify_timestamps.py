"""Verify step V12: the RFC 3161 token beside each checkpoint, from a real TSA.

Attacks first: a genuine token moved beside another checkpoint, and a token from a TSA the
expert does not trust, make the stream NOT_AUTHENTIC; then a missing token is only listed,
a token without --tsa-ca is listed unchecked, and `evgw verify --tsa-ca` prints the times.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cryptography import x509

from gateway.cli.main import main
from segments.ledger import CHECKPOINTS_NAME
from segments.timestamp import MISSING, REFUSED, TRUSTED, UNCHECKED, load_anchors, token_relpath
from segments.trust import TrustedKeys
from segments.verify import DirMediaSource, Report, Verdict, verify
from testbeds.tsa import TsaPki, TsaServer
from tests.segments.sealed_stream import SIGNER, Stream
from tests.support.tsa_fixtures import token_for

TRUSTED_KEY = TrustedKeys.single(SIGNER.verifier())


def anchors(pki: TsaPki) -> tuple[x509.Certificate, ...]:
    return load_anchors(pki.ca_file.read_bytes(), str(pki.ca_file))


def checkpoint_lines(stream: Stream) -> dict[int, bytes]:
    lines = (stream.root / CHECKPOINTS_NAME).read_bytes().splitlines()
    return {json.loads(line)["size"]: line for line in lines}


def stamp(stream: Stream, server: TsaServer, size: int, over: bytes | None = None) -> None:
    """Put a real token beside checkpoint `size` (over its own bytes unless `over`)."""
    path = stream.root / token_relpath(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(token_for(server, over or checkpoint_lines(stream)[size]))


def check(stream: Stream, tsa: tuple[x509.Certificate, ...] | None) -> Report:
    return verify([("cam1", DirMediaSource(stream.root))], trust=TRUSTED_KEY, tsa_anchors=tsa)


@pytest.fixture
def stream(tmp_path: Path) -> Stream:
    """key, boot, six segments: checkpoints of size 4 and 8."""
    s = Stream(tmp_path / "data")
    s.start()
    for _ in range(6):
        s.segment()
    assert sorted(checkpoint_lines(s)) == [4, 8]
    return s


def test_a_token_moved_beside_another_checkpoint_is_not_authentic(
    stream: Stream, tsa_server: TsaServer, tsa_pki: TsaPki
) -> None:
    stamp(stream, tsa_server, 4)
    stamp(stream, tsa_server, 8, over=checkpoint_lines(stream)[4])
    report = check(stream, anchors(tsa_pki))
    stamps = {t.size: t.status for t in report.streams[0].timestamps}
    assert stamps == {4: TRUSTED, 8: REFUSED}
    assert report.verdict is Verdict.NOT_AUTHENTIC
    issue = report.streams[0].issues[0]
    assert issue.step == "V12" and "size 8" in issue.detail and "for other bytes" in issue.detail


def test_a_token_from_an_untrusted_tsa_is_not_authentic(
    stream: Stream, other_tsa_server: TsaServer, tsa_pki: TsaPki
) -> None:
    stamp(stream, other_tsa_server, 4)
    report = check(stream, anchors(tsa_pki))
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert [t.status for t in report.streams[0].timestamps] == [REFUSED, MISSING]


def test_missing_tokens_are_listed_not_held_against_the_stream(
    stream: Stream, tsa_server: TsaServer, tsa_pki: TsaPki
) -> None:
    stamp(stream, tsa_server, 4)
    report = check(stream, anchors(tsa_pki))
    assert report.verdict is Verdict.AUTHENTIC
    found = report.streams[0].timestamps
    assert [(t.size, t.status) for t in found] == [(4, TRUSTED), (8, MISSING)]
    assert found[0].time is not None and found[1].time is None


def test_without_tsa_anchors_tokens_are_listed_unchecked(
    stream: Stream, other_tsa_server: TsaServer
) -> None:
    stamp(stream, other_tsa_server, 4)
    report = check(stream, None)
    assert report.verdict is Verdict.AUTHENTIC
    assert [t.status for t in report.streams[0].timestamps] == [UNCHECKED, MISSING]


def test_evgw_verify_tsa_ca_prints_each_checkpoint_time(
    stream: Stream, tsa_server: TsaServer, tsa_pki: TsaPki, capsys: pytest.CaptureFixture[str]
) -> None:
    stamp(stream, tsa_server, 4)
    stamp(stream, tsa_server, 8)
    key = SIGNER.public_key_text()
    args = ["verify", str(stream.root), "--pubkey", key, "--tsa-ca", str(tsa_pki.ca_file)]
    assert main(args) == 0
    table = capsys.readouterr().out
    rows = [line.split() for line in table.splitlines() if "TRUSTED" in line]
    assert [r[0] for r in rows] == ["4", "8"]
    assert all(re.fullmatch(r"[+-]\d\d:\d\d", r[4]) for r in rows)  # local time, with its offset
    assert main([*args, "--json"]) == 0
    stamps = json.loads(capsys.readouterr().out)["streams"][0]["timestamps"]
    assert [(s["size"], s["status"]) for s in stamps] == [(4, TRUSTED), (8, TRUSTED)]
    assert all(s["time"] for s in stamps)


def test_evgw_verify_refuses_an_unreadable_tsa_ca(
    stream: Stream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    assert main(["verify", str(stream.root), "--tsa-ca", str(bad)]) == 2
    assert "no readable PEM certificate" in capsys.readouterr().err
