"""Recording against the real RTSP test server: decode what was written and check it."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import av
import numpy as np
import pytest

from gateway.wiring import gateway_keys, recording_plan
from segments.overlay import Overlay
from testbeds.rtsp import RtspTestServer
from tests.conftest import RtspServerFactory
from tests.support.recording import (
    Cam,
    decoded_frames,
    decrypted,
    make_config,
    media_path,
    record_until,
    records,
    sha256_file,
    wall,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

FRAME_S = 1 / 25
SLACK_S = 0.005


def test_burn_in_segments_are_continuous_aligned_and_decodable(
    rtsp_server: RtspTestServer, tmp_path
) -> None:
    config = make_config(tmp_path, [Cam("gate-1", rtsp_server.url("cam1"))])
    record_until(config, "gate-1", segments=4)
    segs = records(config, "gate-1", "segment")
    assert len(segs) >= 4, segs
    startup = records(config, "gate-1", "gap")
    assert [g.reason for g in startup] == ["startup"], "only the wait for the first frame"
    assert startup[0].end == segs[0].start
    assert [r.kind for r in records(config, "gate-1")[:2]] == ["key", "boot"]
    assert [r.seq for r in segs] == list(range(3, 3 + len(segs)))
    assert not list(media_path(config, segs[0]).parent.glob("*.part"))
    for prev, nxt in itertools.pairwise(segs):
        hole = wall(nxt.start) - wall(prev.end)
        assert 0 <= hole <= FRAME_S + SLACK_S, (prev, nxt)
        assert wall(nxt.start) % 2 < FRAME_S + SLACK_S, f"{nxt.start} not on a 2 s boundary"
    for r in segs:
        sealed = media_path(config, r)
        assert sealed.name.endswith(".mp4.age")
        assert sha256_file(sealed) == r.sha256_cipher
        assert sealed.stat().st_size == r.size_cipher
        assert not sealed.read_bytes().startswith(b"\x00\x00"), "plaintext MP4 on disk"
        path = decrypted(config, r)
        assert sha256_file(path) == r.sha256_plain
        assert path.stat().st_size == r.size_plain
        frames = decoded_frames(path)
        assert r.media is not None and len(frames) == r.media.frames
        assert frames[0].key_frame, "a segment must start with a keyframe"
        assert (frames[0].width, frames[0].height) == (640, 360)
        span = float((frames[-1].pts - frames[0].pts) * frames[0].time_base) + FRAME_S
        assert span == pytest.approx(r.media.duration_s, abs=FRAME_S)
        assert r.overlay and "{time}" in r.overlay
    for r in segs[1:-1]:
        assert r.media is not None and r.media.frames == pytest.approx(50, abs=1)


def test_burn_in_changes_only_the_overlay_region(
    rtsp_server_factory: RtspServerFactory, tmp_path
) -> None:
    server = rtsp_server_factory(["still:640x360@25"], pattern="smpte75", speed=0)
    config = make_config(tmp_path, [Cam("gate-1", server.url("still"))])
    with av.open(server.url("still"), options={"rtsp_transport": "tcp"}, timeout=5) as c:
        source = next(iter(c.decode(video=0)))
    record_until(config, "gate-1", segments=2)
    longest = max(records(config, "gate-1", "segment"), key=lambda r: r.media.frames)  # type: ignore[union-attr]
    recorded = decoded_frames(decrypted(config, longest))[10]

    overlay = Overlay.open(
        recording_plan(config, config.cameras[0], gateway_keys(config).recipients).overlay,
        ZoneInfo("Asia/Shanghai"),
        width=640,
        height=360,
        pix_fmt="yuv420p",
    )
    overlay.apply(av.VideoFrame(640, 360, "yuv420p"), time.time())
    assert overlay.rect is not None
    x, y, w, h = overlay.rect
    src = source.to_ndarray(format="gray").astype(np.int16)
    out = recorded.to_ndarray(format="gray").astype(np.int16)
    inside = np.zeros(src.shape, bool)
    inside[y : y + h, x : x + w] = True
    diff = np.abs(src - out)
    assert diff[inside].mean() > 20, "the overlay did not change its region"
    margin = np.zeros(src.shape, bool)
    margin[max(0, y - 8) : y + h + 8, max(0, x - 8) : x + w + 8] = True
    assert diff[~margin].mean() < 2.0, "pixels outside the overlay changed beyond encoding loss"


def _nal_units(data: bytes, length_prefixed: bool) -> list[bytes]:
    units: list[bytes] = []
    if length_prefixed:
        i = 0
        while i + 4 <= len(data):
            n = int.from_bytes(data[i : i + 4], "big")
            units.append(data[i + 4 : i + 4 + n])
            i += 4 + n
        return units
    for chunk in data.split(b"\x00\x00\x01"):
        chunk = chunk.rstrip(b"\x00")
        if chunk:
            units.append(chunk)
    return units


def _slice_units(units: list[bytes]) -> list[bytes]:
    """Picture data only (NAL types 1 and 5): parameter sets may travel in the sample entry."""
    return [u for u in units if u and (u[0] & 0x1F) in (1, 5)]


def test_passthrough_keeps_camera_packets_byte_identical(
    rtsp_server: RtspTestServer, tmp_path
) -> None:
    url = rtsp_server.url("cam2")
    reference: set[bytes] = set()
    stop = threading.Event()

    def watch() -> None:
        with av.open(url, options={"rtsp_transport": "tcp"}, timeout=5) as c:
            for p in c.demux(video=0):
                for u in _slice_units(_nal_units(bytes(p), length_prefixed=False)):
                    reference.add(hashlib.sha256(u).digest())
                if stop.is_set():
                    return

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(1.0)
    config = make_config(tmp_path, [Cam("store-1", url, overlay="passthrough")])
    record_until(config, "store-1", segments=3)
    stop.set()
    watcher.join(10)

    segs = records(config, "store-1", "segment")
    assert len(segs) >= 2
    checked = 0
    for r in segs:
        assert r.overlay is None
        with av.open(str(decrypted(config, r))) as c:
            packets = [p for p in c.demux(video=0) if p.size]
        assert packets[0].is_keyframe
        for p in packets:
            for u in _slice_units(_nal_units(bytes(p), length_prefixed=True)):
                assert hashlib.sha256(u).digest() in reference
                checked += 1
    assert checked >= 75


@pytest.fixture
def two_cameras(rtsp_server_factory: RtspServerFactory) -> Iterator[tuple[RtspTestServer, ...]]:
    yield (
        rtsp_server_factory(["cam1:320x240@25"]),
        rtsp_server_factory(["cam1:320x240@25"]),
    )


def _gaps_and_isolation(servers, tmp_path, fault: str) -> None:
    flaky, steady = servers
    config = make_config(
        tmp_path,
        [Cam("flaky", flaky.url("cam1")), Cam("steady", steady.url("cam1"))],
    )
    from gateway.daemon.lifecycle import Gateway

    gateway = Gateway(config)
    gateway.start()
    camera = next(w for w in gateway.workers if w.camera == "flaky")

    def resumed() -> bool:
        gap = [g for g in records(config, "flaky", "gap") if g.reason != "startup"]
        return bool(gap) and any(s.seq > gap[0].seq for s in records(config, "flaky", "segment"))

    try:
        wait_until("flaky records", lambda: bool(records(config, "flaky", "segment")), 60)
        if fault == "kill":
            flaky.kill()
        else:
            flaky.stall()  # the read watchdog cuts the stream one read timeout (2 s) later
        wait_until("the fault is noticed", lambda: not camera.health.snapshot().online, 60)
        time.sleep(2.0)  # the outage's length, not a wait for readiness
        if fault == "kill":
            flaky.start()
        else:
            flaky.resume()
        wait_until("recording resumes after a declared gap", resumed, 90)
    finally:
        gateway.stop()

    gaps = [g for g in records(config, "flaky", "gap") if g.reason != "startup"]
    assert len(gaps) == 1, gaps
    expected = "camera_offline" if fault == "kill" else "rtsp_timeout"
    assert gaps[0].reason == expected
    before = [r for r in records(config, "flaky", "segment") if r.seq < gaps[0].seq]
    after = [r for r in records(config, "flaky", "segment") if r.seq > gaps[0].seq]
    assert before and after, "recording must resume after the gap"
    assert gaps[0].start == before[-1].end
    assert gaps[0].end == after[0].start
    assert wall(gaps[0].end) - wall(gaps[0].start) >= 2.0
    for r in before + after:
        assert len(decoded_frames(decrypted(config, r))) == r.media.frames  # type: ignore[union-attr]

    steady_gaps = [g.reason for g in records(config, "steady", "gap")]
    assert steady_gaps == ["startup"], "one camera's failure stalled another"
    steady_segs = records(config, "steady", "segment")
    for prev, nxt in itertools.pairwise(steady_segs):
        assert wall(nxt.start) - wall(prev.end) <= FRAME_S + SLACK_S


def test_killed_camera_gives_offline_gap_and_resumes(two_cameras, tmp_path) -> None:
    _gaps_and_isolation(two_cameras, tmp_path, "kill")


def test_stalled_camera_gives_timeout_gap_and_resumes(two_cameras, tmp_path) -> None:
    _gaps_and_isolation(two_cameras, tmp_path, "stall")


@pytest.mark.parametrize("mode", ["burn_in", "passthrough"])
def test_audio_is_kept(rtsp_server_factory: RtspServerFactory, tmp_path, mode: str) -> None:
    server = rtsp_server_factory(["av:320x240@25:audio"])
    config = make_config(tmp_path, [Cam("mic", server.url("av"), overlay=mode)])
    record_until(config, "mic", segments=2)
    segs = records(config, "mic", "segment")
    assert segs
    for r in segs:
        assert r.media is not None and r.media.audio_codec == "aac"
        with av.open(str(decrypted(config, r))) as c:
            assert c.streams.audio, "audio stream missing"
            rate = c.streams.audio[0].rate
            samples = sum(f.samples for f in c.decode(audio=0))
        assert samples / rate == pytest.approx(r.media.duration_s, abs=0.3)
