"""Ledger records: canonical JSON, round trips, validation, and fuzzed parsing."""

import json
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segments.errors import CryptoFormatError
from segments.records import (
    GENESIS_PREV,
    KINDS,
    ClockStatus,
    MediaFacts,
    Record,
    canonical_json,
)

BASE: dict[str, Any] = {
    "stream": "gate-1",
    "seq": 7,
    "kind": "segment",
    "start": "2026-11-27T06:03:00.000000+00:00",
    "end": "2026-11-27T06:04:00.000000+00:00",
    "gateway": "gw-01",
    "site": "某某检查站",
    "location": "一号卡口",
    "camera": "gate-1",
    "camera_name": "一号卡口 入口",
    "boot_id": "boot-1",
}


def _record(**changes: Any) -> Record:
    return Record(**{**BASE, **changes})


def _full() -> Record:
    return _record(
        camera_serial="DS-2CD-123",
        duration_s=60.0,
        file="2026/11/27/00000007_20261127T060300Z.mp4.age",
        media=MediaFacts("h264", 1920, 1080, 1500, 60.0, "aac", 2813),
        size_plain=1234567,
        sha256_plain="ab" * 32,
        size_cipher=1235000,
        sha256_cipher="cd" * 32,
        overlay="{time} {location} {camera}",
        clock=ClockStatus(synced=True, est_error_s=0.0021, source="adjtimex"),
        extra={"z": [1, 2.5, None], "a": {"中": True}},
        prev=GENESIS_PREV,
        alg="ed25519",
        key_id="0123456789abcdef",
        sig="c2ln",
    )


def test_canonical_json_is_sorted_compact_utf8() -> None:
    out = canonical_json({"b": 1, "a": {"y": [1, 2], "x": "中文"}, "c": None})
    assert out == '{"a":{"x":"中文","y":[1,2]},"b":1,"c":null}'.encode()
    assert b" " not in out and b"\\u" not in out


def test_canonical_json_does_not_depend_on_insertion_order() -> None:
    a = {"k": 1, "j": {"q": 2, "p": 3}}
    b = {"j": {"p": 3, "q": 2}, "k": 1}
    assert canonical_json(a) == canonical_json(b)


def test_to_json_is_canonical_and_stable() -> None:
    r = _full()
    data = r.to_json()
    assert data == canonical_json(json.loads(data))
    assert data == _full().to_json()
    assert Record.from_json(data).to_json() == data
    keys = list(json.loads(data))
    assert keys == sorted(keys)
    assert "某某检查站".encode() in data


@pytest.mark.parametrize("record", [_record(), _full()], ids=["minimal", "full"])
def test_to_json_from_json_round_trip(record: Record) -> None:
    back = Record.from_json(record.to_json())
    assert back == record
    assert back.media == record.media and back.clock == record.clock


def test_round_trip_restores_media_and_clock_as_values() -> None:
    back = Record.from_json(_full().to_json())
    assert isinstance(back.media, MediaFacts) and back.media.audio_packets == 2813
    assert isinstance(back.clock, ClockStatus) and back.clock.est_error_s == 0.0021


def test_signed_part_is_everything_but_sig() -> None:
    r = _full()
    body = json.loads(r.signed_part())
    assert "sig" not in body
    assert body == {k: v for k, v in json.loads(r.to_json()).items() if k != "sig"}
    assert replace(r, sig="other").signed_part() == r.signed_part()
    assert replace(r, seq=8).signed_part() != r.signed_part()


def test_with_chain_sets_chain_fields_and_clears_sig() -> None:
    r = _full().with_chain(9, "ff" * 32, "ed25519", "k1")
    assert (r.seq, r.prev, r.alg, r.key_id, r.sig) == (9, "ff" * 32, "ed25519", "k1", "")
    assert r.media == _full().media


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_accepted(kind: str) -> None:
    assert Record.from_json(_record(kind=kind).to_json()).kind == kind


