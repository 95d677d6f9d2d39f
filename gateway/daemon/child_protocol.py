"""What a camera process and the daemon say to each other, as JSON: the daemon trusts no child.

A camera process parses hostile bytes (FFmpeg). If an exploit ever runs code there, all it can
tell the daemon is one of the few messages below, parsed strictly by `from_child`: never a
pickle (unpickling runs code), every field typed and bounded, a message at most `MAX_MESSAGE`
bytes. The records a child asks the daemon to sign are checked again by `ledger_service`.

    child → daemon                             daemon → child
      health      snapshot, serial, clock         reply      id, signed record or error
      gap         reason (a gap opened)           stop       seal and exit
      frozen      the picture froze / moves       disk_full  pause / resume recording
      event       kind, flat facts (input_rejected, camera_moved, camera_identity_changed,
                  camera_signing_lost, camera_signing_resumed, osd_applied, osd_refused,
                  encoder_fallback)
      append      id, draft record                announced  Hello/Bye the daemon heard:
      seal        id, draft segment, start_wall              kind, endpoint, xaddrs
      checkpoint  id

The job a child starts with (`CameraJob`) is the one thing that crosses as a pickle, from
the daemon to the child, when it starts.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from cameras.health import CameraHealth
from segments.errors import CryptoFormatError
from segments.records import Record

from ..camera_plan import CameraPlan

MAX_MESSAGE = 64 * 1024
MAX_TEXT = 1024
MAX_ID = 2**53
_REASON = re.compile(r"[a-z][a-z0-9_]{0,63}")
T = TypeVar("T")


class MessageError(ValueError):
    """Bytes from the other end that are not one of our messages."""


@dataclass(frozen=True)
class CameraJob:
    """What a camera process is started with: its plan, when its run began, how to log."""

    plan: CameraPlan
    started: float
    log_level: int = logging.INFO


HEALTH_PERIOD_S = 3.0
"""A camera process reports its health on news (`HealthCounter.news`) and at least this often."""


@dataclass(frozen=True)
class Health:
    health: CameraHealth
    serial: str | None
    clock_offset_s: float | None


@dataclass(frozen=True)
class GapOpened:
    reason: str


@dataclass(frozen=True)
class Frozen:
    frozen: bool


@dataclass(frozen=True)
class Event:
    """A camera-side event for central monitoring; only the kinds in `EVENT_KINDS`."""

    kind: str
    facts: Mapping[str, object]  # scalars only: `from_child` refuses anything else


@dataclass(frozen=True)
class Append:
    id: int
    draft: Record


@dataclass(frozen=True)
class Seal:
    id: int
    draft: Record
    start_wall: float


@dataclass(frozen=True)
class Checkpoint:
    id: int


@dataclass(frozen=True)
class Reply:
    id: int
    record: Record | None = None
    error: str | None = None


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class DiskFull:
    on: bool


@dataclass(frozen=True)
class Announced:
    """A WS-Discovery Hello or Bye the daemon's listener heard, passed on to the camera's
    own directory (the child has no listener): a camera's new address is followed at once."""

    kind: str  # "Hello" or "Bye"
    endpoint: str
    xaddrs: tuple[str, ...]


Request = Append | Seal | Checkpoint
FromChild = Health | GapOpened | Frozen | Event | Request
ToChild = Reply | Stop | DiskFull | Announced

_TAGS: dict[type, str] = {
    Health: "health",
    GapOpened: "gap",
    Frozen: "frozen",
    Event: "event",
    Append: "append",
    Seal: "seal",
    Checkpoint: "checkpoint",
    Reply: "reply",
    Stop: "stop",
    DiskFull: "disk_full",
    Announced: "announced",
}
_CHILD_TAGS = {"health", "gap", "frozen", "event", "append", "seal", "checkpoint"}
EVENT_KINDS = frozenset(
    {
        "input_rejected",
        "camera_moved",
        "camera_identity_changed",
        "osd_applied",
        "osd_refused",
        "camera_signing_lost",
        "camera_signing_resumed",
        "encoder_fallback",
    }
)
MAX_FACTS = 16
_PARENT_TAGS = {"reply", "stop", "disk_full", "announced"}
ANNOUNCED_KINDS = ("Hello", "Bye")
MAX_XADDRS = 8
MAX_XADDR = 2048


