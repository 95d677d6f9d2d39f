"""Topic mapping and notification reading: standard and vendor topics, hostile zeep objects."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace as NS
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from cameras.errors import OnvifReplyError
from cameras.event_topics import (
    MAX_ITEMS,
    MAX_TOPIC,
    MAX_VALUE,
    Notification,
    classify,
    notification_from_reply,
    state_of,
)


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("tns1:VideoSource/GlobalSceneChange/ImagingService", "tamper"),
        ("tns1:VideoSource/GlobalSceneChange/AnalyticsService", "tamper"),
        ("tns1:VideoSource/ImageTooDark/ImagingService", "tamper"),
        ("tns1:VideoSource/ImageTooBlurry/AnalyticsService", "tamper"),
        ("tns1:VideoSource/ImageTooBright/ImagingService", "tamper"),
        ("tns1:VideoSource/SignalLoss", "tamper"),
        ("tns1:RuleEngine/TamperDetector/Tamper", "tamper"),
        ("tnsaxis:VideoSource/Tampering", "tamper"),
        ("tns1:RuleEngine/Defocus/Defocus", "tamper"),
        ("tns1:VideoSource/MotionAlarm", "motion"),
        ("tns1:RuleEngine/CellMotionDetector/Motion", "motion"),
        ("tns1:RuleEngine/MotionRegionDetector/Motion", "motion"),
        ("tns1:Device/Trigger/DigitalInput", "input"),
        ("tt:Device/Trigger/DigitalInput", "input"),
        ("tns1:Device/Trigger/Relay", "other"),
        ("tns1:Monitoring/ProcessorUsage", "other"),
        ("tns1:Device/HardwareFailure/StorageFailure", "other"),
        ("", "other"),
        ("///", "other"),
    ],
)
def test_classify(topic: str, kind: str) -> None:
    assert classify(topic) == kind


@pytest.mark.parametrize(
    ("data", "state"),
    [
        ((("State", "true"),), True),
        ((("IsMotion", "false"),), False),
        ((("LogicalState", "1"),), True),
        ((("IsTamper", "0"),), False),
        ((("State", "maybe"),), None),
        ((("Other", "true"),), None),
        ((), None),
    ],
)
def test_state_of(data: tuple[tuple[str, str], ...], state: bool | None) -> None:
    assert state_of(data) is state


def _items(**kw: Any) -> NS:
    return NS(SimpleItem=[NS(Name=k, Value=v) for k, v in kw.items()])


def _message(topic: Any, inner: Any) -> NS:
    return NS(Topic=NS(_value_1=topic), Message=NS(_value_1=inner))


def test_a_zeep_message_is_read() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    inner = NS(Source=_items(Source="vs0"), Data=_items(State="true"), UtcTime=when,
               PropertyOperation="Initialized")  # fmt: skip
    n = notification_from_reply(_message("tns1:VideoSource/ImageTooDark/ImagingService", inner))
    assert n == Notification(
        "tns1:VideoSource/ImageTooDark/ImagingService", "tamper", True, (("Source", "vs0"),),
        (("State", "true"),), when, "Initialized",
    )  # fmt: skip


def test_a_raw_element_message_is_read_through_safe_xml() -> None:
    raw = etree.fromstring(
        '<tt:Message xmlns:tt="http://www.onvif.org/ver10/schema" UtcTime="2026-01-02T03:04:05Z">'
        '<tt:Source><tt:SimpleItem Name="InputToken" Value="DI1"/></tt:Source>'
        '<tt:Data><tt:SimpleItem Name="LogicalState" Value="true"/></tt:Data></tt:Message>'
    )
    n = notification_from_reply(_message("tns1:Device/Trigger/DigitalInput", raw))
    assert (n.kind, n.state, n.source) == ("input", True, (("InputToken", "DI1"),))
    assert n.camera_time == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_hostile_fields_are_bounded_or_dropped() -> None:
    inner = NS(
        Source=NS(SimpleItem=[NS(Name=f"n{i}", Value="v" * 10_000) for i in range(1000)]),
        Data=NS(SimpleItem=[NS(Name=None, Value=3), NS(Name="State", Value=True), "junk"]),
        UtcTime="yesterday",
        PropertyOperation=["Changed"],
    )
    n = notification_from_reply(_message("tns1:VideoSource/MotionAlarm", inner))
    assert len(n.source) == MAX_ITEMS and all(len(v) == MAX_VALUE for _, v in n.source)
    assert n.data == (("State", "true"),) and n.state is True
    assert n.camera_time is None and n.operation == "Changed"


@pytest.mark.parametrize("topic", [None, "", "x" * (MAX_TOPIC + 1), 42, "a\x00b", ["t"]])
def test_a_notification_without_a_usable_topic_is_refused(topic: Any) -> None:
    with pytest.raises(OnvifReplyError):
        notification_from_reply(_message(topic, NS()))


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300)
zeepish = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.builds(
            NS,
            _value_1=inner,
            Topic=inner,
            Message=inner,
            Source=inner,
            Data=inner,
            SimpleItem=inner,
            Name=inner,
            Value=inner,
            UtcTime=inner | st.datetimes(),
            PropertyOperation=inner,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=120, deadline=None)
@given(message=zeepish)
def test_fuzz_only_the_declared_error_escapes(message: Any) -> None:
    try:
        n = notification_from_reply(message)
    except OnvifReplyError:
        return
    assert 0 < len(n.topic) <= MAX_TOPIC and n.kind in ("tamper", "motion", "input", "other")
    assert len(n.source) <= MAX_ITEMS and len(n.data) <= MAX_ITEMS
    assert all(isinstance(v, str) and len(v) <= MAX_VALUE for _, v in n.source + n.data)
