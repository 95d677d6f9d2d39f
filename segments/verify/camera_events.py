"""A camera's own notifications (`event` records) in words, for `evgw verify` and export reports.

An `event` record is shown, never judged: it is neither a gap nor a defect, and it stands
outside the recording timeline (it is appended when the notification arrives, while a
segment is open). Its fields came from the camera: each is shown bounded, whatever its type.
"""

from __future__ import annotations

from ..records import Record

EVENT_KIND = "event"


def camera_notification(record: Record) -> str:
    """``camera tamper tns1:VideoSource/ImageTooDark/ImagingService on (camera time …)``."""
    extra = record.extra

    def field(name: str, limit: int = 120) -> str:
        value = extra.get(name)
        return value[:limit] if isinstance(value, str) and value else "?"

    state = extra.get("state")
    words = {True: "on", False: "off"}.get(state, "") if isinstance(state, bool) else ""
    text = f"camera {field('kind', 16)} {field('topic')}" + (f" {words}" if words else "")
    source = extra.get("source")
    if isinstance(source, dict) and source:
        pairs = [f"{k}={v}" for k, v in list(source.items())[:4] if isinstance(v, str | int)]
        text += f" [{', '.join(pairs)[:120]}]"
    coalesced = extra.get("coalesced")
    if isinstance(coalesced, int) and not isinstance(coalesced, bool) and coalesced > 1:
        text += f" ({coalesced} notifications)"
    return f"{text} (camera time {field('camera_time', 40)})"