def encode(message: FromChild | ToChild) -> bytes:
    body: dict[str, Any] = {"t": _TAGS[type(message)]}
    for f in fields(message):
        value = getattr(message, f.name)
        if isinstance(value, Record):
            value = value.to_json().decode()
        elif isinstance(value, CameraHealth):
            value = asdict(value)
        body[f.name] = value
    data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
    if len(data) > MAX_MESSAGE:
        raise MessageError(f"{body['t']} message of {len(data)} bytes exceeds {MAX_MESSAGE}")
    return data


def from_child(data: bytes) -> FromChild:
    """A camera process's message, or `MessageError`; nothing else escapes."""
    obj = _envelope(data, _CHILD_TAGS)
    tag = obj["t"]
    if tag == "health":
        return Health(
            _flat(CameraHealth, _field(obj, "health")),
            _optional_text(obj, "serial"),
            _optional_number(obj, "clock_offset_s"),
        )
    if tag == "gap":
        reason = _field(obj, "reason")
        if not isinstance(reason, str) or not _REASON.fullmatch(reason):
            raise MessageError("gap: reason must be a lower-case word like rtsp_timeout")
        return GapOpened(reason)
    if tag == "frozen":
        return Frozen(_bool(obj, "frozen"))
    if tag == "event":
        return _event(obj)
    if tag == "append":
        return Append(_id(obj), _record(obj, "draft"))
    if tag == "seal":
        start_wall = _optional_number(obj, "start_wall")
        if start_wall is None or not 0 < start_wall < 2**34:
            raise MessageError("seal: start_wall must be a time in seconds since the epoch")
        return Seal(_id(obj), _record(obj, "draft"), start_wall)
    return Checkpoint(_id(obj))


def _event(obj: dict[str, Any]) -> Event:
    kind, facts = _field(obj, "kind"), _field(obj, "facts")
    if kind not in EVENT_KINDS:
        raise MessageError(f"event: kind must be one of {', '.join(sorted(EVENT_KINDS))}")
    if not isinstance(facts, dict) or len(facts) > MAX_FACTS:
        raise MessageError(f"event: facts must be an object of at most {MAX_FACTS} entries")
    scalar = str | int | float | bool | None
    checked = {}
    for name, value in facts.items():
        if not _REASON.fullmatch(name):
            raise MessageError("event: a fact's name must be a lower-case word")
        checked[name] = _scalar(scalar, value, f"event: {name}")
    return Event(kind, checked)


def to_child(data: bytes) -> ToChild:
    """The daemon's message to a camera process."""
    obj = _envelope(data, _PARENT_TAGS)
    tag = obj["t"]
    if tag == "reply":
        record = None if obj.get("record") is None else _record(obj, "record")
        return Reply(_id(obj), record, _optional_text(obj, "error"))
    if tag == "disk_full":
        return DiskFull(_bool(obj, "on"))
    if tag == "announced":
        return _announced(obj)
    return Stop()


def _announced(obj: dict[str, Any]) -> Announced:
    kind, endpoint, xaddrs = _field(obj, "kind"), _field(obj, "endpoint"), _field(obj, "xaddrs")
    if kind not in ANNOUNCED_KINDS:
        raise MessageError("announced: kind must be Hello or Bye")
    if not isinstance(endpoint, str) or not 0 < len(endpoint) <= MAX_TEXT:
        raise MessageError(f"announced: endpoint must be text of 1 to {MAX_TEXT} characters")
    if not isinstance(xaddrs, list) or len(xaddrs) > MAX_XADDRS:
        raise MessageError(f"announced: xaddrs must be a list of at most {MAX_XADDRS} URLs")
    for x in xaddrs:
        if not (isinstance(x, str) and x.startswith(("http://", "https://"))) or len(x) > MAX_XADDR:
            raise MessageError("announced: each xaddr must be an http(s) URL")
    return Announced(kind, endpoint, tuple(xaddrs))


