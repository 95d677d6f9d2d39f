"""`evgw verify` and the export report show the camera's signing claim, as a claim."""

from __future__ import annotations

import json
from pathlib import Path

from segments.camera_signing import CERT_SHA256, SIGNED
from segments.package_report import render_report
from segments.verify import DirMediaSource, verify
from segments.verify.render import render
from segments.verify.report import SeqFinding
from tests.segments.sealed_stream import Stream
from tests.segments.test_verify import TRUSTED

CERT = "cd" * 32
NOT_OURS = "evgw does not verify the camera's signature"


def test_verify_shows_per_segment_whether_the_camera_signed(tmp_path: Path) -> None:
    s = Stream(tmp_path / "data")
    s.start()
    s.segment(extra={SIGNED: True, CERT_SHA256: CERT})
    s.segment(extra={SIGNED: True})
    s.segment(extra={SIGNED: False})
    s.segment()  # burn-in: no claim
    s.segment(extra={SIGNED: "yes"})  # not evgw's: shown as no claim, not guessed
    s.ledger.checkpoint()
    report = verify([("cam1", DirMediaSource(s.root))], trust=TRUSTED)
    assert str(report.verdict) == "AUTHENTIC", "the claim never changes the verdict"
    claims = {f.seq: (f.camera_signed, f.camera_cert_sha256) for f in report.streams[0].findings}
    assert claims == {
        0: (None, None),
        1: (None, None),
        2: (True, CERT),
        3: (True, None),
        4: (False, None),
        5: (None, None),
        6: (None, None),
    }
    rows = json.loads(report.to_json())["streams"][0]["findings"]
    assert rows[2]["camera_signed"] is True and rows[2]["camera_cert_sha256"] == CERT
    text = render(report)
    assert NOT_OURS in text
    assert f"segments seq 2..3: signed by the camera; certificate chain sha256 {CERT}" in text
    assert "segment seq 4: NOT signed by the camera" in text


def test_verify_of_a_burn_in_stream_says_nothing_of_camera_signatures(tmp_path: Path) -> None:
    s = Stream(tmp_path / "data")
    s.start()
    s.segment()
    report = verify([("cam1", DirMediaSource(s.root))], trust=TRUSTED)
    assert "camera signatures" not in render(report)
    assert SeqFinding(1, "OK", "", None, None, None, None).camera_signed is None


def test_the_export_report_lists_the_claims(tmp_path: Path) -> None:
    segment = {"start": "2026-11-27T06:00:00+00:00", "verdict": "OK", "sha256_cipher": "00"}
    report = {
        "case": "C-1", "camera": "cam1", "camera_name": "Gate", "site": "s", "location": "l",
        "gateway": "gw1", "from": "a", "to": "b", "created": "c", "operator": "o", "tool": "t",
        "key": {"fingerprint": "f", "public_key": "p"},
        "checkpoint": {"size": 9, "root": "r", "time": "t"},
        "segments": [
            {**segment, "seq": 2, SIGNED: True, CERT_SHA256: CERT},
            {**segment, "seq": 3, SIGNED: False, CERT_SHA256: None},
        ],
        "gaps": [], "issues": [],
        "derived": {"file": "d.mp4", "first_keyframe": "k", "end": "e", "sha256": "h"},
        "inclusion_proofs": [{"seq": 2}, {"seq": 3}], "verdict": "AUTHENTIC",
    }  # fmt: skip
    text = render_report(report)
    assert NOT_OURS in text
    assert f"segment seq 2: signed by the camera; certificate chain sha256 {CERT}" in text
    assert "segment seq 3: NOT signed by the camera" in text
