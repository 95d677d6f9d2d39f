"""The Media Signing SEI detector reads hostile bytes: bounded, never raising, never fooled."""

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from segments.camera_signing import SegmentSigning, SigningClaim
from segments.signing_sei import (
    MAX_NALS,
    MAX_SEI_BYTES,
    MAX_SEIS,
    MEDIA_SIGNING_UUID,
    h264_sei_prefix,
    nal_units,
    scan,
)
from testbeds.signed_stream import (
    CERTIFICATES_TAG,
    FAKE_CHAIN,
    START_CODE,
    certificate_sei,
    document_sei,
    escape,
    signing_sei,
    tlv,
)

CHAIN_SHA256 = hashlib.sha256(FAKE_CHAIN).hexdigest()
SLICE = b"\x65\x88\x84\x00\x33\xff"


def annex_b(*nals: bytes) -> bytes:
    return b"".join(START_CODE + nal for nal in nals)


def test_a_packet_without_the_uuid_is_not_parsed() -> None:
    assert scan(annex_b(b"\x06\x05\x10" + b"\x11" * 16 + b"\x80", SLICE), "h264") == ()


def test_certificate_and_document_seis_are_found_in_order() -> None:
    found = scan(annex_b(b"\x09\x10", certificate_sei(), document_sei(7), SLICE), "h264")
    assert [(s.certificate_sei, s.certificate_sha256) for s in found] == [
        (True, CHAIN_SHA256),
        (False, None),
    ]


def test_emulation_prevention_bytes_are_removed_before_the_certificate_is_hashed() -> None:
    chain = b"\x00\x00\x01 fake \x00\x00\x00\x03 chain \x00\x00"
    sei = certificate_sei(chain)
    assert sei.count(b"\x00\x00\x03") == 2 and b"\x00\x00\x01" not in sei
    (found,) = scan(annex_b(sei), "h264")
    assert found.certificate_sha256 == hashlib.sha256(chain).hexdigest()


def test_length_prefixed_packets_as_stored_in_mp4() -> None:
    sei = certificate_sei()
    packet = len(sei).to_bytes(4, "big") + sei + len(SLICE).to_bytes(4, "big") + SLICE
    (found,) = scan(packet, "h264", length_prefixed=True)
    assert found.certificate_sha256 == CHAIN_SHA256


def test_hevc_prefix_and_suffix_seis() -> None:
    for header in (b"\x4e\x01", b"\x50\x01"):  # types 39 and 40
        nal = header + certificate_sei()[1:]
        (found,) = scan(annex_b(nal), "hevc")
        assert found.certificate_sei
    assert scan(annex_b(certificate_sei()), "hevc") == (), "an H.264 header is not HEVC's SEI"


def test_the_uuid_in_a_slice_is_not_a_signature() -> None:
    assert scan(annex_b(b"\x65" + MEDIA_SIGNING_UUID + b"\x80"), "h264") == ()
    assert scan(annex_b(certificate_sei()), "vp8") == ()


def test_another_user_data_message_before_the_signing_one_is_skipped() -> None:
    other = b"\x05\x11" + b"\xaa" * 16 + b"\x01"
    rbsp_signing = certificate_sei()[1:]
    nal = b"\x06" + escape(other) + rbsp_signing
    (found,) = scan(annex_b(nal), "h264")
    assert found.certificate_sha256 == CHAIN_SHA256


def test_truncated_seis_count_what_is_whole_and_never_raise() -> None:
    sei = certificate_sei()
    for cut in range(1, len(sei)):
        found = scan(annex_b(sei[:cut]), "h264")
        assert len(found) <= 1
        if found and found[0].certificate_sha256 is not None:
            assert found[0].certificate_sha256 == CHAIN_SHA256


def test_a_tlv_longer_than_its_sei_gives_no_fingerprint() -> None:
    lying = bytes([CERTIFICATES_TAG]) + b"\xff\xff" + b"\x01\x00" + FAKE_CHAIN
    (found,) = scan(annex_b(signing_sei(lying, certificate=True)), "h264")
    assert found.certificate_sei and found.certificate_sha256 is None


