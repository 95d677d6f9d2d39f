"""Reading ONVIF reply objects: only bounded values or `OnvifReplyError`, whatever zeep built."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from cameras import onvif_replies
from cameras.errors import OnvifError, OnvifReplyError
from cameras.onvif_replies import MediaProfile, choose_profile, number, text

UNICODE_DIGITS = "²³٣۳१１𝟑"
OBJECT_CASES = 500


def test_numbers_are_plain_ints_in_range() -> None:
    ns = SimpleNamespace(a=5, b=True, c="5", d=-1, e=1 << 31, f=5.0, g="²")
    assert [number(ns, k) for k in "abcdefg"] + [number(ns, "missing")] == [5] + [0] * 7


def test_text_is_stripped_and_bounded() -> None:
    ns = SimpleNamespace(a="  x  ", b="y" * 1000, c=7)
    assert (text(ns, "a"), len(text(ns, "b")), text(ns, "c"), text(None, "a")) == ("x", 256, "", "")


def test_choose_profile() -> None:
    a = MediaProfile("a", "Sub", "H264", 640, 360, 25)
    b = MediaProfile("b", "Main", "H264", 1920, 1080, 15)
    c = MediaProfile("c", "Main30", "H264", 1920, 1080, 30)
    assert choose_profile([a, b, c]) == c
    assert choose_profile([a, b, c], "Sub") == a and choose_profile([a, b, c], "b") == b
    try:
        choose_profile([a], "x")
    except OnvifError as e:
        assert "no profile 'x'" in str(e)
    with contextlib.suppress(OnvifReplyError):
        choose_profile([])
        raise AssertionError("no profile must be an error")


FIELDS = [
    "token", "Name", "VideoEncoderConfiguration", "Resolution", "Width", "Height",
    "RateControl", "FrameRateLimit", "Encoding", "UTCDateTime", "Date", "Time", "Year",
    "Month", "Day", "Hour", "Minute", "Second", "Media", "XAddr",
]  # fmt: skip
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.text(st.sampled_from(UNICODE_DIGITS + "0123456789"), max_size=6)
    | st.just("x" * 100_000)
)
anything = st.recursive(
    leaves,
    lambda inner: (
        st.builds(
            lambda d: SimpleNamespace(**d),
            st.dictionaries(st.sampled_from(FIELDS), inner, max_size=6),
        )
        | st.lists(inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=OBJECT_CASES, deadline=None)
@given(anything)
def test_fuzz_reply_readers_only_declared_error(obj: object) -> None:
    p = onvif_replies.profile_from_reply(obj)
    assert p is None or (p.width > 0 and p.height > 0 and p.token and len(p.name) <= 256)
    with contextlib.suppress(OnvifReplyError):
        onvif_replies.camera_time(obj)
    url = onvif_replies.media_xaddr(obj, "http://10.0.0.5/onvif/device_service")
    assert url.startswith("http://10.0.0.5/")
