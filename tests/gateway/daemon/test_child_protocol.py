"""The pipe between a camera process and the daemon: every message round-trips, and whatever a
compromised child writes, the daemon's parser answers with `MessageError` only."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameras.health import CameraHealth
from gateway.daemon.child_protocol import (
    MAX_MESSAGE,
    Announced,
    Append,
    Checkpoint,
    DiskFull,
    FromChild,
    Frozen,
    GapOpened,
    Health,
    MessageError,
    Reply,
    Seal,
    Stop,
    ToChild,
    encode,
    from_child,
    to_child,
)
from segments.records import ClockStatus, MediaFacts, StreamIdentity

IDENTITY = StreamIdentity("gw", "测试检查站", "一号卡口", "gate-1", "一号", "boot-1")
CLOCK = ClockStatus(True, 0.001, "kernel")
DRAFT = IDENTITY.draft(
    kind="segment",
    start=1_800_000_000.0,
    end=1_800_000_060.0,
    clock=CLOCK,
    media=MediaFacts("h264", 640, 360, 1500, 60.0),
    size_cipher=123,
    sha256_cipher="ab" * 32,
)
HEALTH = CameraHealth("gate-1", True, 250, 25.0, 1.5e6, 0.04, 2, None)

CHILD_MESSAGES: list[FromChild] = [
    Health(HEALTH, "SN-1", -0.25),
    Health(CameraHealth("gate-1", False, 0, 0.0, 0.0, None, 0, "rtsp_timeout"), None, None),
    GapOpened("rtsp_timeout"),
    Frozen(True),
    Append(1, IDENTITY.draft(kind="gap", start=1.0, end=2.0, clock=CLOCK, reason="startup")),
    Seal(2, DRAFT, 1_800_000_000.0),
    Checkpoint(3),
    Health(CameraHealth("gate-1", True, 9, 25.0, 1e6, 0.04, 0, None, scene_still=True), None, None),
]
PARENT_MESSAGES: list[ToChild] = [
    Reply(1, record=DRAFT),
    Reply(2, error="refused: no"),
    Stop(),
    DiskFull(False),
    Announced(
        "Hello", "urn:uuid:6f1c0000-0000-4000-8000-000000000001", ("http://192.0.2.7/onvif",)
    ),
    Announced("Bye", "urn:uuid:6f1c0000-0000-4000-8000-000000000001", ()),
]


@pytest.mark.parametrize("message", CHILD_MESSAGES, ids=lambda m: type(m).__name__)
def test_child_messages_round_trip(message: Any) -> None:
    assert from_child(encode(message)) == message


@pytest.mark.parametrize("message", PARENT_MESSAGES, ids=lambda m: type(m).__name__)
def test_daemon_messages_round_trip(message: Any) -> None:
    assert to_child(encode(message)) == message


def test_a_child_cannot_send_the_daemon_s_messages_nor_the_daemon_the_child_s() -> None:
    for ours in PARENT_MESSAGES:
        with pytest.raises(MessageError):
            from_child(encode(ours))
    for theirs in CHILD_MESSAGES:
        with pytest.raises(MessageError):
            to_child(encode(theirs))


def body(message: Any) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(encode(message))
    return obj


HOSTILE = [
    b"",
    b"\x80\x04\x95 pickle",  # a pickle is not JSON: never unpickled
    b'{"t": "health"}',
    b'{"t": "append", "id": "\xc2\xb2", "draft": "{}"}',  # a Unicode digit is not an id
    b'{"t": "append", "id": 1.0, "draft": "{}"}',
    b'{"t": "append", "id": -1, "draft": "{}"}',
    b'{"t": "append", "id": 9007199254740993, "draft": "{}"}',
    b'{"t": "seal", "id": 1, "draft": "{}", "start_wall": NaN}',
    b'{"t": "seal", "id": 1, "draft": "{}", "start_wall": Infinity}',
    b'{"t": "frozen", "frozen": 1}',
    b'{"t": "gap", "reason": "rtsp_timeout\\u001b[31m"}',
    b'{"t": "gap", "reason": "' + b"a" * 65 + b'"}',
    b'{"t": "checkpoint", "id": true}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"t": "frozen", "frozen": true, "pad": "' + b"x" * MAX_MESSAGE + b'"}',
    json.dumps({"t": "health", **{k: v for k, v in body(CHILD_MESSAGES[0]).items() if k != "t"},
                "health": {**body(CHILD_MESSAGES[0])["health"], "fps": "25"}}).encode(),
    json.dumps({**body(CHILD_MESSAGES[0]),
                "health": {**body(CHILD_MESSAGES[0])["health"], "extra": 1}}).encode(),
    json.dumps({**body(CHILD_MESSAGES[0]), "serial": "S" * 5000}).encode(),
    json.dumps({**body(CHILD_MESSAGES[5]), "draft": json.dumps({"kind": "segment"})}).encode(),
    json.dumps({**body(CHILD_MESSAGES[5]), "draft": {"kind": "segment"}}).encode(),
    json.dumps({**body(CHILD_MESSAGES[5]), "start_wall": 1e300}).encode(),
    encode(CHILD_MESSAGES[5])[:-7],  # truncated
    json.dumps({**body(CHILD_MESSAGES[0]),
                "health": {**body(CHILD_MESSAGES[0])["health"], "scene_still": 1}}).encode(),
]  # fmt: skip


@pytest.mark.parametrize("data", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_bytes_from_a_child_are_refused(data: bytes) -> None:
    with pytest.raises(MessageError):
        from_child(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
tags = st.sampled_from(["health", "gap", "frozen", "append", "seal", "checkpoint", "reply"])


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_message_error(data: bytes) -> None:
    with contextlib.suppress(MessageError):
        from_child(data)


@settings(max_examples=500, deadline=None)
@given(tags, st.dictionaries(st.sampled_from(
    ["id", "draft", "record", "start_wall", "reason", "frozen", "health", "serial",
     "clock_offset_s", "on", "error"]), json_values))  # fmt: skip
def test_well_formed_envelopes_with_any_fields_only_raise_message_error(
    tag: str, fields: dict[str, Any]
) -> None:
    data = json.dumps({"t": tag, **fields}).encode()
    with contextlib.suppress(MessageError):
        from_child(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CHILD_MESSAGES), st.data())
def test_any_cut_or_doubled_message_only_raises_message_error(message: Any, data: Any) -> None:
    raw = encode(message)
    cut = data.draw(st.integers(0, len(raw)))
    for mangled in (raw[:cut], raw[:cut] + raw, raw.replace(b", ", b", " + raw[1:-1] + b", ", 1)):
        with contextlib.suppress(MessageError):
            from_child(mangled)


ANNOUNCED = body(PARENT_MESSAGES[-2])
HOSTILE_ANNOUNCEMENTS = [
    {**ANNOUNCED, "kind": "Probe"},
    {**ANNOUNCED, "endpoint": ""},
    {**ANNOUNCED, "endpoint": "u" * 1025},
    {**ANNOUNCED, "endpoint": 7},
    {**ANNOUNCED, "xaddrs": "http://192.0.2.7/onvif"},
    {**ANNOUNCED, "xaddrs": ["http://192.0.2.7/onvif"] * 9},
    {**ANNOUNCED, "xaddrs": ["file:///etc/passwd"]},
    {**ANNOUNCED, "xaddrs": ["http://" + "h" * 2048]},
    {k: v for k, v in ANNOUNCED.items() if k != "xaddrs"},
]


@pytest.mark.parametrize("obj", HOSTILE_ANNOUNCEMENTS, ids=range(len(HOSTILE_ANNOUNCEMENTS)))
def test_a_camera_process_refuses_announcements_out_of_bounds(obj: dict[str, Any]) -> None:
    with pytest.raises(MessageError):
        to_child(json.dumps(obj).encode())
