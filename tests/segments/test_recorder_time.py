"""Camera time is checked, not trusted: PTS jumps and drifts, stalls, audio-only, gap bounds.

The recorder is fed a local MP4 whose packets arrive as a live camera's would; the PTS are
rewritten to play a camera (or a man in the middle) that shifts time. What it seals must
keep to the gateway's clock and verify without a time regression.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from segments.recorder import BURN_IN, CAMERA_DRIFT, PASSTHROUGH
from segments.records import Record
from segments.settle import NO_VIDEO_PACKETS, NoVideoError
from segments.trust import TrustedKeys
from segments.verify import DirMediaSource, Verdict, verify
from tests.segments.recorder_rig import (
    ANCHOR,
    SOURCE_FRAMES,
    Rig,
    file_packets,
    make_rig,
    make_source,
    wall_of,
)

HOUR = 3600.0
LONG_S = 28

# (pts seconds) -> (seconds added to the packet's PTS, arrival seconds after ANCHOR)
Timing = Callable[[float], tuple[float, float]]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory)


@pytest.fixture(scope="module")
def long_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A long connection: 28 s of 160x120 at 25 fps, a keyframe a second."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size=160x120:rate=25:duration={LONG_S}", "-c:v", "libx264",
         "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def play(rig: Rig, path: Path, timing: Timing) -> None:
    """Feed every packet of `path`; `timing` shifts its PTS and says when it arrives."""
    connected = False
    for p, s in file_packets(path):
        assert s.video is not None and s.video.time_base is not None and p.pts is not None
        if not connected:
            rig.recorder.connect(s.video, s.audio)
            connected = True
        pts_s = float(p.pts * s.video.time_base)
        shift, at = timing(pts_s)
        ticks = round(shift / s.video.time_base)
        p.pts += ticks
        assert p.dts is not None
        p.dts += ticks
        rig.recorder.feed(p, ANCHOR + at, ANCHOR + at)
    rig.recorder.close(ANCHOR + 300)


def trusted_verdict(rig: Rig) -> tuple[Verdict, list[str]]:
    trusted = TrustedKeys.single(rig.signer.verifier())
    report = verify([("cam", DirMediaSource(rig.store.root))], trust=trusted)
    [stream] = report.streams
    return report.verdict, [f"{f.seq} {f.verdict} {f.detail}" for f in stream.findings]


def drift_records(rig: Rig) -> list[Record]:
    return [r for r in rig.records("clock") if r.reason == CAMERA_DRIFT]


def segment_spans(rig: Rig) -> list[tuple[float, float]]:
    return [(wall_of(r.start) - ANCHOR, wall_of(r.end) - ANCHOR) for r in rig.records("segment")]


def assert_no_regression(rig: Rig) -> None:
    verdict, rows = trusted_verdict(rig)
    assert verdict in (Verdict.AUTHENTIC, Verdict.AUTHENTIC_WITH_DECLARED_GAPS), rows
    assert not [r for r in rows if "TIME_REGRESSION" in r]


# --- jumps -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [BURN_IN, PASSTHROUGH])
@pytest.mark.parametrize("jump", [HOUR, -HOUR, 5.0, -5.0])
def test_a_pts_jump_is_re_anchored_and_declared(
    tmp_path: Path, source: Path, mode: str, jump: float
) -> None:
    """The reproduction: after the first frame PTS alone drove the clock, so a camera that
    jumps its timestamps moved the burned-in time and the ledger by the same amount."""
    rig = make_rig(tmp_path, mode)
    base = 2 * HOUR  # room below for a backward jump

    def timing(pts_s: float) -> tuple[float, float]:
        return base + (jump if pts_s >= 3.5 else 0.0), pts_s

    play(rig, source, timing)
    [clock] = drift_records(rig)
    assert clock.extra["pts_jump"] is True
    assert clock.extra["jump_s"] == pytest.approx(-jump, abs=0.2)
    assert wall_of(clock.end) - ANCHOR == pytest.approx(3.5, abs=0.2)
    spans = segment_spans(rig)
    assert all(-0.01 <= start <= end <= 7.1 for start, end in spans), spans
    before = [s for s in spans if s[1] <= 3.6]
    after = [s for s in spans if s[0] >= 3.5]
    assert before and after and len(before) + len(after) == len(spans)
    gaps = [r for r in rig.records("gap") if r.reason == CAMERA_DRIFT]
    assert len(gaps) == 1 and wall_of(gaps[0].end) - ANCHOR <= 4.0 + 0.01  # next keyframe
    kinds = [r.kind for r in rig.records()]
    assert kinds.index("clock") < kinds.index("gap", kinds.index("clock"))
    assert_no_regression(rig)


# --- drifts ----------------------------------------------------------------------------------


def test_a_slow_camera_clock_is_re_anchored_on_a_long_connection(
    tmp_path: Path, long_source: Path
) -> None:
    """PTS advances at half the real rate: behind by 2 s for a whole window, the mapping
    moves forward, and again as the camera keeps losing time."""
    rig = make_rig(tmp_path, PASSTHROUGH)
    play(rig, long_source, lambda pts_s: (0.0, 2 * pts_s))
    clocks = drift_records(rig)
    assert len(clocks) >= 3
    assert all(c.extra["pts_jump"] is False and c.extra["jump_s"] > 2.0 for c in clocks)
    assert not [r for r in rig.records("gap") if r.reason == CAMERA_DRIFT]
    frames = sum(r.media.frames for r in rig.records("segment") if r.media)
    assert frames == LONG_S * 25
    ends = [e for _, e in segment_spans(rig)]
    # Real time (56 s), not the camera's 28 s: behind by at most the threshold plus what this
    # absurdly slow camera loses while the window confirms (2 s + 10 s / 2).
    assert 56.0 - 7.5 <= ends[-1] <= 56.1
    assert_no_regression(rig)


@pytest.mark.parametrize("mode", [BURN_IN, PASSTHROUGH])
def test_a_fast_camera_clock_is_pulled_back(tmp_path: Path, source: Path, mode: str) -> None:
    """PTS runs at twice the real rate: a packet early by more than 2 s is impossible."""
    rig = make_rig(tmp_path, mode)
    play(rig, source, lambda pts_s: (0.0, pts_s / 2))
    clocks = drift_records(rig)
    assert clocks and all(c.extra["jump_s"] < -2.0 for c in clocks)
    assert all(wall_of(c.end) < wall_of(c.start) for c in clocks)  # declared backward
    spans = segment_spans(rig)
    assert 3.4 <= spans[-1][1] <= 3.5 + 2.1  # real time (3.5 s) ahead by at most the threshold
    assert sum(r.media.frames for r in rig.records("segment") if r.media) == SOURCE_FRAMES
    assert_no_regression(rig)


def test_a_network_stall_and_burst_is_no_drift(tmp_path: Path, source: Path) -> None:
    """Packets held back 1.8 s and delivered in a burst: late, but PTS are honest."""
    rig = make_rig(tmp_path, BURN_IN)
    play(rig, source, lambda pts_s: (0.0, max(pts_s, 4.3) if pts_s >= 2.5 else pts_s))
    assert drift_records(rig) == []
    assert_no_regression(rig)


def test_jitter_below_the_threshold_is_no_drift(tmp_path: Path, source: Path) -> None:
    rig = make_rig(tmp_path, PASSTHROUGH)
    play(rig, source, lambda pts_s: (0.0, pts_s + (1.5 if int(pts_s * 25) % 7 == 0 else 0.0)))
    assert drift_records(rig) == []


# --- bounds ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("av") / "av.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         "testsrc2=size=160x120:rate=25:duration=2", "-f", "lavfi", "-i",
         "sine=frequency=440:sample_rate=16000:duration=2", "-c:v", "libx264",
         "-preset", "ultrafast", "-c:a", "aac", "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def test_an_audio_only_stream_is_a_no_video_error_not_a_pile(
    tmp_path: Path, with_audio: Path
) -> None:
    """The reproduction: audio packets piled up in `_settling` until the watchdog struck."""
    rig = make_rig(tmp_path, BURN_IN)
    with av.open(str(with_audio)) as c:
        rig.recorder.connect(c.streams.video[0], c.streams.audio[0])
        audio = [p for p in c.demux(c.streams.audio[0]) if p.size]
        fed = 0
        with pytest.raises(NoVideoError, match="no video") as e:
            for n in range(NO_VIDEO_PACKETS * 2):
                rig.recorder.feed(audio[n % len(audio)], ANCHOR + n * 0.001, ANCHOR + n * 0.001)
                fed += 1
    assert fed == NO_VIDEO_PACKETS - 1 and e.value.reason == "no_video"


def test_no_video_for_ten_seconds_is_a_no_video_error(tmp_path: Path, with_audio: Path) -> None:
    rig = make_rig(tmp_path, BURN_IN)
    with av.open(str(with_audio)) as c:
        rig.recorder.connect(c.streams.video[0], c.streams.audio[0])
        audio = [p for p in c.demux(c.streams.audio[0]) if p.size]
        with pytest.raises(NoVideoError):
            for n, p in enumerate(audio * 10):
                rig.recorder.feed(p, ANCHOR + n * 0.2, ANCHOR + n * 0.2)
        assert n * 0.2 == pytest.approx(10.0)


def test_a_startup_burst_never_ends_the_gap_before_it_began(tmp_path: Path, source: Path) -> None:
    """The reproduction (`camera_offline from …20.358 to …20.243`): a camera that opens with
    a second of buffered frames put its first frame before the open gap's start."""
    rig = make_rig(tmp_path, BURN_IN)
    t0 = time.time() + 0.01  # the boot record and the startup gap began just before
    connected = False
    for p, s in file_packets(source):
        assert s.video is not None and s.video.time_base is not None and p.pts is not None
        if not connected:
            rig.recorder.connect(s.video, s.audio)
            connected = True
        pts_s = float(p.pts * s.video.time_base)
        at = t0 if pts_s < 1.0 else t0 + pts_s - 0.96  # the first second all at once
        rig.recorder.feed(p, at, at)
    rig.recorder.close(time.time() + 10)
    for r in rig.records("gap"):
        assert wall_of(r.end) >= wall_of(r.start), (r.reason, r.start, r.end)
    [startup] = [r for r in rig.records("gap") if r.reason == "startup"]
    first = rig.records("segment")[0]
    assert startup.end == first.start


