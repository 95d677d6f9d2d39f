"""A camera's recording timeline as SVG text, drawn on the server from catalogue entries. Pure.

The bar shows what the archive holds for each stretch of time: segments coloured by their
state (confirmed, waiting for upload, held, evicted, purged, missing), and the holes between
them as gaps with their reason. A hole the ledger declared (a `gap` record, or a `boot` that
lasts: the time the gateway was down) carries the record's signed reason; a hole no record
explains is "undeclared", the one an investigator must ask about. Only holes between two
entries are gaps: before the first and after the last entry the archive simply knows nothing
yet (a box that uploads later, a camera added today).

A 24 h bar is 544 px wide, about 160 s per pixel, so every gap is drawn at least `MIN_GAP_PX`
wide with a mark above it: a ten-second outage stays visible. Consecutive segments of one
state are drawn as one rectangle (a day of 2 s segments would otherwise be 43 200). Names and
reasons come from records and are escaped; colours come from desk.css by class name (the CSP
forbids inline styles), and a reason only becomes part of a class name when it is a plain
identifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from segments.verify.time_order import TIME_TOLERANCE_S

WIDTH, HEIGHT = 600, 112
LEFT, RIGHT, TOP, BAR_H = 8, 8, 26, 30
MIN_GAP_PX = 3.0
TOLERANCE_S = TIME_TOLERANCE_S  # closer than this is continuous, as the ledger checks judge
UNDECLARED = "undeclared"
STATES = ("confirmed", "waiting", "held", "evicted", "purged", "missing", "mismatch")
_PLAIN = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


@dataclass(frozen=True)
class Entry:
    """One catalogued record on the timeline: a segment (`state` set) or a declared hole
    (`reason` set: the record's reason, or its kind when it gave none)."""

    start: float
    end: float
    state: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Gap:
    start: float
    end: float
    reason: str
    declared: bool

    @property
    def duration_s(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Timeline:
    start: float
    end: float
    runs: tuple[Entry, ...]  # segments merged by state, clipped to [start, end]
    gaps: tuple[Gap, ...]  # clipped to [start, end], in time order


def build(entries: Iterable[Entry], start: float, end: float) -> Timeline:
    """The runs and gaps of `entries` (any order, may reach outside the window) in the window."""
    ordered = sorted(entries, key=lambda e: (e.start, e.end))
    gaps = _clip_gaps([*_declared(ordered), *_undeclared(ordered)], start, end)
    runs = _clip_runs(_merge(e for e in ordered if e.reason is None), start, end)
    return Timeline(start, end, tuple(runs), tuple(sorted(gaps, key=lambda g: g.start)))


def _declared(ordered: Sequence[Entry]) -> list[Gap]:
    return [Gap(e.start, e.end, e.reason, True) for e in ordered if e.reason and e.end > e.start]


def _undeclared(ordered: Sequence[Entry]) -> list[Gap]:
    """Holes longer than TOLERANCE_S between the end of everything so far and the next start."""
    holes: list[Gap] = []
    reach: float | None = None
    for e in ordered:
        if reach is not None and e.start - reach > TOLERANCE_S:
            holes.append(Gap(reach, e.start, UNDECLARED, False))
        reach = e.end if reach is None else max(reach, e.end)
    return holes


def _merge(segments: Iterable[Entry]) -> list[Entry]:
    runs: list[Entry] = []
    for s in segments:
        last = runs[-1] if runs else None
        if last is not None and last.state == s.state and s.start - last.end <= TOLERANCE_S:
            runs[-1] = Entry(last.start, max(last.end, s.end), last.state)
        else:
            runs.append(s)
    return runs


def _clip_runs(runs: Iterable[Entry], start: float, end: float) -> list[Entry]:
    return [
        Entry(max(r.start, start), min(r.end, end), r.state)
        for r in runs
        if r.end > start and r.start < end
    ]


def _clip_gaps(gaps: Iterable[Gap], start: float, end: float) -> list[Gap]:
    return [
        Gap(max(g.start, start), min(g.end, end), g.reason, g.declared)
        for g in gaps
        if g.end > start and g.start < end
    ]


def timeline_svg(timeline: Timeline, words: Mapping[str, str], title: str) -> str:
    """The SVG element: the bar, gap marks (each `rect.tl-gap[data-reason]` with a tooltip),
    the window's ends as UTC times, and a legend of the states and gap kinds present."""
    span = max(timeline.end - timeline.start, 1.0)
    inner = WIDTH - LEFT - RIGHT

    def x(t: float) -> float:
        return LEFT + (t - timeline.start) / span * inner

    parts = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text class="plot-title" x="{LEFT}" y="14">{escape(title)}</text>',
        f'<rect class="tl-frame" x="{LEFT}" y="{TOP}" width="{inner}" height="{BAR_H}"/>',
    ]
    for r in timeline.runs:
        width = max(x(r.end) - x(r.start), 0.5)
        state = r.state if r.state in STATES else "missing"
        parts.append(
            f'<rect class="tl-run tl-{state}" data-state="{state}" x="{x(r.start):.1f}" '
            f'y="{TOP}" width="{width:.1f}" height="{BAR_H}"><title>'
            f"{escape(words.get(f'state_{state}', state))}: {_clock(r.start)} – {_clock(r.end)}"
            "</title></rect>"
        )
    for g in timeline.gaps:
        parts.append(_gap_mark(g, x(g.start), x(g.end), words))
    parts += [
        f'<text class="plot-axis" x="{LEFT}" y="{TOP + BAR_H + 14}">{_clock(timeline.start)}'
        "</text>",
        f'<text class="plot-axis" x="{WIDTH - RIGHT}" y="{TOP + BAR_H + 14}" '
        f'text-anchor="end">{_clock(timeline.end)}</text>',
        *_legend(timeline, words),
        "</svg>",
    ]
    return "".join(parts)


def _gap_mark(g: Gap, x0: float, x1: float, words: Mapping[str, str]) -> str:
    width = max(x1 - x0, MIN_GAP_PX)
    mid = x0 + width / 2
    kind = _kind(g)
    reason = escape(g.reason)
    shown = escape(words.get(f"reason_{g.reason}", g.reason))
    tip = f"{shown}: {_clock(g.start)} – {_clock(g.end)} ({g.duration_s:.0f} s)"
    return (
        f'<g class="tl-gap-mark {kind}" data-reason="{reason}">'
        f'<rect class="tl-gap {kind}" data-reason="{reason}" x="{x0:.1f}" y="{TOP}" '
        f'width="{width:.1f}" height="{BAR_H}"><title>{tip}</title></rect>'
        f'<path class="tl-tick {kind}" d="M{mid - 4:.1f},{TOP - 8} L{mid + 4:.1f},{TOP - 8} '
        f'L{mid:.1f},{TOP - 1} Z"><title>{tip}</title></path></g>'
    )


def _kind(g: Gap) -> str:
    """CSS classes of a gap: declared or not, and its reason when it is a plain name."""
    classes = "tl-declared" if g.declared else "tl-undeclared"
    return f"{classes} tl-reason-{g.reason}" if _PLAIN.match(g.reason) else classes


def _legend(timeline: Timeline, words: Mapping[str, str]) -> list[str]:
    present = {r.state for r in timeline.runs}
    items = [(f"tl-run tl-{s}", words.get(f"state_{s}", s)) for s in STATES if s in present]
    if any(g.declared for g in timeline.gaps):
        items.append(("tl-gap tl-declared", words.get("gap_declared", "declared gap")))
    if any(not g.declared for g in timeline.gaps):
        items.append(("tl-gap tl-undeclared", words.get(f"reason_{UNDECLARED}", UNDECLARED)))
    if not items:
        items.append(("tl-frame", words.get("no_records", "no records")))
    parts, cursor, y = [], float(LEFT), TOP + BAR_H + 30
    for css, label in items:
        width = 22 + (7 if label.isascii() else 12) * len(label)
        if cursor + width > WIDTH - RIGHT and cursor > LEFT:
            cursor, y = float(LEFT), y + 15
        parts.append(
            f'<rect class="{css} tl-key" x="{cursor:.0f}" y="{y - 9}" width="10" height="10"/>'
            f'<text class="plot-axis tl-legend" x="{cursor + 14:.0f}" y="{y}">'
            f"{escape(label)}</text>"
        )
        cursor += width
    return parts


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%m-%d %H:%M:%SZ")
