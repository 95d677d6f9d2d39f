"""One message as paho delivered it → a checked `Item`, or why it is refused (pure)."""

from __future__ import annotations

from collections.abc import Callable

from .inbox import Incoming
from .reports import (
    Refused,
    parse_alarms,
    parse_camera_health,
    parse_event,
    parse_health,
    parse_state,
)
from .store import Item, Report
from .topics import Kind, parse_topic

PARSERS: dict[Kind, Callable[[bytes], Report]] = {
    Kind.STATE: parse_state,
    Kind.HEALTH: parse_health,
    Kind.CAMERA_HEALTH: parse_camera_health,
    Kind.ALARMS: parse_alarms,
    Kind.EVENTS: parse_event,
}


def read(root: str, incoming: Incoming) -> Item | tuple[str, str]:
    """The item, or (reason, detail) for the counters and the log."""
    message = incoming.message
    try:
        name = message.topic
    except UnicodeDecodeError:
        return "bad_topic", f"a topic that is not UTF-8: {message._topic[:80]!r}"
    topic = parse_topic(root, name)
    if topic is None:
        return "bad_topic", f"{name[:120]!r}: an id of letters, digits and _.- expected"
    payload = bytes(message.payload)
    if not payload:
        return "empty", f"{name}: an empty (cleared) retained value"
    try:
        report = PARSERS[topic.kind](payload)
    except Refused as e:
        return e.reason, f"{name}: {e}"
    return Item(topic, report, bool(message.retain), incoming.received_at)