def test_a_huge_payload_size_and_huge_nal_are_bounded() -> None:
    huge_size = b"\x06\x05" + b"\xff" * 5000 + b"\x01" + MEDIA_SIGNING_UUID + b"\x80"
    assert scan(annex_b(huge_size), "h264") == ()
    big = signing_sei(tlv(7, b"\x01" + b"\x42" * 60000) * 5)
    assert len(big) > MAX_SEI_BYTES
    assert scan(annex_b(big), "h264") == ()


def test_at_most_max_seis_per_packet() -> None:
    assert len(scan(annex_b(*[document_sei(i) for i in range(MAX_SEIS * 3)]), "h264")) == MAX_SEIS


def test_length_prefixed_lengths_that_lie_stop_the_walk() -> None:
    assert list(nal_units(b"\x00\x00\x10\x00abc", length_prefixed=True)) == []
    assert list(nal_units(b"\x00\x00\x00\x00abc", length_prefixed=True)) == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["h264", "hevc"]), st.booleans())
def test_any_bytes_around_the_uuid_never_raise(noise: bytes, codec: str, prefixed: bool) -> None:
    cut = len(noise) // 2
    data = noise[:cut] + MEDIA_SIGNING_UUID + noise[cut:]
    for packet in (data, annex_b(b"\x06\x05" + data), annex_b(b"\x4e\x01\x05" + data)):
        found = scan(packet, codec, length_prefixed=prefixed)
        assert len(found) <= MAX_SEIS
        for sei in found:
            assert sei.certificate_sha256 is None or len(sei.certificate_sha256) == 64


@given(st.binary(max_size=300))
def test_escaping_round_trips_and_leaves_no_start_code(rbsp: bytes) -> None:
    escaped = escape(rbsp)
    assert escaped.replace(b"\x00\x00\x03", b"\x00\x00") == rbsp
    for code in (b"\x00\x00\x00", b"\x00\x00\x01", b"\x00\x00\x02"):
        assert code not in escaped


def test_the_prefix_walk_stops_at_the_first_slice() -> None:
    aud, sps = b"\x09\x10", b"\x67\x42\xc0\x1f\xda"
    with_sei = annex_b(aud, sps, document_sei(1), SLICE, document_sei(2))
    end = h264_sei_prefix(memoryview(with_sei))
    assert with_sei[end:].startswith(b"\x00\x00\x01" + SLICE)
    assert len(scan(with_sei[:end], "h264")) == 1, "an SEI after the slice is not H.264's"
    assert h264_sei_prefix(memoryview(annex_b(aud, sps, SLICE))) == 0, "no SEI: nothing copied"
    assert h264_sei_prefix(memoryview(annex_b(SLICE, document_sei(1)))) == 0
    only_seis = annex_b(aud, certificate_sei())
    assert h264_sei_prefix(memoryview(only_seis)) == len(only_seis)
    assert h264_sei_prefix(memoryview(b"")) == 0


def test_the_prefix_walk_is_bounded_by_max_nals() -> None:
    many = annex_b(*[b"\x06\x05\x00\x80"] * (MAX_NALS + 10), SLICE)
    assert h264_sei_prefix(memoryview(many)) == len(many), "too many to walk: search it all"


def test_a_segment_tally_reads_packets_in_place() -> None:
    tally = SegmentSigning("h264")
    for packet in (annex_b(b"\x09\x10", certificate_sei(), document_sei(1), SLICE), annex_b(SLICE)):
        tally.packet(memoryview(packet))
    assert tally.claim() == SigningClaim(True, CHAIN_SHA256)
    hevc = SegmentSigning("hevc")
    hevc.packet(memoryview(annex_b(b"\x26\x01\xaf", b"\x50\x01" + document_sei(1)[1:])))
    assert hevc.claim() == SigningClaim(True, None), "HEVC suffix SEIs after the slices count"
    assert SegmentSigning("h264").claim() == SigningClaim(False, None)
