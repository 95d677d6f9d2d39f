"""Checks of single values: each rejection names the file, the key and what is accepted."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evgw.config import checks
from tests.gateway.config.sample import FAKE, error_of, with_camera, with_section

SLUG = "must be 1-64 characters of A-Z a-z 0-9 . _ - (not . or ..), got"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (with_section("gateway", id="gw 1"), f"[gateway] id: {SLUG} 'gw 1'"),
        (with_section("gateway", id="g" * 65), f"[gateway] id: {SLUG} '{'g' * 65}'"),
        (with_camera(id=".."), f"cameras[0].id: {SLUG} '..'"),
        (with_camera(id="摄像头"), f"cameras[0].id: {SLUG} '摄像头'"),
        (
            with_section("gateway", timezone="Asia/Shangai"),
            "[gateway] timezone: unknown time zone 'Asia/Shangai'; "
            "use an IANA name such as Asia/Shanghai or UTC",
        ),
        (
            with_section("gateway", data_dir=""),
            "[gateway] data_dir: must be a file system path, got ''",
        ),
        (
            with_section("recording", segment_seconds=7),
            "[recording] segment_seconds: must divide 86400 so segment boundaries align to "
            "midnight (e.g. 10, 30, 60, 300, 600, 3600), got 7",
        ),
        (
            with_section("recording", segment_seconds=0),
            "[recording] segment_seconds: must be between 1 and 3600, got 0",
        ),
        (
            with_section("recording", segment_seconds=7200),
            "[recording] segment_seconds: must be between 1 and 3600, got 7200",
        ),
        (
            with_camera(segment_seconds=7),
            "cameras[0].segment_seconds: must divide 86400 so segment boundaries align to "
            "midnight (e.g. 10, 30, 60, 300, 600, 3600), got 7",
        ),
        (
            with_section("recording", overlay="burnin"),
            "[recording] overlay: must be one of burn_in, passthrough, got 'burnin' "
            "(did you mean burn_in?)",
        ),
        (
            with_camera(overlay="pass"),
            "cameras[0].overlay: must be one of burn_in, passthrough, got 'pass'",
        ),
        (
            with_section("recording", preset="superslow"),
            "[recording] preset: must be one of ultrafast, superfast, veryfast, faster, fast, "
            "medium, slow, slower, veryslow, placebo, got 'superslow' (did you mean veryslow?)",
        ),
        (with_section("recording", crf=52), "[recording] crf: must be between 0 and 51, got 52"),
        (
            with_section("recording", read_timeout_s=0),
            "[recording] read_timeout_s: must be a number of seconds > 0, got 0",
        ),
        (
            with_section("recording", open_timeout_s=float("inf")),
            "[recording] open_timeout_s: must be a number of seconds > 0, got inf",
        ),
        (
            with_section("location", lat=91, lon=0),
            "[location] lat: must be between -90 and 90, got 91",
        ),
        (
            with_section("location", lat=0, lon=float("nan")),
            "[location] lon: must be between -180 and 180, got nan",
        ),
        (
            with_camera(rtsp="http://x"),
            "cameras[0].rtsp: must be an rtsp:// or rtsps:// URL, got 'http://x'",
        ),
        (
            with_camera(rtsp="rtsp://"),
            "cameras[0].rtsp: must be an rtsp:// or rtsps:// URL, got 'rtsp://'",
        ),
        (
            with_camera(rtsp="rtsp://host:99999/s"),
            "cameras[0].rtsp: must be an rtsp:// or rtsps:// URL, got 'rtsp://host:99999/s'",
        ),
    ],
)
def test_value_errors(data: dict[str, Any], expected: str) -> None:
    assert error_of(data) == f"{FAKE}: {expected}"


def test_credentials_in_url_are_refused_without_echo() -> None:
    message = error_of(with_camera(rtsp="rtsp://admin:hunter2@10.0.0.1/s"))
    assert "hunter2" not in message
    assert message.startswith(f"{FAKE}: cameras[0].rtsp: must not contain credentials")


def test_bad_recipient_names_the_key() -> None:
    message = error_of(with_section("keys", recipients=["age1notakey"]))
    assert "[keys] recipients" in message


def test_storage_policy_is_checked() -> None:
    message = error_of(with_section("storage", on_full="evict"))
    assert "[storage] on_full: must be one of evict_unuploaded, stop_recording" in message


def test_rules_say_in_words_what_the_checks_enforce() -> None:
    assert checks.int_range(0, 51).rule == "0..51"
    assert checks.int_range(0, 2**62).rule == "0..2^62"
    assert checks.int_range(1, 1_000_000).rule == "1..1_000_000"
    assert checks.float_range(0.5, 30).rule == "0.5..30"
    assert checks.one_of("a", "b").rule == "one of a, b"
    assert checks.segment_seconds.rule == "1..3600, dividing 86400"


def test_checks_convert_what_they_accept() -> None:
    assert checks.float_range(0, 1)(1) == 1.0 and isinstance(checks.float_range(0, 1)(1), float)
    assert checks.serial("  SN-1 ") == "SN-1"
    assert checks.path_or_none("") is None
    assert str(checks.path_or_none("ca.pem")) == "ca.pem"
    with pytest.raises(checks.Invalid, match="must be a file system path"):
        checks.path_or_none("\0")


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://admin:S3cretPW@cam:99999/x",
        "rtsp://admin:S3cretPW@cam/x y",
        "http://admin:S3cretPW@cam/onvif",
        "rtsp://cam:99999/x?user=admin&password=S3cretPW",
        "ftp://cam/x?token=S3cretPW",
    ],
)
def test_a_rejected_url_never_echoes_its_secret(url: str) -> None:
    key = "onvif" if url.startswith(("http", "ftp")) else "rtsp"
    message = error_of(with_camera(**{key: url}))
    assert "S3cretPW" not in message
    assert f"cameras[0].{key}:" in message


@given(password=st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]), min_size=8))
def test_shown_url_keeps_no_userinfo_or_query(password: str) -> None:
    for url in (f"rtsp://user:{password}@host:1/p", f"rtsp://host/p?pw={password}"):
        assert password not in checks.shown_url(url)
