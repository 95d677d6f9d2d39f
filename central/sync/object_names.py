"""What an object key says about its object (pure): which gateway, stream, kind and seq.

The layout is `uplink.object_keys`' (DESIGN.md §7), under ``<site>/<gateway>/<camera>/``:

    <YYYY>/<MM>/<DD>/<seq:08d>_<startUTC>.json       record      (seq)
    <YYYY>/<MM>/<DD>/<seq:08d>_<startUTC>.mp4.age    segment     (seq)
    checkpoints/<size:08d>.json                      checkpoint  (tree size)
    checkpoints/<size:08d>.<companion>               beside a checkpoint: co-signature, token

Anything else under a gateway's prefix is `OTHER`, which sync reports: the uploader writes
nothing else there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from segments.store import SEGMENT_SUFFIX, SIDECAR_SUFFIX
from segments.timestamp import TOKEN_SUFFIX
from segments.witness import WITNESSED_SUFFIX

RECORD, MEDIA, CHECKPOINT, COMPANION, OTHER = "record", "media", "checkpoint", "companion", "other"
COMPANION_SUFFIXES = (TOKEN_SUFFIX, WITNESSED_SUFFIX)
"""Objects written beside a checkpoint: the gateway's RFC 3161 token (`uplink.object_keys.
timestamp_key`), the archive's witnessed copy (`witness_key`); judged by their own checks
(`segments.timestamp`, `segments.witness`), not by the catalogue."""

_DAY = r"\d{4}/\d{2}/\d{2}"
_STEM = r"(?P<seq>\d{8,18})_\d{8}T\d{6}Z"
_SEGMENT = re.compile(rf"{_DAY}/{_STEM}" + re.escape(SEGMENT_SUFFIX))
_SIDECAR = re.compile(rf"{_DAY}/{_STEM}" + re.escape(SIDECAR_SUFFIX))
_CHECKPOINT = re.compile(r"checkpoints/(?P<seq>\d{8,18})(?P<suffix>\.[a-z0-9]+)")


@dataclass(frozen=True)
class ObjectName:
    """A key read as the layout defines it; `stream` and `seq` are None for `OTHER`."""

    key: str
    site: str
    gateway: str
    what: str
    stream: str | None = None
    seq: int | None = None


def gateway_of(key: str) -> tuple[str, str] | None:
    """(site, gateway) of a key with at least ``<site>/<gateway>/…``; None otherwise."""
    parts = key.split("/", 2)
    if len(parts) < 3 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


def parse_key(key: str) -> ObjectName | None:
    """The key's meaning; None when it is not even under ``<site>/<gateway>/``."""
    where = gateway_of(key)
    if where is None:
        return None
    site, gateway = where
    rest = key.split("/", 2)[2]
    camera, _, tail = rest.partition("/")
    other = ObjectName(key, site, gateway, OTHER)
    if not camera or not tail:
        return other
    for pattern, what in ((_SIDECAR, RECORD), (_SEGMENT, MEDIA)):
        m = pattern.fullmatch(tail)
        if m:
            return ObjectName(key, site, gateway, what, camera, int(m["seq"]))
    m = _CHECKPOINT.fullmatch(tail)
    if m is None:
        return other
    if m["suffix"] == SIDECAR_SUFFIX:
        return ObjectName(key, site, gateway, CHECKPOINT, camera, int(m["seq"]))
    if m["suffix"] in COMPANION_SUFFIXES:
        return ObjectName(key, site, gateway, COMPANION, camera, int(m["seq"]))
    return other
