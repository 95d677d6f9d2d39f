"""ONVIF event notifications read into our terms: which kind, which state, from where, when.

`classify` maps a notification topic to one of our kinds (`tamper`, `motion`, `input`,
`other`); `notification_from_reply` turns one PullMessages NotificationMessage, as zeep built
it from camera-controlled XML (a typed object, or a raw element when zeep did not know the
message's schema), into a bounded `Notification`, or raises `OnvifReplyError`. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import MalformedMessageError, OnvifReplyError
from .safe_xml import child, local, parse_xml

TAMPER, MOTION, INPUT, OTHER = "tamper", "motion", "input", "other"
MAX_TOPIC = 256
MAX_ITEMS = 8  # SimpleItems kept per Source and per Data
MAX_NAME = 64
MAX_VALUE = 128
MAX_MESSAGE_XML = 16 * 1024
STATE_ITEMS = ("State", "IsMotion", "IsTamper", "LogicalState", "IsInside", "Value")
"""The Data items that carry a notification's on/off state, by preference."""

_TAMPER_TAILS = frozenset(
    {"GlobalSceneChange", "ImageTooDark", "ImageTooBlurry", "ImageTooBright", "SignalLoss"}
)
_TAMPER_WORDS = re.compile(r"tamper|defocus|scenechange|blocked|covered|masked", re.IGNORECASE)
_MOTION_WORDS = re.compile(r"motion", re.IGNORECASE)
_TRUE = frozenset({"true", "1", "active", "on"})
_FALSE = frozenset({"false", "0", "inactive", "off"})


@dataclass(frozen=True)
class Notification:
    """One camera notification: topic as sent (bounded), our kind, its state if it has one."""

    topic: str
    kind: str
    state: bool | None
    source: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]
    camera_time: dt.datetime | None  # the message's UtcTime, by the camera's clock
    operation: str  # Initialized, Changed or Deleted (ONVIF property events)


def topic_parts(topic: str) -> list[str]:
    """``tns1:VideoSource/GlobalSceneChange/ImagingService`` → its parts without prefixes."""
    return [p.rsplit(":", 1)[-1] for p in topic.strip().split("/") if p.strip()]


def classify(topic: str) -> str:
    """Our kind for an ONVIF topic (standard `tns1:` topics and common vendors' tamper topics).

    tamper: VideoSource/GlobalSceneChange/…, VideoSource/ImageTooDark|Blurry|Bright,
    VideoSource/SignalLoss, and any topic naming tampering, defocus, a scene change or a
    covered lens (RuleEngine/TamperDetector/Tamper, tnsaxis:VideoSource/Tampering, …);
    motion: VideoSource/MotionAlarm, RuleEngine/CellMotionDetector/Motion and other motion
    rules; input: Device/Trigger/DigitalInput; anything else is `other`.
    """
    parts = topic_parts(topic)
    if not parts:
        return OTHER
    lowered = [p.lower() for p in parts]
    if parts[0] == "VideoSource" and parts[1:2] and parts[1] in _TAMPER_TAILS:
        return TAMPER
    if any(_TAMPER_WORDS.search(p) for p in parts):
        return TAMPER
    if lowered[:3] == ["device", "trigger", "digitalinput"]:
        return INPUT
    if parts[0] in ("VideoSource", "RuleEngine", "VideoAnalytics") and any(
        _MOTION_WORDS.search(p) for p in parts[1:]
    ):
        return MOTION
    return OTHER


def parse_bool(value: str) -> bool | None:
    word = value.strip().lower()
    return True if word in _TRUE else False if word in _FALSE else None


def state_of(data: Iterable[tuple[str, str]]) -> bool | None:
    """The on/off state the Data items carry (State, IsMotion, LogicalState, …), else None."""
    items = dict(data)
    for name in STATE_ITEMS:
        if name in items:
            return parse_bool(items[name])
    return None


def notification_from_reply(message: Any) -> Notification:
    """One zeep NotificationMessage → `Notification`; `OnvifReplyError` if it has no topic."""
    topic = _topic_text(getattr(message, "Topic", None))
    if not topic:
        raise OnvifReplyError("notification without a topic")
    body = getattr(message, "Message", None)
    inner = getattr(body, "_value_1", body)
    if _is_element(inner):
        source, data, when, operation = _from_element(inner)
    else:
        source = _items(getattr(inner, "Source", None))
        data = _items(getattr(inner, "Data", None))
        when = camera_time(getattr(inner, "UtcTime", None))
        operation = _short(getattr(inner, "PropertyOperation", None)) or "Changed"
    return Notification(topic, classify(topic), state_of(data), source, data, when, operation)


def camera_time(value: object) -> dt.datetime | None:
    """A UtcTime (zeep's datetime or ISO text) in UTC; None when absent or not a time."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip()[:40].replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    try:
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None


def _topic_text(topic: object) -> str:
    value = getattr(topic, "_value_1", topic)
    if not isinstance(value, str):
        return ""
    text = value.strip()
    return text if 0 < len(text) <= MAX_TOPIC and text.isprintable() else ""


def _short(value: object, limit: int = MAX_NAME) -> str:
    return value.strip()[:limit] if isinstance(value, str) and value.isprintable() else ""


def _items(holder: object) -> tuple[tuple[str, str], ...]:
    """SimpleItems of a zeep ItemList: (Name, Value) text pairs, bounded; others skipped."""
    raw = getattr(holder, "SimpleItem", None)
    if not isinstance(raw, list):
        return ()
    found = []
    for item in raw[:MAX_ITEMS]:
        name, value = getattr(item, "Name", None), getattr(item, "Value", None)
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int):
            value = str(value)
        if _short(name) and isinstance(value, str):
            found.append((_short(name), _short(value, MAX_VALUE)))
    return tuple(found)


def _is_element(value: object) -> bool:
    return hasattr(value, "tag") and hasattr(value, "attrib")


def _from_element(
    element: Any,
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], dt.datetime | None, str]:
    """A tt:Message zeep left as a raw element: re-read through `safe_xml`, bounded."""
    from lxml import etree

    try:
        raw = etree.tostring(element)
        message = parse_xml(raw, MAX_MESSAGE_XML)
    except (MalformedMessageError, TypeError, ValueError) as e:
        raise OnvifReplyError(f"unreadable notification message: {e}") from e
    nested = child(message, "Message") if local(message.tag) != "Message" else None
    message = message if nested is None else nested

    def items(name: str) -> tuple[tuple[str, str], ...]:
        holder = child(message, name)
        if holder is None:
            return ()
        pairs = [
            (_short(i.get("Name")), _short(i.get("Value"), MAX_VALUE))
            for i in holder
            if local(i.tag) == "SimpleItem"
        ][:MAX_ITEMS]
        return tuple((n, v) for n, v in pairs if n)

    when = camera_time(message.get("UtcTime"))
    operation = _short(message.get("PropertyOperation")) or "Changed"
    return items("Source"), items("Data"), when, operation