def _line(**changes: Any) -> bytes:
    obj = {**json.loads(_record().to_json()), **changes}
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (_line(colour="red"), "unknown fields ['colour']"),
        (_line(kind="tampered"), "kind"),
        (_line(kind=None), "kind"),
        (_line(seq=-1), "seq"),
        (_line(seq=1.0), "seq"),
        (_line(seq="3"), "seq"),
        (_line(v=2), "version 2"),
        (_line(v=0), "version 0"),
        (_line(media={"codec": "h264"}), "not a valid ledger record"),
        (_line(media={"codec": "h264", "bogus": 1}), "not a valid ledger record"),
        (_line(clock=[True, 0.1, "x"]), "not a valid ledger record"),
        (b"[1, 2]", "JSON object"),
        (b'{"stream": "x"}', "not a valid ledger record"),
        (b"{not json", "not a valid ledger record"),
        (b"\xff\xfe", "not a valid ledger record"),
        (b"", "not a valid ledger record"),
        (_line(stream=5), "stream must be a string"),
        (_line(start=["2026"]), "start must be a string"),
        (_line(sig=5), "sig must be a string"),
        (_line(duration_s="60"), "duration_s must be a number"),
        (_line(size_cipher=True), "size_cipher must be a number"),
        (_line(extra="x"), "extra must be an object"),
    ],
)
def test_bad_records_raise_crypto_format_error(data: bytes, fragment: str) -> None:
    with pytest.raises(CryptoFormatError, match=None) as info:
        Record.from_json(data)
    assert fragment in str(info.value)


def test_constructor_validates_too() -> None:
    with pytest.raises(CryptoFormatError):
        _record(seq=-5)
    with pytest.raises(CryptoFormatError):
        _record(kind="delete")
    with pytest.raises(CryptoFormatError):
        _record(v=2)


def test_records_are_frozen() -> None:
    with pytest.raises(AttributeError):
        _record().seq = 1  # type: ignore[misc]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_field_names = st.sampled_from([*sorted(asdict(_record())), "colour", "media", "clock"])


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    obj = json.loads(_full().to_json())
    for _ in range(draw(st.integers(1, 3))):
        name = draw(_field_names)
        if draw(st.booleans()):
            obj.pop(name, None)
        else:
            obj[name] = draw(_json)
    return json.dumps(obj).encode()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=64), _json.map(lambda v: json.dumps(v).encode()), _mutated()))
def test_arbitrary_bytes_only_raise_crypto_format_error(data: bytes) -> None:
    try:
        record = Record.from_json(data)
    except CryptoFormatError:
        return
    assert record.kind in KINDS and record.seq >= 0


def test_deeply_nested_input_is_crypto_format_error() -> None:
    with pytest.raises(CryptoFormatError):
        Record.from_json(b"[" * 100_000 + b"]" * 100_000)


def test_a_parsed_record_can_always_be_serialised_again() -> None:
    data = _line(camera_name="\ud800")
    try:
        record = Record.from_json(data)
    except CryptoFormatError:
        return
    record.signed_part()


# --- times as seconds ---


def test_start_ts_and_end_ts_are_seconds_since_the_epoch() -> None:
    record = _record()
    assert record.start_ts == datetime(2026, 11, 27, 6, 3, tzinfo=UTC).timestamp()
    assert record.end_ts == record.start_ts + 60
    assert _record(start="2026-11-27T14:03:00+08:00").start_ts == record.start_ts


def test_absent_times_are_none() -> None:
    assert _record(end=None).end_ts is None
    assert _record(kind="key", start=None, end=None).start_ts is None


@pytest.mark.parametrize("text", ["2026-11-27T06:03:00", "yesterday", "", "2026-13-01T00:00Z"])
def test_unreadable_or_offset_less_times_raise_crypto_format_error(text: str) -> None:
    record = _record(start=text)
    with pytest.raises(CryptoFormatError):
        _ = record.start_ts


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_any_time_text_gives_seconds_or_crypto_format_error(text: str) -> None:
    try:
        seconds = _record(end=text).end_ts
    except CryptoFormatError:
        return
    assert isinstance(seconds, float)
