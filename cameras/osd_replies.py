"""Reading ONVIF OSD replies (GetOSDOptions, GetOSDs) into bounded, typed values.

The replies are zeep objects built from camera-controlled XML. Every reader takes whatever
zeep produced (missing fields, wrong types, huge strings and lists) and returns a bounded
value or raises `OnvifReplyError`; nothing else escapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import OnvifReplyError
from .onvif_replies import text

MAX_OSDS = 32  # OSDs read per video source; a camera listing more is cut here
MAX_CHOICES = 16  # positions, text types and formats read from the options
MAX_TEXT = 256  # characters of any text read back from the camera

# Text types of an OSD's TextString (ONVIF tt:OSDTextConfiguration Type).
PLAIN = "Plain"
DATE_AND_TIME = "DateAndTime"
CUSTOM = "Custom"


@dataclass(frozen=True)
class OsdOptions:
    """What the camera says it can show on one video source (GetOSDOptions)."""

    max_total: int  # 0: the camera set no usable limit
    max_plain: int | None
    max_date_time: int | None
    types: frozenset[str]  # OSDType: Text, Image, Extended
    positions: tuple[str, ...]  # UpperLeft, UpperRight, LowerLeft, LowerRight, Custom
    text_types: frozenset[str]  # Plain, Date, Time, DateAndTime
    date_formats: tuple[str, ...]
    time_formats: tuple[str, ...]


@dataclass(frozen=True)
class Osd:
    """One OSD as the camera reports it, or as the gateway wants it (`token` "" to create).

    Image and other non-text OSDs have `text_type` "": they only count against the limits.
    """

    token: str
    source: str  # video source configuration token
    text_type: str
    position: str
    plain_text: str = ""
    date_format: str = ""
    time_format: str = ""
    x: float | None = None  # a Custom position, -1..1 as ONVIF defines
    y: float | None = None

    def summary(self) -> dict[str, object]:
        """The fields a ledger record names: small scalars only."""
        shown: dict[str, object] = {
            "token": self.token,
            "type": self.text_type,
            "position": self.position,
        }
        if self.text_type == PLAIN:
            shown["text"] = self.plain_text
        if self.date_format:
            shown["date_format"] = self.date_format
        if self.time_format:
            shown["time_format"] = self.time_format
        if self.x is not None and self.y is not None:
            shown["x"], shown["y"] = self.x, self.y
        return shown


def options_from_reply(reply: Any) -> OsdOptions:
    """A GetOSDOptionsResponse (or its OSDOptions) → `OsdOptions`."""
    options = getattr(reply, "OSDOptions", reply)
    if options is None or isinstance(options, str | bytes | int | float):
        raise OnvifReplyError("GetOSDOptions returned no OSDOptions")
    limits = getattr(options, "MaximumNumberOfOSDs", None)
    text_option = getattr(options, "TextOption", None)
    return OsdOptions(
        max_total=_attribute(limits, "Total") or 0,
        max_plain=_attribute(limits, "PlainText"),
        max_date_time=_attribute(limits, "DateAndTime"),
        types=frozenset(_words(getattr(options, "Type", None))),
        positions=_words(getattr(options, "PositionOption", None)),
        text_types=frozenset(_words(getattr(text_option, "Type", None))),
        date_formats=_words(getattr(text_option, "DateFormat", None)),
        time_formats=_words(getattr(text_option, "TimeFormat", None)),
    )


def osds_from_reply(reply: Any) -> tuple[Osd, ...]:
    """A GetOSDsResponse (or its list of OSDs) → the OSDs with a token, at most `MAX_OSDS`."""
    items = getattr(reply, "OSDs", reply)
    if items is None:
        return ()
    if not isinstance(items, list | tuple):
        items = [items]
    found = (osd_from_reply(item) for item in list(items)[:MAX_OSDS])
    return tuple(o for o in found if o is not None)


def osd_from_reply(item: Any) -> Osd | None:
    """One tt:OSDConfiguration; None when it has no token (nothing could refer to it)."""
    token = text(item, "token", MAX_TEXT)
    if not token:
        return None
    kind = text(item, "Type", 32)
    string = getattr(item, "TextString", None)
    position = getattr(item, "Position", None)
    pos = getattr(position, "Pos", None)
    return Osd(
        token=token,
        source=_reference(getattr(item, "VideoSourceConfigurationToken", None)),
        text_type=text(string, "Type", 32) if kind == "Text" else "",
        position=text(position, "Type", 32),
        plain_text=text(string, "PlainText", MAX_TEXT),
        date_format=text(string, "DateFormat", 64),
        time_format=text(string, "TimeFormat", 64),
        x=_coordinate(pos, "x"),
        y=_coordinate(pos, "y"),
    )


def _attribute(obj: Any, name: str) -> int | None:
    value = getattr(obj, name, None)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value < 1 << 16 else None


def _words(value: Any) -> tuple[str, ...]:
    """A repeated string element → its distinct short non-empty values, at most MAX_CHOICES."""
    if value is None:
        return ()
    items = value if isinstance(value, list | tuple) else [value]
    words = [v.strip()[:64] for v in list(items)[:MAX_CHOICES] if isinstance(v, str)]
    return tuple(dict.fromkeys(w for w in words if w))


def _reference(value: Any) -> str:
    """tt:OSDReference: a token with attributes; zeep gives it as `_value_1` or plain text."""
    if isinstance(value, str):
        return value.strip()[:MAX_TEXT]
    return text(value, "_value_1", MAX_TEXT)


def _coordinate(pos: Any, name: str) -> float | None:
    value = getattr(pos, name, None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if -1.0 <= value <= 1.0 else None
