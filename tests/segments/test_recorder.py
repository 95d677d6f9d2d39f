"""StreamRecorder driven from a local MP4 file: fast, deterministic checks of what it seals."""

import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from cameras.freeze import FreezeDetector, FreezeState
from cameras.picture import sample_picture
from cameras.rtsp import RtspStream, StreamSettings
from segments.clock import ClockStep
from segments.ledger import Ledger, signature_ok
from segments.overlay import OverlaySpec
from segments.recorder import (
    BURN_IN,
    PASSTHROUGH,
    StreamRecorder,
)
from segments.records import Record
from segments.timeline import iso_utc
from tests.conftest import RtspServerFactory
from tests.segments.recorder_rig import (
    ANCHOR,
    EPS,
    FPS,
    FRAME_S,
    SOURCE_FRAMES,
    Rig,
    assert_continuous_and_aligned,
    assert_signed,
    decoded,
    feed_all,
    file_packets,
    live_arrival,
    make_rig,
    make_source,
    since,
    source_packets,
    wall_of,
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory)


@pytest.mark.parametrize("mode", [BURN_IN, PASSTHROUGH])
def test_a_file_is_recorded_into_aligned_continuous_decodable_segments(
    tmp_path: Path, source: Path, mode: str
) -> None:
    rig = make_rig(tmp_path, mode)
    feed_all(rig, source)
    rig.recorder.close(time.time())

    records = rig.records()
    assert [r.kind for r in records[:3]] == ["key", "boot", "gap"]
    assert records[0].extra["public_key"] == rig.signer.public_key_text()
    assert records[2].reason == "startup" and records[2].end == records[3].start
    segs = records[3:]
    assert {r.kind for r in segs} == {"segment"}
    spans = [(since(r.start), since(r.end)) for r in segs]
    assert spans[:3] == [(0, 1), (1, 3), (3, 5)]
    assert spans[3][0] == 5
    if mode == BURN_IN:  # passthrough: see test_passthrough_end_and_duration_with_b_frames
        assert spans[3][1] == 7
    assert_continuous_and_aligned(segs)
    assert sum(r.media.frames for r in segs if r.media) == SOURCE_FRAMES
    assert len(source_packets(source)) == SOURCE_FRAMES
    for r in segs:
        assert r.media is not None and (r.media.width, r.media.height) == (320, 240)
        assert r.overlay == (OverlaySpec(location="x", camera="y").template if mode == BURN_IN
                             else None)  # fmt: skip
        if mode == BURN_IN:
            assert r.media.duration_s == pytest.approx(r.duration_s, abs=1e-6)
        assert r.file is not None and r.file.endswith(f"{r.seq:08d}_{r.file[-24:]}")
        sidecar = rig.store.root / r.file.replace(".mp4.age", ".json")
        assert Record.from_json(sidecar.read_bytes()) == r
        plain = rig.plaintext(r)
        assert len(plain) == r.size_plain
        frames, key_packet, key_frame = decoded(plain)
        assert frames == r.media.frames
        assert key_packet and key_frame, f"segment {r.seq} does not start with a keyframe"
    assert rig.store.leftover_parts() == []
    assert_signed(rig)
    reopened = Ledger.open(rig.store.root, "cam", "gw", rig.signer)
    assert reopened.closed_cleanly


def test_passthrough_keeps_the_camera_packets_byte_for_byte(tmp_path: Path, source: Path) -> None:
    rig = make_rig(tmp_path, PASSTHROUGH)
    feed_all(rig, source)
    rig.recorder.close(time.time())
    recorded: list[bytes] = []
    for r in rig.records("segment"):
        with av.open(io.BytesIO(rig.plaintext(r)), "r") as c:
            recorded += [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]
    assert recorded == source_packets(source)


