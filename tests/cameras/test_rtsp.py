"""RTSP input edges: credential handling, failure classification, open errors, end of stream."""

import errno
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import av.error
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameras.errors import StreamError
from cameras.rtsp import (
    AUTH_FAILED,
    CAMERA_OFFLINE,
    NO_VIDEO,
    RTSP_TIMEOUT,
    RtspStream,
    StreamSettings,
    classify,
    redact,
    with_credentials,
)

PASSWORD = "s3cr@t:pw/x#"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:hunter2@10.0.0.5:554/Streaming/101", "rtsp://10.0.0.5:554/Streaming/101"),
        ("rtsp://admin@10.0.0.5/live", "rtsp://10.0.0.5/live"),
        ("rtsp://10.0.0.5:8554/cam1?ch=1", "rtsp://10.0.0.5:8554/cam1?ch=1"),
        ("rtsp://u:p@cam.local/a#frag", "rtsp://cam.local/a"),
        ("rtsp://u:p%40ss@cam.local/a", "rtsp://cam.local/a"),
        # The reproduction: credentials in the query string survived redaction into logs.
        (
            "rtsp://a:pw1@cam/live?user=admin&password=S3cretPW&channel=1",
            "rtsp://cam/live?user=***&password=***&channel=1",
        ),
        ("rtsp://cam/h264?token=S3cretPW&subtype=0", "rtsp://cam/h264?token=***&subtype=0"),
        ("rtsp://cam/s?PWD=S3cretPW&u=admin&p=S3cretPW", "rtsp://cam/s?PWD=***&u=***&p=***"),
        ("rtsp://cam/s?access_token=S3cretPW&ch=1", "rtsp://cam/s?access_token=***&ch=1"),
        ("rtsp://cam/s?api%5Fkey=S3cretPW", "rtsp://cam/s?api%5Fkey=***"),
        (
            "rtsp://cam:554/user=admin_password=S3cretPW_channel=1_stream=0.sdp",
            "rtsp://cam:554/user=***_password=***_channel=1_stream=0.sdp",
        ),
        ("rtsp://cam/a?passwd=S3cretPW;x=1", "rtsp://cam/a?passwd=***"),
        ("rtsp://cam:99999/x", "rtsp://cam:99999/x"),
    ],
)
def test_redact_drops_credentials_and_keeps_the_rest(url: str, expected: str) -> None:
    assert redact(url) == expected


def test_redact_keeps_ipv6_brackets() -> None:
    assert redact("rtsp://u:p@[fe80::1]:554/cam") == "rtsp://[fe80::1]:554/cam"
    assert with_credentials("rtsp://[::1]:554/c", "u", "p") == "rtsp://u:p@[::1]:554/c"


def test_with_credentials_percent_encodes_user_and_password() -> None:
    url = with_credentials("rtsp://10.0.0.5:554/live", "ad min", PASSWORD)
    assert url == "rtsp://ad%20min:s3cr%40t%3Apw%2Fx%23@10.0.0.5:554/live"
    assert redact(url) == "rtsp://10.0.0.5:554/live"


def test_with_credentials_replaces_credentials_already_in_the_url() -> None:
    url = with_credentials("rtsp://old:oldpw@h:554/x", "new", "pw")
    assert url == "rtsp://new:pw@h:554/x"


def test_with_credentials_user_without_password_and_no_user() -> None:
    assert with_credentials("rtsp://h/x", "viewer", None) == "rtsp://viewer@h/x"
    assert with_credentials("rtsp://h/x", None, "ignored") == "rtsp://h/x"
    assert with_credentials("rtsp://h/x", "", "ignored") == "rtsp://h/x"