def _envelope(data: bytes, tags: set[str]) -> dict[str, Any]:
    if len(data) > MAX_MESSAGE:
        raise MessageError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE}")
    try:
        obj = json.loads(data, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise MessageError(f"not JSON: {e}") from e
    if not isinstance(obj, dict) or obj.get("t") not in tags:
        raise MessageError("not a message: an object whose t is one of " + ", ".join(sorted(tags)))
    return obj


def _no_constant(name: str) -> None:
    raise MessageError(f"{name} is not a number")


def _field(obj: dict[str, Any], name: str) -> Any:
    if name not in obj:
        raise MessageError(f"{obj['t']}: {name} missing")
    return obj[name]


def _id(obj: dict[str, Any]) -> int:
    value = _field(obj, "id")
    if type(value) is not int or not 0 <= value < MAX_ID:
        raise MessageError(f"{obj['t']}: id must be a whole number >= 0")
    return value


def _bool(obj: dict[str, Any], name: str) -> bool:
    value = _field(obj, name)
    if not isinstance(value, bool):
        raise MessageError(f"{obj['t']}: {name} must be true or false")
    return value


def _optional_text(obj: dict[str, Any], name: str) -> str | None:
    return _scalar(str | None, _field(obj, name), f"{obj['t']}: {name}")


def _optional_number(obj: dict[str, Any], name: str) -> float | None:
    return _scalar(float | None, _field(obj, name), f"{obj['t']}: {name}")


def _record(obj: dict[str, Any], name: str) -> Record:
    text = _field(obj, name)
    if not isinstance(text, str):
        raise MessageError(f"{obj['t']}: {name} must be a record's JSON text")
    try:
        return Record.from_json(text.encode())
    except CryptoFormatError as e:
        raise MessageError(f"{obj['t']}: {e}") from e


def _flat(cls: type[T], value: object) -> T:
    """A dataclass of scalars from a JSON object with exactly its fields, each of its type."""
    name = getattr(cls, "__name__", "value")
    if not isinstance(value, dict):
        raise MessageError(f"{name} must be an object")
    shape = _shape(typing.cast(type, cls))  # a TypeVar's type is hashable all the same
    if value.keys() != shape.names:
        raise MessageError(f"{name}: fields {sorted(set(value) ^ shape.names)} differ")
    return cls(**{f.name: _value(f, value[f.name], f"{name}.{f.name}") for f in shape.fields})


@dataclass(frozen=True)
class _Field:
    name: str
    allowed: tuple[Any, ...]  # the scalar types its annotation admits
    nested: type | None  # a flat dataclass it may hold instead (a health's identity event)


@dataclass(frozen=True)
class _Shape:
    names: frozenset[str]
    fields: tuple[_Field, ...]


@functools.cache
def _shape(cls: type) -> _Shape:
    """A flat dataclass's fields and their types, worked out once per class: every health
    message (one a second per camera) is checked against them, and `get_type_hints` compiles
    each string annotation anew on every call."""
    hints = typing.get_type_hints(cls)
    shaped = []
    for f in fields(cls):
        allowed = _allowed(hints[f.name])
        nested = [a for a in allowed if isinstance(a, type) and dataclasses.is_dataclass(a)]
        shaped.append(_Field(f.name, allowed, nested[0] if nested else None))
    return _Shape(frozenset(f.name for f in shaped), tuple(shaped))


def _value(field: _Field, value: object, where: str) -> Any:
    """A scalar, or a nested flat dataclass (such as a health's last identity event)."""
    if field.nested is not None and isinstance(value, dict):
        return _flat(field.nested, value)
    return _checked(field.allowed, value, where)


@functools.cache
def _allowed(hint: Any) -> tuple[Any, ...]:
    return typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)


def _scalar(hint: Any, value: object, where: str) -> Any:
    return _checked(_allowed(hint), value, where)


def _checked(allowed: tuple[Any, ...], value: object, where: str) -> Any:
    if value is None:
        if type(None) in allowed:
            return None
    elif isinstance(value, bool):
        if bool in allowed:
            return value
    elif isinstance(value, int) and int in allowed:
        if abs(value) < MAX_ID:
            return value
    elif isinstance(value, int | float) and float in allowed:
        if math.isfinite(value) and abs(value) < 1e15:
            return float(value)
    elif isinstance(value, str) and str in allowed and len(value) <= MAX_TEXT:
        return value
    raise MessageError(f"{where}: {type(value).__name__} not allowed here (or out of bounds)")