def test_an_interruption_leaves_a_gap_record_between_segments(tmp_path: Path, source: Path) -> None:
    rig = make_rig(tmp_path, BURN_IN)
    rec = rig.recorder
    fed: set[int] = set()  # frame indices; the cut falls where they are contiguous (no B hole)
    latest = [0.0]
    for p, s in file_packets(source):
        assert s.video is not None and s.video.time_base is not None and p.pts is not None
        if not fed:
            rec.connect(s.video, s.audio)
        if len(fed) >= 90 and fed == set(range(len(fed))):
            break
        fed.add(round(p.pts * s.video.time_base * FPS))
        arrival = live_arrival(ANCHOR, p, latest)
        rec.feed(p, arrival, arrival)
    rec.interrupt("camera_offline", ANCHOR + 5.0)
    resumed = ANCHOR + 20.0
    feed_all(rig, source, anchor=resumed)
    rec.close(time.time())

    records = rig.records()[3:]
    kinds = [r.kind for r in records]
    assert kinds.count("gap") == 1
    g = kinds.index("gap")
    before, gap, after = records[g - 1], records[g], records[g + 1]
    assert before.kind == after.kind == "segment"
    assert gap.reason == "camera_offline"
    assert gap.start == before.end
    assert since(before.end) == pytest.approx(len(fed) * FRAME_S, abs=1e-6)
    assert gap.end == after.start == iso_utc(resumed)
    assert gap.duration_s == pytest.approx(resumed - wall_of(before.end), abs=1e-6)
    segs = [r for r in records if r.kind == "segment"]
    assert_continuous_and_aligned(segs[:g])
    assert_continuous_and_aligned(segs[g:])
    assert sum(r.media.frames for r in segs if r.media) == len(fed) + SOURCE_FRAMES
    assert_signed(rig)


@pytest.mark.parametrize("mode", [PASSTHROUGH, BURN_IN])
def test_a_clock_step_back_during_a_reconnect_puts_the_whole_next_segment_on_the_new_clock(
    tmp_path: Path, source: Path, mode: str
) -> None:
    """The first frame after the reconnect is placed on the stepped clock too: a segment that
    began an hour back must not end where the old clock would have put that frame."""
    rig = make_rig(tmp_path, mode)
    rec = rig.recorder
    latest = [0.0]
    for p, s in file_packets(source):
        assert s.video is not None and p.pts is not None
        if p.pts == 0:
            rec.connect(s.video, s.audio)
        if p.is_keyframe and float(p.pts * p.time_base) >= 2.0:
            break
        arrival = live_arrival(ANCHOR, p, latest)
        rec.feed(p, arrival, arrival)
    rec.interrupt("camera_offline", ANCHOR + 2.0)
    rec.clock_step(ClockStep(step_s=-3600.0, wall_before=ANCHOR + 2.1, wall_after=ANCHOR - 3597.9))
    latest = [0.0]
    for p, s in file_packets(source):  # under a second: the segment ends with the stream
        assert s.video is not None and p.pts is not None
        if p.pts == 0:
            rec.connect(s.video, s.audio)
        if p.is_keyframe and p.pts:
            break
        arrival = live_arrival(ANCHOR - 3596.5, p, latest)
        rec.feed(p, arrival, arrival)
    rec.interrupt("camera_offline", ANCHOR - 3595.0)
    rec.close(time.time())

    after = [r for r in rig.records("segment") if wall_of(r.start) < ANCHOR]
    assert len(after) == 1 and after[0].media is not None and after[0].media.frames == FPS
    assert since(after[0].end) - since(after[0].start) == pytest.approx(1.0, abs=EPS)
    assert_signed(rig)


@pytest.mark.parametrize("mode", [PASSTHROUGH, BURN_IN])
def test_a_re_anchor_taken_before_a_reconnect_is_taken_again_on_the_new_connection(
    tmp_path: Path, source: Path, mode: str
) -> None:
    """The stepped clock was pinned to the old connection's PTS; the new connection numbers
    its frames afresh, so its first segment starts when its first frame arrived."""
    rig = make_rig(tmp_path, mode)
    rec = rig.recorder
    step, stepped = -3600.0, False
    for p, s in file_packets(source):
        assert s.video is not None and p.pts is not None
        if p.pts == 0:
            rec.connect(s.video, s.audio)
        pts_s = float(p.pts * p.time_base)
        if pts_s >= 1.6:
            break
        if not stepped and pts_s >= 1.4:
            rec.clock_step(ClockStep(step, wall_before=ANCHOR + 1.4, wall_after=ANCHOR - 3598.6))
            stepped = True
        rec.feed(p, ANCHOR + pts_s + (step if stepped else 0.0), ANCHOR + pts_s)
    rec.interrupt("rtsp_timeout", ANCHOR - 3598.0)
    resumed = ANCHOR - 3597.0
    feed_all(rig, source, anchor=resumed)
    rec.close(time.time())

    after = [r for r in rig.records() if r.kind in ("segment", "gap") and wall_of(r.start) < ANCHOR]
    assert [r.kind for r in after][:2] == ["gap", "segment"]
    assert after[1].start == iso_utc(resumed)
    assert_signed(rig)


