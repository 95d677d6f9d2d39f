"""What to set on a camera's OSD: pure planning from its options, its OSDs and our texts.

The gateway wants two text OSDs on the video source it records: the date and time, and the
site/location text. The plan reuses what is there (the camera's own date/time OSD, our text
OSD from an earlier run, found by its token or its text) so a reconnect never adds a second
copy, removes extra copies of our text, and sets only what the camera says it supports:
text OSDs, the text types, positions and date/time formats it lists, within its limits.
What cannot be set is named in `refused`, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .osd_replies import CUSTOM, DATE_AND_TIME, PLAIN, Osd, OsdOptions

MAX_OSD_TEXT = 64
"""Characters of site text sent: ONVIF names no limit, and cameras cut or refuse long text."""
MIN_CUT = 8
"""A camera that cuts our text keeps at least this much of it (or all of a shorter text)."""
DATE_FORMATS = ("yyyy-MM-dd", "yyyy/MM/dd")  # year first: unambiguous in court
TIME_FORMATS = ("HH:mm:ss", "H:mm:ss")
DATE_POSITIONS = ("UpperLeft", "UpperRight", "LowerLeft", "LowerRight")
TEXT_POSITIONS = ("LowerLeft", "LowerRight", "UpperRight", "UpperLeft")
CUSTOM_DATE = (-0.95, 0.9)
CUSTOM_TEXT = (-0.95, -0.9)


@dataclass(frozen=True)
class OsdWanted:
    """What the gateway wants shown: the site/location text and (usually) date and time."""

    text: str
    date_time: bool = True


@dataclass(frozen=True)
class OsdPlan:
    """Calls to make: `create` (token ""), `update` (existing token); `keep` is already right."""

    keep: tuple[Osd, ...] = ()
    create: tuple[Osd, ...] = ()
    update: tuple[Osd, ...] = ()
    delete: tuple[str, ...] = ()  # tokens of extra copies of our text
    refused: tuple[str, ...] = ()  # what cannot be set, and why
    truncated: bool = False  # the text was cut to MAX_OSD_TEXT

    @property
    def changes(self) -> bool:
        return bool(self.create or self.update or self.delete)


def osd_text(site: str, location: str) -> str:
    """The site/location text: both names once each (a location often starts with the site)."""
    site, location = site.strip(), location.strip()
    if not site or site in location:
        return location
    if not location or location in site:
        return site
    return f"{site} {location}"


def plan_osd(
    options: OsdOptions,
    existing: Sequence[Osd],
    wanted: OsdWanted,
    source: str,
    ours: frozenset[str] = frozenset(),
) -> OsdPlan:
    """The calls that make `source` show `wanted`; `ours` are tokens we set earlier."""
    if "Text" not in options.types:
        return OsdPlan(refused=("the camera offers no text OSD",))
    mine = [o for o in existing if o.source in (source, "")]
    counts = _Counts(options, existing)
    plan = _Builder()
    date_position: str | None = None
    if wanted.date_time:
        date_position = _date_time(options, mine, counts, plan, source)
    text = wanted.text.strip()
    if text:
        _site_text(options, mine, counts, plan, source, text, date_position, ours)
    return OsdPlan(
        tuple(plan.keep),
        tuple(plan.create),
        tuple(plan.update),
        tuple(plan.delete),
        tuple(plan.refused),
        len(text) > MAX_OSD_TEXT,
    )


def differences(wanted: Sequence[Osd], read: Sequence[Osd]) -> list[str]:
    """How the camera's OSDs, read back, differ from what was set (empty: as set)."""
    by_token = {o.token: o for o in read}
    found: list[str] = []
    for want in wanted:
        got = by_token.get(want.token)
        if got is None:
            found.append(f"OSD {want.token!r} is gone")
            continue
        for name in ("text_type", "position", "plain_text", "date_format", "time_format"):
            expected, actual = getattr(want, name), getattr(got, name)
            if name == "plain_text" and shows(expected, actual):
                continue
            if expected and actual != expected:
                found.append(f"OSD {want.token!r} {name} is {actual[:64]!r}, not {expected!r}")
    return found


def shows(text: str, shown: str) -> bool:
    """Whether a camera showing `shown` shows `text`, whole or cut to what it can fit."""
    return shown == text or (bool(shown) and text.startswith(shown) and len(shown) >= MIN_CUT)


class _Builder:
    def __init__(self) -> None:
        self.keep: list[Osd] = []
        self.create: list[Osd] = []
        self.update: list[Osd] = []
        self.delete: list[str] = []
        self.refused: list[str] = []

    def settle(self, have: Osd, want: Osd) -> None:
        (self.keep if have == want else self.update).append(want)


