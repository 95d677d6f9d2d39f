"""The one parser for times a person types: `--from`/`--to` and the commands' `from`/`to`.

Shared by the box's and the archive's commands. A time without an offset is refused rather
than guessed: on a box that shows +08:00 in the picture and keeps UTC in its ledger, "14:00"
could mean either.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import UsageError
from .i18n import _

EXAMPLE = "2026-11-27T14:00:00+08:00"


class TimeFormatError(UsageError):
    """A typed time is not ISO 8601 with a UTC offset."""


def parse_instant(text: object, what: str) -> datetime:
    """`text` as an aware UTC datetime; `what` names the field in the message (`--from`)."""
    if not isinstance(text, str):
        raise TimeFormatError(
            _("{what} must be an ISO 8601 time with offset, e.g. {example}").format(
                what=what, example=EXAMPLE
            )
        )
    try:
        when = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError as e:
        raise TimeFormatError(
            _("{what} {text!r} is not an ISO 8601 time (e.g. {example})").format(
                what=what, text=text, example=EXAMPLE
            )
        ) from e
    if when.tzinfo is None:
        raise TimeFormatError(
            _("{what} {text!r} has no UTC offset: add one, e.g. +08:00, or Z").format(
                what=what, text=text
            )
        )
    try:
        return when.astimezone(UTC)
    except OverflowError as e:  # 9999-12-31T23:00:00-14:00 is in the year 10000 UTC
        raise TimeFormatError(
            _("{what} {text!r} is outside the years 1-9999 in UTC").format(what=what, text=text)
        ) from e


def parse_range(start: object, end: object, names: tuple[str, str]) -> tuple[datetime, datetime]:
    """A typed [start, end) range; the end must come after the start."""
    first, last = parse_instant(start, names[0]), parse_instant(end, names[1])
    if last <= first:
        raise TimeFormatError(
            _("{to} {end} is not after {frm} {start}").format(
                to=names[1], end=end, frm=names[0], start=start
            )
        )
    return first, last