@pytest.mark.parametrize("mode", [PASSTHROUGH, BURN_IN])
def test_a_clock_step_is_recorded_and_the_next_segment_re_anchors(
    tmp_path: Path, source: Path, mode: str
) -> None:
    rig = make_rig(tmp_path, mode)
    rec = rig.recorder
    step = 5.0
    stepped = False
    for p, s in file_packets(source):
        assert s.video is not None and s.video.time_base is not None and p.pts is not None
        if p.pts == 0:
            rec.connect(s.video, s.audio)
        pts_s = float(p.pts * s.video.time_base)
        if not stepped and pts_s >= 2.4:
            before = ANCHOR + 2.4
            rec.clock_step(ClockStep(step_s=step, wall_before=before, wall_after=before + step))
            stepped = True
        rec.feed(p, ANCHOR + pts_s + (step if stepped else 0.0), ANCHOR + pts_s)
    rec.close(time.time())

    records = rig.records()[3:]
    assert [r.kind for r in records] == ["segment", "clock"] + ["segment"] * 4
    clock = records[1]
    assert clock.reason == "clock_step" and clock.extra == {"step_s": 5.0}
    assert clock.start == iso_utc(ANCHOR + 2.4) and clock.end == iso_utc(ANCHOR + 7.4)
    assert signature_ok(clock, rig.signer.verifier())
    segs = [r for r in records if r.kind == "segment"]
    # The open segment keeps its PTS timeline and is cut at its boundary on that timeline …
    assert (since(segs[1].start), since(segs[1].end)) == (1, 3)
    # … the next one starts at the stepped wall time of its first frame and aligns from there.
    assert (since(segs[2].start), since(segs[2].end)) == (3 + step, 4 + step)
    assert_continuous_and_aligned(segs[2:])
    assert since(segs[-1].start) == 6 + step
    if mode == BURN_IN:  # passthrough: see test_passthrough_end_and_duration_with_b_frames
        assert since(segs[-1].end) == 7 + step
    assert sum(r.media.frames for r in segs if r.media) == SOURCE_FRAMES
    assert_signed(rig)


def test_passthrough_end_and_duration_with_b_frames(tmp_path: Path, source: Path) -> None:
    rig = make_rig(tmp_path, PASSTHROUGH)
    feed_all(rig, source)
    rig.recorder.close(time.time())
    segs = rig.records("segment")
    assert since(segs[-1].end) == 7
    for r in segs:
        assert r.media is not None and r.media.duration_s == pytest.approx(r.duration_s, abs=1e-6)


# Pictures for frozen-picture detection (segments/pictures.py).


@dataclass
class Pictures:
    walls: list[float]
    lumas: list[bytes]

    def __call__(self, wall: float, frame: av.VideoFrame) -> None:
        self.walls.append(round(wall - ANCHOR, 6))
        self.lumas.append(frame.to_ndarray()[: frame.height].tobytes())


def _picture_rig(
    tmp_path: Path, mode: str, on_picture: Callable[[float, av.VideoFrame], None], every: float
) -> Rig:
    rig = make_rig(tmp_path, mode)
    r = rig.recorder
    rig.recorder = StreamRecorder(
        r.plan, r.identity, r.store, r.ledger, on_picture=on_picture, picture_interval_s=every
    )
    return rig


