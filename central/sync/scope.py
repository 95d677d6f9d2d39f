"""What a sync lists of one gateway (pure): its whole prefix, or from each stream's resume point.

An audit lists the prefix whole: the only listing that sees a new version of a settled key,
a deletion, or an object at a key evgw never writes outside the ranges below. Otherwise
each stream folder is listed as two ranges: its day folders from the resume point up to
``checkpoints/``, and ``checkpoints/`` from the resume size; a stream folder the catalogue
does not know yet is listed whole. The cost of such a sync follows what arrived, not what
the bucket keeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..catalogue.resume import ResumePoint

CHECKPOINTS = "checkpoints/"
SIZE_DIGITS = 8  # `uplink.object_keys` writes sizes and seqs as {n:08d}


@dataclass(frozen=True)
class Range:
    """List `prefix`'s keys sorting after `after` and before `before` (None: no bound)."""

    prefix: str
    after: str | None = None
    before: str | None = None


def whole(prefix: str) -> list[Range]:
    return [Range(prefix)]


def resumed(prefix: str, folders: Sequence[str], points: Mapping[str, ResumePoint]) -> list[Range]:
    """The ranges of `prefix`'s stream `folders` (``<prefix><stream>/``) from their points."""
    ranges = []
    for folder in folders:
        point = points.get(folder[len(prefix) : -1])
        if point is None:
            ranges.append(Range(folder))
            continue
        checkpoints = folder + CHECKPOINTS
        ranges.append(Range(folder, point.records_from, checkpoints))
        size = point.checkpoints_from
        after = None if size is None else f"{checkpoints}{size:0{SIZE_DIGITS}d}"
        ranges.append(Range(checkpoints, after))
    return ranges
