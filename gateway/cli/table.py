"""Plain-text tables and the few number formats every command prints the same way."""

from __future__ import annotations

from collections.abc import Sequence

from evgw.display_width import ljust, width


def columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as left-aligned columns two spaces apart (trailing blanks dropped), aligned by
    display width: a Chinese name takes two columns per character."""
    widths = [max(width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(ljust(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def duration(seconds: float | None) -> str:
    """`-`, `42 s`, `3.5 min` or `1.2 h`."""
    if seconds is None:
        return "-"
    if abs(seconds) >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if abs(seconds) >= 60 else f"{seconds:.0f} s"
