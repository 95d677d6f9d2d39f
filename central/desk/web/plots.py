"""24 h line plots as SVG text, drawn on the server: no plotting library in the browser. Pure.

A missing value (None), or no sample for `max_gap_s`, breaks the line instead of drawing a
slope across the hole, so a gateway that was silent shows a gap. The y axis starts at zero
(backlogs, minutes and free space are amounts) and ends at the largest value. Colours and
fonts come from desk.css by class name; the SVG carries no style attribute (the page's CSP
forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

WIDTH, HEIGHT = 600, 160
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 20, 22


def line_plot(
    ts: Sequence[float],
    values: Sequence[float | None],
    *,
    start: float,
    end: float,
    title: str,
    empty: str = "no samples yet",
    max_gap_s: float = 300.0,
) -> str:
    """An SVG element plotting `values` at times `ts` (seconds) between `start` and `end`."""
    points = [(t, v) for t, v in zip(ts, values, strict=True) if start <= t <= end]
    top = max((v for _, v in points if v is not None), default=0.0)
    top = top if top > 0 else 1.0
    span = max(end - start, 1.0)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - start) / span * inner_w

    def y(v: float) -> float:
        return TOP + inner_h - max(v, 0.0) / top * inner_h

    parts = [
        f'<svg class="plot" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text class="plot-title" x="{LEFT}" y="14">{escape(title)}</text>',
        f'<rect class="plot-frame" x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}"/>',
        f'<text class="plot-axis" x="{LEFT - 4}" y="{TOP + 10}" text-anchor="end">'
        f"{_short(top)}</text>",
        f'<text class="plot-axis" x="{LEFT - 4}" y="{TOP + inner_h}" text-anchor="end">0</text>',
        f'<text class="plot-axis" x="{LEFT}" y="{HEIGHT - 6}">{_clock(start)}</text>',
        f'<text class="plot-axis" x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">'
        f"{_clock(end)}</text>",
    ]
    for run in _runs(points, max_gap_s):
        coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
        if len(run) == 1:
            t, v = run[0]
            parts.append(f'<circle class="plot-line" cx="{x(t):.1f}" cy="{y(v):.1f}" r="2"/>')
        else:
            parts.append(f'<polyline class="plot-line" points="{coords}"/>')
    if not any(v is not None for _, v in points):
        parts.append(
            f'<text class="plot-empty" x="{LEFT + inner_w / 2:.0f}" y="{TOP + inner_h / 2:.0f}" '
            f'text-anchor="middle">{escape(empty)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _runs(
    points: list[tuple[float, float | None]], max_gap_s: float
) -> list[list[tuple[float, float]]]:
    """The stretches of consecutive present values no more than `max_gap_s` apart."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for t, v in points:
        if v is None or (current and t - current[-1][0] > max_gap_s):
            if current:
                runs.append(current)
            current = []
        if v is not None:
            current.append((t, v))
    if current:
        runs.append(current)
    return runs


def _short(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.1f}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%m-%d %H:%MZ")
