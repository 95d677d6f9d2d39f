"""What the overlay says: the template recorded in the ledger and the text it gives each second.

Pure string work, no imaging library: the recorder and the configuration import this to
describe an overlay without loading Pillow (a passthrough camera never draws one).
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..errors import SegmentError

DEFAULT_TEMPLATE = "{time}  {camera}\n{location}  {gps}"
"""Recorded with every segment. Fields: {time} (`YYYY-MM-DD HH:MM:SS +HH:MM`, local),
{location}, {camera}, {gps} (`lat,lon` with 6 decimals, empty without GPS); `\n` starts a
new line. Trailing whitespace of each line is stripped, so an empty {gps} leaves no gap.
Two lines because time, a Chinese site name and GPS on one line overflow a 16:9 frame."""

TEMPLATE_FIELDS = frozenset({"time", "location", "camera", "gps"})


@dataclass(frozen=True, kw_only=True)
class OverlaySpec:
    """What the overlay says; `template` is the stable string recorded in the ledger."""

    template: str = DEFAULT_TEMPLATE
    location: str
    camera: str
    gps: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        try:
            parsed = string.Formatter().parse(self.template)
            names = {name for _, name, _, _ in parsed if name is not None}
        except ValueError as e:
            raise SegmentError(f"overlay template {self.template!r} is malformed: {e}") from e
        unknown = names - TEMPLATE_FIELDS
        if unknown:
            raise SegmentError(
                f"overlay template uses unknown fields {sorted(unknown)}; "
                f"allowed: {sorted(TEMPLATE_FIELDS)}"
            )
        if self.gps is not None:
            lat, lon = self.gps
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
                raise SegmentError(f"overlay GPS {self.gps} out of range (lat ±90, lon ±180)")


def format_time(wall_utc: float, tz: ZoneInfo) -> str:
    """`2026-11-27 14:03:07 +08:00`: local wall time of the whole second, with its offset."""
    local = datetime.fromtimestamp(math.floor(wall_utc), tz)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def format_text(spec: OverlaySpec, wall_utc: float, tz: ZoneInfo) -> str:
    """The overlay text shown at `wall_utc` (seconds since the epoch, UTC)."""
    return fill(spec, format_time(wall_utc, tz))


def fill(spec: OverlaySpec, time: str) -> str:
    gps = "" if spec.gps is None else f"{spec.gps[0]:.6f},{spec.gps[1]:.6f}"
    text = spec.template.format(time=time, location=spec.location, camera=spec.camera, gps=gps)
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))


_SECONDS_MARK = "\ue000"  # private use: stands for the seconds in a per-minute template


def minute_parts(spec: OverlaySpec, start: int, tz: ZoneInfo) -> list[str] | None:
    """format_text of the minute starting at `start`, split where its seconds go; None if
    local seconds do not run 00..59 within it (an offset change, an offset with seconds)."""
    first, last = datetime.fromtimestamp(start, tz), datetime.fromtimestamp(start + 59, tz)
    if first.second != 0 or first.utcoffset() != last.utcoffset():
        return None
    time = format_time(start, tz)
    parts = fill(spec, time[:17] + _SECONDS_MARK + time[19:]).split(_SECONDS_MARK)
    return parts if "00".join(parts) == format_text(spec, start, tz) else None
