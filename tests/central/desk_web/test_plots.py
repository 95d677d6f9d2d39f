"""The 24 h plots: samples become an SVG line that breaks where data is missing; titles
are escaped; nothing in it needs a style attribute or a script."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from central.desk.web.plots import line_plot

SVG = "{http://www.w3.org/2000/svg}"
START, END = 1_000_000.0, 1_086_400.0


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _lines(svg: str) -> list[list[tuple[float, float]]]:
    root = _parse(svg)
    return [
        [tuple(map(float, p.split(","))) for p in line.attrib["points"].split()]  # type: ignore[misc]
        for line in root.iter(f"{SVG}polyline")
    ]


def test_values_scale_into_the_frame_and_time_runs_left_to_right() -> None:
    ts = [START, START + 43200, END]
    svg = line_plot(ts, [0.0, 50.0, 100.0], start=START, end=END, title="backlog", max_gap_s=1e5)
    [line] = _lines(svg)
    xs, ys = [x for x, _ in line], [y for _, y in line]
    assert xs == sorted(xs) and xs[0] < xs[1] < xs[2]
    assert ys[0] > ys[1] > ys[2]  # larger values higher up
    assert abs((ys[0] - ys[1]) - (ys[1] - ys[2])) < 0.2
    texts = [t.text for t in _parse(svg).iter(f"{SVG}text")]
    assert "backlog" in texts and "100" in texts and "0" in texts


def test_missing_values_and_silences_break_the_line() -> None:
    ts = [START + i * 60 for i in range(6)] + [START + 3600, START + 3660]
    values: list[float | None] = [1.0, 2.0, None, 3.0, 4.0, 5.0, 6.0, 7.0]
    lines = _lines(line_plot(ts, values, start=START, end=END, title="t", max_gap_s=300))
    assert [len(line) for line in lines] == [2, 3, 2]


def test_a_single_sample_is_a_dot_and_no_sample_says_so() -> None:
    dot = _parse(line_plot([START + 10], [3.0], start=START, end=END, title="t"))
    assert len(list(dot.iter(f"{SVG}circle"))) == 1
    empty = line_plot([], [], start=START, end=END, title="t", empty="暂无数据")
    assert "暂无数据" in empty and "<polyline" not in empty
    outside = line_plot([START - 10], [3.0], start=START, end=END, title="t", empty="none")
    assert "none" in outside


def test_titles_are_text_and_the_svg_has_no_style_or_script() -> None:
    svg = line_plot([START], [1.0], start=START, end=END, title='<script>x</script>"')
    root = _parse(svg)
    assert root.find(f"{SVG}script") is None and "<script>" not in svg
    assert 'x</script>"' in "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "style=" not in svg
