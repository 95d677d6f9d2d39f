"""Per-camera health counters: windowed fps/bitrate, frame age, failures, frozen snapshot."""

import dataclasses
import threading

import pytest

from cameras.health import CameraHealth, HealthCounter


def _feed(h: HealthCounter, start: float, n: int, every_s: float, nbytes: int) -> float:
    t = start
    for i in range(n):
        t = start + i * every_s
        h.frame(nbytes, now=t)
    return t


def test_a_new_counter_is_offline_with_nothing_measured() -> None:
    s = HealthCounter("cam", window_s=5.0).snapshot(now=100.0)
    assert s == CameraHealth("cam", False, 0, 0.0, 0.0, None, 0, None)


def test_fps_and_bitrate_over_a_steady_stream() -> None:
    h = HealthCounter("cam", window_s=5.0)
    h.connected()
    last = _feed(h, 100.0, 101, 0.04, 1000)  # 25 fps for 4 s, 1000 B a frame
    s = h.snapshot(now=last)
    assert s.online
    assert s.frames == 101
    assert s.fps == pytest.approx(25.0)
    assert s.bitrate_bps == pytest.approx(25 * 1000 * 8, rel=1e-6)
    assert s.last_frame_age_s == 0.0


def test_only_frames_inside_the_window_count() -> None:
    h = HealthCounter("cam", window_s=5.0)
    _feed(h, 0.0, 250, 0.04, 500)  # 10 s at 25 fps, small frames
    last = _feed(h, 10.0, 51, 0.1, 4000)  # then 5 s at 10 fps, large frames
    s = h.snapshot(now=last)
    assert s.frames == 301
    assert s.fps == pytest.approx(10.0)
    assert s.bitrate_bps == pytest.approx(10 * 4000 * 8, rel=1e-6)


def test_a_silent_stream_reports_the_age_of_its_last_frame_and_zero_rates() -> None:
    h = HealthCounter("cam", window_s=5.0)
    last = _feed(h, 50.0, 26, 0.04, 1000)
    assert h.snapshot(now=last + 2.5).last_frame_age_s == pytest.approx(2.5)
    late = h.snapshot(now=last + 60.0)
    assert late.last_frame_age_s == pytest.approx(60.0)
    assert late.fps == 0.0 and late.bitrate_bps == 0.0
    assert late.frames == 26


def test_a_single_frame_gives_no_rate() -> None:
    h = HealthCounter("cam")
    h.frame(1234, now=1.0)
    s = h.snapshot(now=1.0)
    assert (s.frames, s.fps, s.bitrate_bps) == (1, 0.0, 0.0)


def test_failed_counts_reconnects_marks_offline_and_keeps_the_error() -> None:
    h = HealthCounter("cam")
    h.connected()
    h.failed("rtsp_timeout")
    s = h.snapshot(now=0.0)
    assert (s.online, s.reconnects, s.last_error) == (False, 1, "rtsp_timeout")
    h.connected()
    assert h.snapshot(now=0.0).online
    h.failed("camera_offline")
    h.failed("auth_failed")
    s = h.snapshot(now=0.0)
    assert (s.online, s.reconnects, s.last_error) == (False, 3, "auth_failed")


def test_snapshot_is_frozen_and_detached_from_the_counter() -> None:
    h = HealthCounter("cam")
    h.frame(10, now=1.0)
    s = h.snapshot(now=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.frames = 99  # type: ignore[misc]
    h.frame(10, now=2.0)
    assert s.frames == 1
    assert h.snapshot(now=2.0).frames == 2


def test_frames_from_several_threads_are_all_counted() -> None:
    h = HealthCounter("cam")

    def feed() -> None:
        for _ in range(5000):
            h.frame(1)

    threads = [threading.Thread(target=feed) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert h.snapshot().frames == 20000


def test_a_still_scene_is_reported_until_the_detector_says_otherwise() -> None:
    h = HealthCounter("cam")
    h.connected()
    assert h.snapshot(now=1.0).scene_still is False
    h.scene_still(True)
    assert h.snapshot(now=2.0).scene_still is True
    h.scene_still(False)
    assert h.snapshot(now=3.0).scene_still is False
    h.scene_still(True)
    h.failed("rtsp_timeout")
    assert h.snapshot(now=4.0).scene_still is False, "an offline camera shows no scene"


def test_news_is_a_change_a_monitor_must_hear_not_a_frame() -> None:
    h = HealthCounter("cam")
    h.frame(1000, now=1.0)
    h.rejected(3)
    assert not h.news.is_set(), "counters are reported on the heartbeat"
    h.connected()
    assert h.news.is_set()
    h.news.clear()
    h.connected()
    h.scene_still(False)
    h.tamper(None)
    assert not h.news.is_set(), "the same value again is no news"
    for tell in (lambda: h.scene_still(True), lambda: h.tamper("global_scene_change"),
                 lambda: h.osd_state("time on"), lambda: h.event_service("subscribed"),
                 lambda: h.segment_signing(True), lambda: h.encoder_fallback("no device"),
                 lambda: h.failed("rtsp_timeout"), lambda: h.failed("rtsp_timeout")):  # fmt: skip
        h.news.clear()
        tell()
        assert h.news.is_set()