def _source_lumas(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [f.to_ndarray()[: f.height].tobytes() for f in c.decode(video=0)]


@pytest.mark.parametrize("mode", [BURN_IN, PASSTHROUGH])
@pytest.mark.parametrize("every", [1.0, 2.0])
def test_pictures_arrive_once_per_interval_without_the_overlay(
    tmp_path: Path, source: Path, mode: str, every: float
) -> None:
    pictures = Pictures([], [])
    rig = _picture_rig(tmp_path, mode, pictures, every)
    feed_all(rig, source)
    rig.recorder.close(time.time())
    expected = [float(t) for t in range(0, 7, int(every))]  # keyframes sit on whole seconds
    assert pictures.walls == expected
    decoded = _source_lumas(source)  # the camera's pictures: no clock text drawn into them
    assert pictures.lumas == [decoded[int(t) * FPS] for t in expected]
    assert sum(r.media.frames for r in rig.records("segment") if r.media) == SOURCE_FRAMES


def test_passthrough_with_pictures_keeps_the_camera_packets_byte_for_byte(
    tmp_path: Path, source: Path
) -> None:
    pictures = Pictures([], [])
    rig = _picture_rig(tmp_path, PASSTHROUGH, pictures, 1.0)
    feed_all(rig, source)
    rig.recorder.close(time.time())
    assert len(pictures.walls) == 7
    recorded: list[bytes] = []
    for r in rig.records("segment"):
        with av.open(io.BytesIO(rig.plaintext(r)), "r") as c:
            recorded += [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]
    assert recorded == source_packets(source)


@pytest.mark.parametrize("mode", [BURN_IN, PASSTHROUGH])
def test_a_failing_picture_callback_does_not_disturb_recording(
    tmp_path: Path, source: Path, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[float] = []

    def broken(wall: float, frame: av.VideoFrame) -> None:
        calls.append(wall)
        raise RuntimeError("detector bug")

    rig = _picture_rig(tmp_path, mode, broken, 1.0)
    feed_all(rig, source)
    rig.recorder.close(time.time())
    assert len(calls) == 7
    segs = rig.records("segment")
    assert [(since(r.start), since(r.end)) for r in segs][:3] == [(0, 1), (1, 3), (3, 5)]
    assert sum(r.media.frames for r in segs if r.media) == SOURCE_FRAMES
    failures = [r for r in caplog.records if "picture callback failed" in r.getMessage()]
    assert len(failures) == 1, "one traceback per run of failures, not one per second"


def _live_freeze(
    url: str, tmp_path: Path, mode: str, seconds: float
) -> list[tuple[float, FreezeState]]:
    """(seconds since the first picture, verdict) for the recorder's pictures of a live stream."""
    detector = FreezeDetector(frozen_after_s=2)
    states: list[tuple[float, FreezeState]] = []

    def check(wall: float, frame: av.VideoFrame) -> None:
        states.append((wall, detector.update(wall, sample_picture(frame))))

    rig = _picture_rig(tmp_path, mode, check, 1.0)
    with RtspStream(StreamSettings(url)) as s:
        assert s.video is not None
        rig.recorder.connect(s.video, s.audio)
        for p in s.packets():
            rig.recorder.feed(p, time.time(), time.monotonic())
            if states and states[-1][0] - states[0][0] >= seconds:
                break
    rig.recorder.close(time.time())
    return [(wall - states[0][0], state) for wall, state in states]


@pytest.mark.parametrize("mode", [PASSTHROUGH, BURN_IN])
def test_a_live_stuck_camera_freezes_and_a_moving_or_noisy_one_does_not(
    rtsp_server_factory: RtspServerFactory, tmp_path: Path, mode: str
) -> None:
    still = rtsp_server_factory(["still:320x240@25"], pattern="colors", speed=0)
    moving = rtsp_server_factory(["moving:320x240@25"])  # smpte scrolling 4 px a frame
    noisy = rtsp_server_factory(["noisy:320x240@25"], pattern="colors", speed=0, noise=0.03)
    results: dict[str, list[tuple[float, FreezeState]]] = {}

    def run(name: str, url: str) -> None:
        results[name] = _live_freeze(url, tmp_path / name, mode, 5.0)

    threads = [
        threading.Thread(target=run, args=(name, server.url(name)), name=name)
        for name, server in [("still", still), ("moving", moving), ("noisy", noisy)]
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    first_frozen = next(t for t, state in results["still"] if state.frozen)
    assert first_frozen <= 2 + 2
    moving, noisy = [s for _, s in results["moving"]], [s for _, s in results["noisy"]]
    assert len(moving) >= 5 and not any(s.frozen or s.scene_still for s in moving)
    assert len(noisy) >= 5 and not any(s.frozen for s in noisy) and noisy[-1].scene_still
