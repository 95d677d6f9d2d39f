"""Typed reads of one field of an untrusted JSON report (pure): a wrong type reads as absent.

The gateways' MQTT reports reach `evgw monitor` (`fleet_view`) and the desk (`central.desk.
web.reports`) as JSON anyone on the broker may have written; both read them through these,
so a hostile value (a string where a number goes, an integer too large for a float,
megabytes of text) is the same `None` or bounded text everywhere, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_TEXT_CHARS = 1000


def number(obj: Mapping[str, Any], key: str) -> float | None:
    """A finite number; booleans, integers beyond a float and NaN or infinity read as None."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        found = float(value)
    except OverflowError:
        return None
    return found if math.isfinite(found) else None


def integer(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text(obj: Mapping[str, Any], key: str) -> str | None:
    """A string, cut to `MAX_TEXT_CHARS`."""
    value = obj.get(key)
    return value[:MAX_TEXT_CHARS] if isinstance(value, str) else None


def flag(obj: Mapping[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    return value if isinstance(value, bool) else None