def test_a_stop_before_the_last_frame_ends_is_an_empty_clamped_gap(
    tmp_path: Path, source: Path
) -> None:
    rig = make_rig(tmp_path, PASSTHROUGH)
    rec = rig.recorder
    for n, (p, s) in enumerate(file_packets(source)):
        assert s.video is not None and s.video.time_base is not None and p.pts is not None
        if n == 0:
            rec.connect(s.video, s.audio)
        at = ANCHOR + float(p.pts * s.video.time_base)
        rec.feed(p, at, at)
    rec.interrupt("camera_offline", ANCHOR + 6.9)
    rec.close(ANCHOR + 6.95)  # stopped before the last frame's time ran out
    gap = rig.records("gap")[-1]
    assert gap.reason == "camera_offline" and gap.start == gap.end
    assert gap.extra["clamped_s"] > 0
    assert_no_regression(rig)


def test_a_failing_feed_never_leaves_a_half_settled_connection(
    tmp_path: Path, with_audio: Path
) -> None:
    rig = make_rig(tmp_path, BURN_IN)
    with av.open(str(with_audio)) as c:
        rig.recorder.connect(c.streams.video[0], c.streams.audio[0])
        audio = [p for p in c.demux(c.streams.audio[0]) if p.size]
        with contextlib.suppress(NoVideoError):
            for n in range(NO_VIDEO_PACKETS):
                rig.recorder.feed(audio[n % len(audio)], ANCHOR, ANCHOR)
        rig.recorder.interrupt("no_video", ANCHOR + 1)
        rig.recorder.close(ANCHOR + 2)
    assert [r.reason for r in rig.records("gap")] == ["no_video"]
