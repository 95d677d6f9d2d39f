"""The pure readers of untrusted topics and payloads: all or nothing, one declared error."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.desk.ingest.reports import (
    MAX_DETAIL_CHARS,
    MAX_PAYLOAD_BYTES,
    Refused,
    parse_alarms,
    parse_camera_health,
    parse_event,
    parse_health,
    parse_state,
)
from central.desk.ingest.topics import Kind, Topic, parse_topic, subscriptions

from .rig import T0, alarm_set, camera_health, encode, health

PARSERS = [parse_state, parse_health, parse_camera_health, parse_alarms, parse_event]


def test_topics_name_a_gateway_and_a_camera_of_plain_ids() -> None:
    assert parse_topic("evgw", "evgw/gw-1/health") == Topic(Kind.HEALTH, "gw-1")
    assert parse_topic("a/b", "a/b/gw.1/cameras/cam_2/health") == Topic(
        Kind.CAMERA_HEALTH, "gw.1", "cam_2"
    )
    assert parse_topic("evgw", "evgw/gw-1/events") == Topic(Kind.EVENTS, "gw-1")
    for hostile in [
        "evgw/gw 1/health",
        "evgw/gw-1/cameras/cäm/health",
        "evgw/" + "g" * 129 + "/state",
        "evgw/../state",
        "evgw/gw-1/cameras//health",
        "evgw/gw-1/cmd/hold",
        "evgwx/gw-1/state",
        "evgw/gw-1/cameras/c1/health/x",
        "evgw/$SYS/state",
    ]:
        assert parse_topic("evgw", hostile) is None, hostile


def test_a_group_subscribes_shared() -> None:
    assert subscriptions("evgw", "desks")[0] == "$share/desks/evgw/+/state"
    assert subscriptions("evgw", "") == [
        "evgw/+/state",
        "evgw/+/health",
        "evgw/+/cameras/+/health",
        "evgw/+/alarms",
        "evgw/+/events",
    ]


def test_the_readmes_reports_are_read() -> None:
    assert parse_state(b"online") is True and parse_state(b"offline\n") is False
    gateway = parse_health(encode(health(T0)))
    assert gateway.sample["backlog_count"] == 2 and gateway.sample["minutes_left"] == 5120.5
    assert json.loads(gateway.body) == health(T0)
    camera = parse_camera_health(encode(camera_health(T0, "c1", online=False)))
    assert camera.sample == {
        "online": False, "recording": False, "fps": 0.0, "bitrate_bps": 2063081.0,
        "last_frame_age_s": 0.01,
    }  # fmt: skip
    alarms = parse_alarms(encode(alarm_set(T0, ("disk_low", None, T0), ("disk_low", None, T0 + 1))))
    assert [(a.camera, a.alarm, a.since) for a in alarms.active] == [("", "disk_low", T0)]
    event = parse_event(encode({"ts": T0, "kind": "alarm_cleared", "alarm": "disk_low"}))
    assert (event.kind, event.alarm, event.camera) == ("alarm_cleared", "disk_low", "")


HOSTILE = [
    (parse_state, b"ONLINE", "bad_state"),
    (parse_health, b"{", "not_json"),
    (parse_health, b"\xff\xfe", "not_json"),
    (parse_health, b"[1,2]", "wrong_type"),
    (parse_health, b"{}", "wrong_type"),
    (parse_health, b'{"ts":"now"}', "wrong_type"),
    (parse_health, b'{"ts":NaN}', "not_json"),
    (parse_health, b'{"ts":1e400}', "wrong_type"),
    (parse_health, b'{"ts":1,"upload":{"backlog_count":"2"}}', "wrong_type"),
    (parse_health, b'{"ts":1,"upload":{"backlog_count":2.5}}', "wrong_type"),
    (parse_health, b'{"ts":1,"upload":{"backlog_count":99999999999999999999}}', "wrong_type"),
    (parse_health, b'{"ts":1,"disk":[]}', "wrong_type"),
    (parse_health, b"[" * 100_000 + b"]" * 100_000, "too_large"),
    (parse_health, b"[" * 30_000 + b"]" * 30_000, "not_json"),
    (parse_camera_health, b'{"ts":1,"online":"yes"}', "wrong_type"),
    (parse_camera_health, b'{"ts":1,"fps":true}', "wrong_type"),
    (parse_alarms, b'{"ts":1,"active":{}}', "wrong_type"),
    (parse_alarms, b'{"ts":1,"active":[{"alarm":"x","since":1,"camera":"a b"}]}', "wrong_type"),
    (parse_alarms, b'{"ts":1,"active":[{"alarm":"DROP TABLE","since":1}]}', "wrong_type"),
    (parse_alarms, b'{"ts":1,"active":[{"alarm":"x"}]}', "wrong_type"),
    (parse_alarms, b'{"ts":1,"active":[{"alarm":"x","since":1,"detail":"\\u0000"}]}', "bad_text"),
    (parse_alarms, b'{"ts":1,"active":[{"alarm":"x","since":1,"detail":"\\ud800"}]}', "bad_text"),
    (parse_alarms, json.dumps({"ts": 1, "active": [{}] * 1001}).encode(), "wrong_type"),
    (parse_event, b'{"ts":1}', "wrong_type"),
    (parse_event, b'{"ts":1,"kind":"alarm_raised","alarm":7}', "wrong_type"),
    (parse_event, b'{"ts":1,"kind":"gap_open","camera":["c1"]}', "wrong_type"),
]


@pytest.mark.parametrize(("parse", "payload", "reason"), HOSTILE)
def test_a_hostile_payload_is_refused_with_its_reason(
    parse: object, payload: bytes, reason: str
) -> None:
    assert callable(parse)
    with pytest.raises(Refused) as refused:
        parse(payload)
    assert refused.value.reason == reason


def test_a_long_detail_is_cut_and_a_payload_over_the_cap_refused() -> None:
    long = {"ts": T0, "kind": "upload_error", "detail": "x" * 5000}
    assert len(parse_event(encode(long)).detail) == MAX_DETAIL_CHARS
    padded = {"ts": T0, "kind": "upload_error", "pad": "x" * MAX_PAYLOAD_BYTES}
    with pytest.raises(Refused, match="too_large"):
        parse_event(encode(padded))


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_are_read_or_refused_never_raise_otherwise(payload: bytes) -> None:
    for parse in PARSERS:
        with contextlib.suppress(Refused):
            parse(payload)


JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
KEYS = st.sampled_from(["ts", "active", "alarm", "since", "camera", "kind", "detail", "upload"])


@given(st.dictionaries(KEYS, JSON, max_size=6))
def test_json_of_any_shape_is_read_or_refused_never_raise_otherwise(obj: dict[str, object]) -> None:
    payload = json.dumps(obj).encode()
    for parse in PARSERS:
        with contextlib.suppress(Refused):
            parse(payload)
