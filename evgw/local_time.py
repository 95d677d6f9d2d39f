"""Times for people: in the site's time zone with its offset, as the picture's clock shows.

Records, JSON and the ledger keep UTC; what a person reads (`find`, `verify`, `status`,
the export's report.txt, the monitor) shows `2026-12-02 16:32:09 +08:00`. A command with a
configuration uses its `[gateway] timezone`; one without (an expert's `verify-export`) uses
the zone the package declares, else this machine's, and says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .i18n import _

CONFIG, PACKAGE, MACHINE = "config", "package", "machine"


@dataclass(frozen=True)
class Zone:
    """The zone times are shown in, its name, and where that choice came from."""

    tz: tzinfo
    name: str
    source: str  # CONFIG, PACKAGE or MACHINE


def named(name: str, source: str) -> Zone | None:
    """The IANA zone `name`, or None when this machine does not know it."""
    try:
        return Zone(ZoneInfo(name), name, source)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def machine() -> Zone:
    """This machine's local zone (its abbreviation, e.g. CST, as the name)."""
    here = datetime.now().astimezone()
    assert here.tzinfo is not None
    return Zone(here.tzinfo, here.tzname() or "local", MACHINE)


def declared_or_machine(name: str | None) -> Zone:
    """The zone a package or file declares, when known here; else this machine's."""
    return (named(name, PACKAGE) if name else None) or machine()


def show(when: str | datetime | None, zone: Zone | None) -> str:
    """`when` (ISO 8601 or aware) as `YYYY-MM-DD HH:MM:SS +HH:MM` in `zone`; `-` for none.

    Text that is not a time is returned as it is: a damaged record is shown, never hidden.
    """
    if when is None or when == "":
        return "-"
    if zone is None:
        return when if isinstance(when, str) else when.isoformat()
    try:
        moment = when if isinstance(when, datetime) else datetime.fromisoformat(when)
    except ValueError:
        return str(when)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        local = moment.astimezone(zone.tz)
    except (OverflowError, ValueError):
        return str(when)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def note(zone: Zone) -> str:
    """Which zone the times are in and why, for the end of a human report."""
    where = {
        CONFIG: _("the configured [gateway] timezone"),
        PACKAGE: _("the zone the package declares"),
        MACHINE: _("this machine's time zone, as none was declared"),
    }[zone.source]
    return _("times shown in {zone} ({where}); JSON and records keep UTC").format(
        zone=zone.name, where=where
    )
