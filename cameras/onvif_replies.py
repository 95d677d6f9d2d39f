"""Reading ONVIF replies: zeep objects built from camera-controlled XML, read defensively.

Every reader takes whatever zeep produced (a missing field, a wrong type, a huge string, a
Unicode-digit number that zeep let through as text) and returns a bounded, typed value or
raises `OnvifReplyError`; nothing else escapes (the fuzz tests hold it to that).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import wsd
from .errors import OnvifError, OnvifReplyError


@dataclass(frozen=True)
class MediaProfile:
    token: str
    name: str
    encoding: str
    width: int
    height: int
    fps: float

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


def choose_profile(profiles: Sequence[MediaProfile], wanted: str | None = None) -> MediaProfile:
    """The configured profile (token or name), else the main one: highest resolution, then fps."""
    if not profiles:
        raise OnvifReplyError("camera reports no media profile with a video encoder")
    if wanted:
        for p in profiles:
            if wanted in (p.token, p.name):
                return p
        have = ", ".join(f"{p.token} ({p.name})" for p in profiles)
        raise OnvifError(f"camera has no profile {wanted!r}; it has: {have}")
    return max(profiles, key=lambda p: (p.width * p.height, p.fps))


def text(obj: Any, name: str, limit: int = 256) -> str:
    value = getattr(obj, name, None)
    return value.strip()[:limit] if isinstance(value, str) else ""


def number(obj: Any, name: str) -> int:
    """A non-negative int field below 2**31, else 0 (bools and text are no numbers)."""
    value = getattr(obj, name, None)
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value if 0 <= value < 1 << 31 else 0


def profile_from_reply(p: Any) -> MediaProfile | None:
    """A GetProfiles entry → MediaProfile; None when it has no usable video encoder."""
    token = text(p, "token")
    vec = getattr(p, "VideoEncoderConfiguration", None)
    resolution = getattr(vec, "Resolution", None)
    width, height = number(resolution, "Width"), number(resolution, "Height")
    if not token or not width or not height:
        return None
    rate = getattr(vec, "RateControl", None)
    return MediaProfile(
        token, text(p, "Name"), text(vec, "Encoding"), width, height, number(rate, "FrameRateLimit")
    )


def camera_time(reply: Any) -> dt.datetime:
    """UTC time from a GetSystemDateAndTime reply."""
    utc = getattr(reply, "UTCDateTime", None)
    date, tod = getattr(utc, "Date", None), getattr(utc, "Time", None)
    try:
        return dt.datetime(
            number(date, "Year"),
            number(date, "Month"),
            number(date, "Day"),
            number(tod, "Hour"),
            number(tod, "Minute"),
            number(tod, "Second"),
            tzinfo=dt.UTC,
        )
    except ValueError as e:
        raise OnvifReplyError(f"camera reports no valid UTC date and time: {e}") from e


def media_xaddr(capabilities: Any, device_xaddr: str) -> str:
    """The media service URL the camera reports, on the device service's own scheme, host
    and port: a camera that names another host (NAT, or someone steering our credentials)
    is asked at the address we reached it at."""
    url = text(getattr(capabilities, "Media", None), "XAddr", wsd.MAX_URI)
    return rehost(url, device_xaddr) if wsd.valid_xaddr(url) else device_xaddr


def rehost(url: str, device_xaddr: str) -> str:
    """`url`'s path on the device service's own scheme, host and port: a camera naming another
    host for a service (media, events, a subscription) is asked at the address we reached it
    at."""
    parts, device = urlsplit(url), urlsplit(device_xaddr)
    return urlunsplit((device.scheme, device.netloc, parts.path or "/", parts.query, ""))