def test_settings_repr_and_display_url_hide_the_password() -> None:
    s = StreamSettings("rtsp://h/x", username="admin", password=PASSWORD)
    assert PASSWORD not in repr(s)
    assert PASSWORD not in str(s)
    assert s.display_url == "rtsp://h/x"


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (av.error.ExitError(-1414092869, "Immediate exit requested"), RTSP_TIMEOUT),
        (TimeoutError("timed out"), RTSP_TIMEOUT),
        (OSError(errno.ETIMEDOUT, "Connection timed out"), RTSP_TIMEOUT),
        (OSError(errno.EAGAIN, "Resource temporarily unavailable"), RTSP_TIMEOUT),
        (av.error.HTTPUnauthorizedError(-825242872, "401 Unauthorized", "rtsp://h/x"), AUTH_FAILED),
        (PermissionError(errno.EACCES, "Permission denied"), AUTH_FAILED),
        (av.error.ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), CAMERA_OFFLINE),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), CAMERA_OFFLINE),
        (av.error.FileNotFoundError(errno.ENOENT, "No such file"), CAMERA_OFFLINE),
        (av.error.InvalidDataError(-1094995529, "Invalid data"), CAMERA_OFFLINE),
        (ValueError("anything else"), CAMERA_OFFLINE),
    ],
)
def test_classify_maps_failures_to_gap_reasons(exc: BaseException, reason: str) -> None:
    assert classify(exc) == reason


def _assert_clean(err: StreamError) -> None:
    text = str(err)
    for secret in (PASSWORD, "s3cr", "%40t"):
        assert secret not in text, text


def test_opening_a_missing_file_is_camera_offline(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(StreamError) as info, RtspStream(StreamSettings(str(missing))):
        pass
    assert info.value.reason == CAMERA_OFFLINE
    assert "nope.mp4" in str(info.value)
    assert isinstance(info.value.__cause__, FileNotFoundError)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A bound but not listening port: connections to it are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


@pytest.mark.parametrize("embedded", [False, True])
def test_a_closed_port_is_camera_offline_and_the_password_never_shows(
    closed_port: int, embedded: bool
) -> None:
    base = f"127.0.0.1:{closed_port}/cam1"
    if embedded:
        settings = StreamSettings(f"rtsp://admin:{quote(PASSWORD, safe='')}@{base}")
    else:
        settings = StreamSettings(f"rtsp://{base}", "admin", PASSWORD, open_timeout_s=3)
    with pytest.raises(StreamError) as info, RtspStream(settings):
        pass
    assert info.value.reason == CAMERA_OFFLINE
    assert f"rtsp://{base}" in str(info.value)
    _assert_clean(info.value)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=30)


def test_a_file_without_video_is_no_video(tmp_path: Path) -> None:
    audio = tmp_path / "tone.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=0.3", "-c:a", "aac", str(audio))
    with pytest.raises(StreamError) as info, RtspStream(StreamSettings(str(audio))):
        pass
    assert info.value.reason == NO_VIDEO


def test_packets_are_timestamped_and_end_of_stream_is_camera_offline(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", str(video),
    )  # fmt: skip
    got = []
    with RtspStream(StreamSettings(str(video))) as s:
        assert s.video is not None and s.audio is None
        with pytest.raises(StreamError) as info:
            for p in s.packets():
                assert p.pts is not None and p.dts is not None and p.size > 0
                got.append(p.is_keyframe)
    assert info.value.reason == CAMERA_OFFLINE
    assert "end of stream" in str(info.value)
    assert len(got) == 25 and got[0]


REDACT_CASES = 300


@settings(max_examples=REDACT_CASES, deadline=None)
@given(
    secret=st.text("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=8),
    name=st.sampled_from(["password", "pwd", "passwd", "token", "auth", "user", "PassWord", "key"]),
    where=st.sampled_from(["userinfo", "query", "path"]),
    other=st.sampled_from(["", "channel=1", "subtype=0&x=y"]),
)
def test_redacted_urls_never_hold_the_secret(
    secret: str, name: str, where: str, other: str
) -> None:
    if where == "userinfo":
        url = f"rtsp://admin:{secret}@10.0.0.5:554/live?{other}"
    elif where == "query":
        url = f"rtsp://10.0.0.5/live?{other}&{name}={secret}&{other}"
    else:
        url = f"rtsp://10.0.0.5/{name}={secret}_channel=1_stream=0.sdp?{other}"
    assert secret not in redact(url)
