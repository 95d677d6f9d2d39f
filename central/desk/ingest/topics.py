"""What a topic under ``<topic_root>/`` is: pure, and strict about the ids it names.

A topic level that matched a `+` may hold anything the broker allows (spaces, '$', non-ASCII,
kilobytes); gateways publish ids of letters, digits and ``_.-`` only (`uplink.mqtt` refuses
others), so anything else is refused here, before it can reach a table or a log line whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

MAX_ID_CHARS = 128
_ID = re.compile(rf"[A-Za-z0-9_.-]{{1,{MAX_ID_CHARS}}}")


class Kind(Enum):
    STATE = "state"
    HEALTH = "health"
    CAMERA_HEALTH = "camera_health"
    ALARMS = "alarms"
    EVENTS = "events"


GATEWAY_LEAVES = {kind.value: kind for kind in Kind if kind is not Kind.CAMERA_HEALTH}
RETAINED_PATTERNS = ("+/state", "+/health", "+/cameras/+/health", "+/alarms")
PATTERNS = (*RETAINED_PATTERNS, "+/events")


@dataclass(frozen=True)
class Topic:
    kind: Kind
    gateway: str
    camera: str = ""  # only for CAMERA_HEALTH


def is_id(value: str) -> bool:
    """A gateway or camera id as gateways publish them (and the desk tables can hold)."""
    return bool(_ID.fullmatch(value)) and value not in (".", "..")


def parse_topic(root: str, topic: str) -> Topic | None:
    """The topic's meaning, or None when it is none of ours or names a malformed id."""
    if not topic.startswith(root + "/"):
        return None
    levels = topic[len(root) + 1 :].split("/")
    if not is_id(levels[0]):
        return None
    if len(levels) == 2 and levels[1] in GATEWAY_LEAVES:
        return Topic(GATEWAY_LEAVES[levels[1]], levels[0])
    camera = len(levels) == 4 and levels[1] == "cameras" and levels[3] == "health"
    if camera and is_id(levels[2]):
        return Topic(Kind.CAMERA_HEALTH, levels[0], levels[2])
    return None


def subscriptions(root: str, group: str) -> list[str]:
    """Topic filters for every kind; with a `group`, as an MQTT 5 shared subscription."""
    prefix = f"$share/{group}/" if group else ""
    return [f"{prefix}{root}/{pattern}" for pattern in PATTERNS]


def retained_subscriptions(root: str) -> list[str]:
    """The retained kinds as ordinary filters: a shared subscription is sent no retained value."""
    return [f"{root}/{pattern}" for pattern in RETAINED_PATTERNS]