class _Counts:
    """How many more OSDs the camera accepts, in total and per text type."""

    def __init__(self, options: OsdOptions, existing: Sequence[Osd]) -> None:
        self.options = options
        self.total = len(existing)
        self.plain = sum(o.text_type == PLAIN for o in existing)
        self.date_time = sum(o.text_type == DATE_AND_TIME for o in existing)

    def room(self, text_type: str) -> str | None:
        """Why one more OSD of `text_type` does not fit, or None."""
        o = self.options
        if o.max_total and self.total >= o.max_total:
            return f"the camera allows {o.max_total} OSDs and has {self.total}"
        limit, used = (
            (o.max_plain, self.plain) if text_type == PLAIN else (o.max_date_time, self.date_time)
        )
        if limit is not None and used >= limit:
            return f"the camera allows {limit} {text_type} OSDs and has {used}"
        return None

    def add(self, text_type: str) -> None:
        self.total += 1
        self.plain += text_type == PLAIN
        self.date_time += text_type == DATE_AND_TIME


def _date_time(
    options: OsdOptions, mine: list[Osd], counts: _Counts, plan: _Builder, source: str
) -> str | None:
    """Plan the date/time OSD; its position (to keep the text elsewhere), or None."""
    if DATE_AND_TIME not in options.text_types:
        plan.refused.append("date and time: the camera offers no DateAndTime text OSD")
        return None
    date_format = _first(DATE_FORMATS, options.date_formats)
    time_format = _first(TIME_FORMATS, options.time_formats)
    have = next((o for o in mine if o.text_type == DATE_AND_TIME), None)
    if have is not None:  # the camera's own clock OSD: keep its place, make its format plain
        want = replace(
            have,
            source=have.source or source,
            date_format=date_format or have.date_format,
            time_format=time_format or have.time_format,
        )
        plan.settle(have, want)
        return have.position
    refusal = counts.room(DATE_AND_TIME)
    position = _position(options, DATE_POSITIONS, CUSTOM_DATE, avoid=None)
    if refusal is None and position is None:
        refusal = "the camera offers no position the gateway can use"
    if refusal is not None:
        plan.refused.append(f"date and time: {refusal}")
        return None
    assert position is not None
    where, x, y = position
    counts.add(DATE_AND_TIME)
    plan.create.append(Osd("", source, DATE_AND_TIME, where, "", date_format, time_format, x, y))
    return where


def _site_text(
    options: OsdOptions,
    mine: list[Osd],
    counts: _Counts,
    plan: _Builder,
    source: str,
    text: str,
    avoid: str | None,
    ours: frozenset[str],
) -> None:
    if PLAIN not in options.text_types:
        plan.refused.append("site text: the camera offers no Plain text OSD")
        return
    text = text[:MAX_OSD_TEXT]
    plain = [o for o in mine if o.text_type == PLAIN]
    copies = [o for o in plain if o.plain_text == text]
    cut = [o for o in plain if o not in copies and shows(text, o.plain_text)]
    earlier = [o for o in plain if o.token in ours and o not in copies and o not in cut]
    found = [*copies, *cut, *earlier]
    if found:
        have = found[0]
        if have in cut:  # the camera shows what it can of our text: leave it so
            plan.keep.append(have)
        else:
            plan.settle(have, replace(have, source=have.source or source, plain_text=text))
        plan.delete.extend(o.token for o in found[1:])
        return
    refusal = counts.room(PLAIN)
    position = _position(options, TEXT_POSITIONS, CUSTOM_TEXT, avoid)
    if refusal is None and position is None:
        refusal = "the camera offers no free position"
    if refusal is not None:
        plan.refused.append(f"site text: {refusal}")
        return
    assert position is not None
    where, x, y = position
    counts.add(PLAIN)
    plan.create.append(Osd("", source, PLAIN, where, text, "", "", x, y))


def _position(
    options: OsdOptions,
    preferred: tuple[str, ...],
    custom: tuple[float, float],
    avoid: str | None,
) -> tuple[str, float | None, float | None] | None:
    """A named position the camera lists (not `avoid`), else Custom at `custom`."""
    for name in preferred:
        if name in options.positions and name != avoid:
            return name, None, None
    if CUSTOM in options.positions:
        return CUSTOM, *custom
    return None


def _first(preferred: tuple[str, ...], offered: tuple[str, ...]) -> str:
    """Our preferred format if offered, else the camera's first, else "" (its default)."""
    return next((f for f in preferred if f in offered), offered[0] if offered else "")
