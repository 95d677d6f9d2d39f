"""The camera's recording timeline: segments merged by state, declared gaps with their reason,
undeclared holes found between records, everything clipped to the window; the SVG marks every
gap (even a short one in a day) and escapes what records say."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from central.desk.web.camera_data import EventRow
from central.desk.web.labels import EN, ZH
from central.desk.web.timeline import MIN_GAP_PX, Entry, Gap, build, timeline_svg

SVG = "{http://www.w3.org/2000/svg}"
START, END = 1_000_000.0, 1_086_400.0


def seg(start: float, end: float, state: str = "confirmed") -> Entry:
    return Entry(START + start, START + end, state=state)


def gap(start: float, end: float, reason: str) -> Entry:
    return Entry(START + start, START + end, reason=reason)


def _gaps(svg: str) -> list[ET.Element]:
    """The gap marks on the bar (the legend's keys carry no reason)."""
    rects = ET.fromstring(svg).iter(f"{SVG}rect")
    return [r for r in rects if "tl-gap" in r.attrib["class"] and "data-reason" in r.attrib]


def test_consecutive_segments_of_a_state_are_one_run() -> None:
    entries = [seg(0, 2), seg(2, 4), seg(4.5, 6), seg(6, 8, "waiting"), seg(8, 10, "waiting")]
    t = build(entries, START, END)
    assert [(r.start - START, r.end - START, r.state) for r in t.runs] == [
        (0, 6, "confirmed"),
        (6, 10, "waiting"),
    ]
    assert t.gaps == ()


def test_a_declared_gap_keeps_its_reason_and_a_hole_between_records_is_undeclared() -> None:
    entries = [seg(0, 10), gap(10, 40, "camera_offline"), seg(40, 50), seg(80, 90)]
    t = build(reversed(entries), START, END)  # any order
    assert t.gaps == (
        Gap(START + 10, START + 40, "camera_offline", True),
        Gap(START + 50, START + 80, "undeclared", False),
    )
    assert t.gaps[0].duration_s == 30


def test_nothing_before_the_first_or_after_the_last_record_is_a_gap() -> None:
    t = build([seg(3600, 3700)], START, END)
    assert t.gaps == ()
    assert len(t.runs) == 1


def test_runs_and_gaps_are_clipped_to_the_window() -> None:
    entries = [seg(-100, 10), gap(10, 20, "startup"), seg(20, 86_500)]
    t = build(entries, START, END)
    assert t.runs[0].start == START and t.runs[-1].end == END
    assert [g.reason for g in t.gaps] == ["startup"]
    later = build(entries, START + 30, END)
    assert later.gaps == ()


def test_an_empty_gap_record_is_not_a_gap_but_a_boot_that_lasts_is() -> None:
    entries = [seg(0, 10), gap(10, 10, "operator_stop"), gap(10, 60, "power_loss"), seg(60, 70)]
    assert [g.reason for g in build(entries, START, END).gaps] == ["power_loss"]


def test_the_svg_marks_each_gap_visibly_with_its_reason_and_a_legend() -> None:
    entries = [seg(0, 10), gap(10, 12, "camera_offline"), seg(12, 50), seg(60, 70, "held")]
    svg = timeline_svg(build(entries, START, END), EN, "Recording timeline")
    root = ET.fromstring(svg)
    marks = _gaps(svg)
    reasons = [m.attrib["data-reason"] for m in marks]
    assert reasons == ["camera_offline", "undeclared"]
    assert all(float(m.attrib["width"]) >= MIN_GAP_PX for m in marks)  # 2 s of a day: visible
    assert "tl-reason-camera_offline" in marks[0].attrib["class"]
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "confirmed" in texts and "held" in texts and "declared gap" in texts
    assert "undeclared" in texts
    tips = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert any(tip.startswith("camera offline:") for tip in tips)
    assert "style=" not in svg and "<script" not in svg


def test_an_empty_timeline_says_so() -> None:
    svg = timeline_svg(build([], START, END), ZH, "录像时间线")
    root = ET.fromstring(svg)
    assert _gaps(svg) == []
    assert ZH["no_records"] in " ".join(t.text or "" for t in root.iter(f"{SVG}text"))


def test_hostile_reasons_and_states_are_escaped_and_kept_out_of_class_names() -> None:
    hostile = '"><script>alert(1)</script><x a="'
    entries = [seg(0, 10, hostile), gap(10, 20, hostile), seg(20, 30)]
    svg = timeline_svg(build(entries, START, END), EN, hostile)
    root = ET.fromstring(svg)  # still one well-formed SVG element
    assert "<script" not in svg
    [mark] = _gaps(svg)
    assert mark.attrib["data-reason"] == hostile
    assert mark.attrib["class"] == "tl-gap tl-declared"
    states = [
        r.attrib.get("data-state")
        for r in root.iter(f"{SVG}rect")
        if "tl-run" in r.attrib.get("class", "")
    ]
    assert states[0] == "missing"  # an unknown state is drawn as the worst known one


def test_an_events_detail_is_its_own_fields_and_any_body_makes_one() -> None:
    body = '{"camera": "gate-1", "kind": "gap_open", "ts": 1.0, "reason": "camera_offline"}'
    assert EventRow(1.0, "gap_open", body).detail == "reason: camera_offline"
    assert EventRow(1.0, "x", "[" * 100_000).detail == "[" * 300  # nested past the recursion
    assert EventRow(1.0, "x", '"just text"').detail == '"just text"'
