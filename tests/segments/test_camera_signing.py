"""Passthrough keeps a signing camera's Media Signing SEIs and records that the camera signed."""

import hashlib
import io
import time
from pathlib import Path

import av
import pytest
from hypothesis import given
from hypothesis import strategies as st

from segments.camera_signing import CERT_SHA256, SIGNED, SigningClaim, check_extra, summary_lines
from segments.recorder import BURN_IN, PASSTHROUGH
from testbeds.signed_stream import (
    FAKE_CHAIN,
    H264,
    H265,
    Syntax,
    signed_stream,
    signing_nals,
    write_ts,
)
from tests.segments.recorder_rig import feed_all, make_rig

CHAIN_SHA256 = hashlib.sha256(FAKE_CHAIN).hexdigest()


def recorded_seis(rig, record, codec: str) -> list[bytes]:
    with av.open(io.BytesIO(rig.plaintext(record)), "r") as c:
        packets = [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]
    return [nal for p in packets for nal in signing_nals(p, True, codec)]


@pytest.mark.parametrize("syntax", [H264, H265], ids=["h264", "hevc"])
def test_passthrough_keeps_signing_seis_byte_identical_in_order_and_records_them(
    tmp_path: Path, syntax: Syntax
) -> None:
    stream = signed_stream(seconds=4, syntax=syntax)
    rig = make_rig(tmp_path, PASSTHROUGH)
    feed_all(rig, write_ts(stream, tmp_path / "signed.ts"))
    rig.recorder.close(time.time())
    segs = rig.records("segment")
    assert len(segs) >= 3
    recorded = [nal for r in segs for nal in recorded_seis(rig, r, syntax.codec)]
    # the first access unit (certificate SEI, then a signing SEI) is kept too; the SEIs carry
    # emulation prevention bytes, which stay as the camera wrote them
    assert recorded == list(stream.seis)
    assert any(b"\x00\x00\x03" in nal for nal in recorded)
    assert segs[0].extra == {SIGNED: True, CERT_SHA256: CHAIN_SHA256}
    assert [r.extra for r in segs[1:]] == [{SIGNED: True}] * (len(segs) - 1)


def test_a_camera_that_stops_signing_gives_unsigned_segments(tmp_path: Path) -> None:
    stream = signed_stream(seconds=4, unsigned_from=2.0)
    rig = make_rig(tmp_path, PASSTHROUGH)
    feed_all(rig, write_ts(stream, tmp_path / "lapsing.ts"))
    rig.recorder.close(time.time())
    claims = [r.extra[SIGNED] for r in rig.records("segment")]
    assert claims[0] is True and claims[-1] is False
    assert claims == sorted(claims, reverse=True), "signed, then unsigned"


def test_burn_in_records_no_signing_claim(tmp_path: Path) -> None:
    stream = signed_stream(seconds=2)
    rig = make_rig(tmp_path, BURN_IN)
    feed_all(rig, write_ts(stream, tmp_path / "signed.ts"))
    rig.recorder.close(time.time())
    segs = rig.records("segment")
    assert segs and all(SIGNED not in r.extra for r in segs), "re-encoded: not applicable"


@pytest.mark.parametrize(
    ("extra", "wrong"),
    [
        ({}, False),
        ({SIGNED: False}, False),
        ({SIGNED: True, CERT_SHA256: "a" * 64}, False),
        ({SIGNED: "yes"}, True),
        ({SIGNED: 1}, True),
        ({SIGNED: True, CERT_SHA256: "A" * 64}, True),
        ({SIGNED: True, CERT_SHA256: "a" * 65}, True),
        ({SIGNED: False, CERT_SHA256: "a" * 64}, True),
        ({CERT_SHA256: "a" * 64}, True),
        ({SIGNED: True, "note": "x" * 1000}, True),
    ],
)
def test_a_segment_extra_holds_only_a_typed_signing_claim(extra: dict, wrong: bool) -> None:
    assert (check_extra(extra) is not None) is wrong


def test_the_summary_groups_runs_and_says_it_is_not_verified() -> None:
    claims = [
        (3, SigningClaim(True, "c" * 64)),
        (4, SigningClaim(True)),
        (6, SigningClaim(False)),
        (7, SigningClaim(True)),
    ]
    lines = summary_lines(claims)
    assert "does not verify the camera's signature" in lines[0]
    assert lines[1:] == [
        f"  segments seq 3..4: signed by the camera; certificate chain sha256 {'c' * 64}",
        "  segment seq 6: NOT signed by the camera",
        "  segment seq 7: signed by the camera",
    ]
    assert summary_lines([]) == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@given(st.dictionaries(st.sampled_from([SIGNED, CERT_SHA256, "other"]), JSON))
def test_any_extra_is_read_or_refused_without_raising(extra: dict) -> None:
    claim = SigningClaim.from_extra(extra)
    if check_extra(extra) is None and extra:
        assert claim is not None and claim.to_extra() == extra
