"""Planning a camera's OSD: only what the camera supports, never a second copy of our text."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from cameras.errors import OnvifReplyError
from cameras.osd_plan import MAX_OSD_TEXT, OsdWanted, differences, osd_text, plan_osd
from cameras.osd_replies import Osd, OsdOptions, options_from_reply, osds_from_reply

FULL = OsdOptions(
    max_total=4,
    max_plain=2,
    max_date_time=1,
    types=frozenset({"Text", "Image"}),
    positions=("UpperLeft", "UpperRight", "LowerLeft", "LowerRight", "Custom"),
    text_types=frozenset({"Plain", "Date", "Time", "DateAndTime"}),
    date_formats=("MM/dd/yyyy", "yyyy-MM-dd"),
    time_formats=("hh:mm:ss tt", "HH:mm:ss"),
)
SITE = "测试检查站 一号卡口"
WANTED = OsdWanted(SITE)


def clock(token: str = "c1", **kw: object) -> Osd:
    fields = {"date_format": "MM/dd/yyyy", "time_format": "hh:mm:ss tt", **kw}
    return Osd(token, "vsc0", "DateAndTime", "UpperRight", **fields)  # type: ignore[arg-type]


def label(token: str, text: str = SITE, position: str = "LowerLeft") -> Osd:
    return Osd(token, "vsc0", "Plain", position, text)


def test_a_bare_camera_gets_date_time_and_text_in_two_corners() -> None:
    plan = plan_osd(FULL, [], WANTED, "vsc0")
    assert plan.create == (
        Osd("", "vsc0", "DateAndTime", "UpperLeft", "", "yyyy-MM-dd", "HH:mm:ss"),
        Osd("", "vsc0", "Plain", "LowerLeft", SITE),
    )
    assert not (plan.keep or plan.update or plan.delete or plan.refused or plan.truncated)


def test_the_cameras_own_clock_is_reused_in_place_with_a_year_first_format() -> None:
    plan = plan_osd(FULL, [clock()], WANTED, "vsc0")
    assert plan.update == (clock(date_format="yyyy-MM-dd", time_format="HH:mm:ss"),)
    assert [o.text_type for o in plan.create] == ["Plain"]
    assert plan_osd(FULL, [plan.update[0]], WANTED, "vsc0").keep == plan.update


def test_our_text_already_shown_is_kept_not_created_again() -> None:
    done = clock(date_format="yyyy-MM-dd", time_format="HH:mm:ss")
    plan = plan_osd(FULL, [done, label("t1")], WANTED, "vsc0")
    assert plan.keep == (done, label("t1")) and not plan.changes


def test_extra_copies_of_our_text_are_removed() -> None:
    plan = plan_osd(FULL, [label("t1"), label("t2", position="UpperRight")], WANTED, "vsc0")
    assert plan.keep[-1] == label("t1") and plan.delete == ("t2",)
    assert not any(o.text_type == "Plain" for o in plan.create)


def test_our_earlier_text_is_updated_by_its_token_and_a_strangers_is_left_alone() -> None:
    mine, theirs = label("t1", "old site"), label("t9", "door 3", "UpperRight")
    plan = plan_osd(FULL, [mine, theirs], WANTED, "vsc0", frozenset({"t1"}))
    assert plan.update[-1] == replace(mine, plain_text=SITE)
    assert "t9" not in plan.delete and all(o.token != "t9" for o in plan.update)


def test_other_video_sources_osds_are_not_touched() -> None:
    elsewhere = replace(label("t1"), source="vsc1")
    plan = plan_osd(FULL, [elsewhere], WANTED, "vsc0")
    assert [o.text_type for o in plan.create] == ["DateAndTime", "Plain"]


def test_a_camera_without_text_osd_refuses_everything() -> None:
    plan = plan_osd(replace(FULL, types=frozenset({"Image"})), [], WANTED, "vsc0")
    assert plan.refused == ("the camera offers no text OSD",) and not plan.create


def test_without_plain_text_only_the_clock_is_set() -> None:
    options = replace(FULL, text_types=frozenset({"DateAndTime"}))
    plan = plan_osd(options, [], WANTED, "vsc0")
    assert [o.text_type for o in plan.create] == ["DateAndTime"]
    assert plan.refused == ("site text: the camera offers no Plain text OSD",)


def test_limits_are_respected() -> None:
    full = [Osd(f"i{n}", "vsc0", "", "UpperLeft") for n in range(4)]
    plan = plan_osd(FULL, full, WANTED, "vsc0")
    assert not plan.create and len(plan.refused) == 2
    assert "allows 4 OSDs" in plan.refused[0]
    plain_full = [label("a", "x"), label("b", "y")]
    assert "allows 2 Plain" in plan_osd(FULL, plain_full, WANTED, "vsc0").refused[0]


def test_custom_position_only_and_unlisted_formats() -> None:
    options = replace(FULL, positions=("Custom",), date_formats=("dd/MM/yyyy",), time_formats=())
    plan = plan_osd(options, [], WANTED, "vsc0")
    date, text = plan.create
    assert (date.position, date.x, date.y, date.date_format, date.time_format) == (
        "Custom", -0.95, 0.9, "dd/MM/yyyy", "",
    )  # fmt: skip
    assert (text.position, text.y) == ("Custom", -0.9)
    no_position = replace(FULL, positions=("Middle",))
    assert len(plan_osd(no_position, [], WANTED, "vsc0").refused) == 2


def test_long_text_is_cut_and_said_so() -> None:
    plan = plan_osd(FULL, [], OsdWanted("站" * 100), "vsc0")
    assert plan.truncated and len(plan.create[-1].plain_text) == MAX_OSD_TEXT


def test_osd_text_names_site_and_location_once() -> None:
    assert osd_text("测试检查站", "测试检查站 一号卡口") == "测试检查站 一号卡口"
    assert osd_text("Site A", "Gate 1") == "Site A Gate 1"
    assert osd_text("", "Gate 1") == "Gate 1" and osd_text("Site A", "") == "Site A"


def test_differences_name_what_the_camera_changed() -> None:
    set_ = [label("t1"), clock()]
    assert differences(set_, [clock(), label("t1")]) == []
    changed = differences(set_, [replace(label("t1"), plain_text="hacked")])
    assert changed[0].startswith("OSD 't1' plain_text is 'hacked'") and "'c1' is gone" in changed[1]


def test_options_and_osds_read_from_a_reply() -> None:
    reply = SimpleNamespace(
        OSDOptions=SimpleNamespace(
            MaximumNumberOfOSDs=SimpleNamespace(Total=4, PlainText=2, DateAndTime=True),
            Type=["Text", 7, "Text"],
            PositionOption=["UpperLeft", "x" * 500],
            TextOption=SimpleNamespace(Type="Plain", DateFormat=None, TimeFormat=["HH:mm:ss"]),
        )
    )
    options = options_from_reply(reply)
    assert (options.max_total, options.max_plain, options.max_date_time) == (4, 2, None)
    assert options.types == {"Text"} and options.positions == ("UpperLeft", "x" * 64)
    assert options.text_types == {"Plain"} and options.time_formats == ("HH:mm:ss",)
    osd = SimpleNamespace(
        token="t1",
        VideoSourceConfigurationToken=SimpleNamespace(_value_1="vsc0"),
        Type="Text",
        Position=SimpleNamespace(Type="Custom", Pos=SimpleNamespace(x=0.5, y=7.0)),
        TextString=SimpleNamespace(Type="Plain", PlainText="站" * 1000),
    )
    (read,) = osds_from_reply(SimpleNamespace(OSDs=[osd, SimpleNamespace(token="")]))
    assert (read.source, read.position, read.x, read.y, len(read.plain_text)) == (
        "vsc0", "Custom", 0.5, None, 256,
    )  # fmt: skip


FIELDS = [
    "OSDOptions", "MaximumNumberOfOSDs", "Total", "PlainText", "DateAndTime", "Type",
    "PositionOption", "TextOption", "DateFormat", "TimeFormat", "OSDs", "token",
    "VideoSourceConfigurationToken", "_value_1", "Position", "Pos", "x", "y", "TextString",
]  # fmt: skip
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["Text", "Plain", "DateAndTime", "UpperLeft", "Custom", "vsc0"])
    | st.just("x" * 100_000)
)
anything = st.recursive(
    leaves,
    lambda inner: (
        st.builds(
            lambda d: SimpleNamespace(**d),
            st.dictionaries(st.sampled_from(FIELDS), inner, max_size=6),
        )
        | st.lists(inner, max_size=8)
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(anything, anything)
def test_fuzz_hostile_osd_replies_give_bounded_values_or_the_declared_error(
    options_reply: object, osds_reply: object
) -> None:
    osds = osds_from_reply(osds_reply)
    assert len(osds) <= 32 and all(len(o.plain_text) <= 256 and o.token for o in osds)
    with contextlib.suppress(OnvifReplyError):
        options = options_from_reply(options_reply)
        assert len(options.positions) <= 16 and all(len(p) <= 64 for p in options.positions)
        plan = plan_osd(options, osds, WANTED, "vsc0")
        assert len(plan.create) <= 2 and len(plan.update) <= 2


def test_our_text_cut_by_the_camera_is_ours_and_left_as_it_is() -> None:
    cut = label("t1", SITE[:8])
    plan = plan_osd(FULL, [cut], WANTED, "vsc0")
    assert cut in plan.keep and not (plan.update or plan.delete)
    assert [o.text_type for o in plan.create] == ["DateAndTime"]
    plan = plan_osd(FULL, [cut, label("t2", SITE)], WANTED, "vsc0")
    assert label("t2") in plan.keep and plan.delete == ("t1",)
    assert differences([label("t1")], [cut]) == []
    assert differences([label("t1")], [label("t1", SITE[:3])]) != []
