"""When passthrough decodes a keyframe for the freeze check (segments/pictures.py): a stream
whose moving picture keeps its packets busy is checked less often, a picture that stops
changing is checked on time."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from cameras.freeze import FreezeDetector
from cameras.picture import PictureSampler
from segments.pictures import BUSY_BYTES, CHECK_EVERY, PictureTap

SECONDS = 12
MOVING = f"testsrc2=size=320x240:rate=25:duration={SECONDS}"
QP12 = ("-qp", "12")  # makes a moving picture's P-frames busy
# Constant bit rate with HRD filler: an unchanged picture's P-frames are padded to ~3 kB.
PADDED = ("-b:v", "800k", "-minrate", "800k", "-maxrate", "800k", "-bufsize", "400k",
          "-x264-params", "nal-hrd=cbr:force-cfr=1")  # fmt: skip
FROZEN_AFTER_S = 5.0
SETTLE_S = 8.0  # x264 re-encodes a repeated picture a little differently until it settles


def _sticks_after_2_s(seconds_stuck: int) -> str:
    """Moves for 2 s, then repeats its last frame: what a camera that sticks sends."""
    moving = "testsrc2=size=320x240:rate=25:duration=2"
    return f"{moving},tpad=stop_mode=clone:stop_duration={seconds_stuck}"


def _clip(folder: Path, source: str, rate: tuple[str, ...] = QP12) -> Path:
    """A keyframe every second, no B-frames."""
    path = folder / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-c:v", "libx264",
         "-preset", "ultrafast", "-bf", "0", "-g", "25", "-sc_threshold", "0", *rate,
         "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def moving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clip(tmp_path_factory.mktemp("moving"), MOVING)


@pytest.fixture(scope="module")
def sticks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clip(tmp_path_factory.mktemp("sticks"), _sticks_after_2_s(SECONDS - 2))


@pytest.fixture(scope="module")
def padded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clip(tmp_path_factory.mktemp("padded"), _sticks_after_2_s(28), PADDED)


def _checked(
    path: Path, answer: Callable[[float], bool | None], interval_s: float = 1.0
) -> list[float]:
    """Stream seconds of the pictures the tap decoded, the callback answering `answer(wall)`."""
    walls: list[float] = []

    def callback(wall: float, frame: av.VideoFrame) -> bool | None:
        assert frame.width == 320
        walls.append(round(wall, 3))
        return answer(wall)

    _feed(path, PictureTap(callback, interval_s, "cam-1"))
    return walls


def _feed(path: Path, tap: PictureTap) -> None:
    """Every packet of the clip, as the passthrough recorder hands them over."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        tap.connect(video)
        for packet in container.demux(video):
            if packet.size and packet.pts is not None:
                tap.packet(float(packet.pts * video.time_base), packet, packet.is_keyframe)


def _inter_sizes(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [p.size for p in container.demux(video=0) if p.size and not p.is_keyframe]


def test_the_clips_are_what_the_tests_say(moving: Path, sticks: Path) -> None:
    assert min(_inter_sizes(moving)) >= BUSY_BYTES
    assert max(_inter_sizes(sticks)[2 * 25 :]) < 100  # a repeated picture: tens of bytes


def test_a_moving_busy_picture_is_checked_every_fifth_interval(moving: Path) -> None:
    walls = _checked(moving, lambda wall: True)
    assert walls == [float(s) for s in range(0, SECONDS, CHECK_EVERY)]


def test_a_picture_that_did_not_move_is_checked_every_interval(moving: Path) -> None:
    assert _checked(moving, lambda wall: False) == [float(s) for s in range(SECONDS)]
    assert _checked(moving, lambda wall: None) == [float(s) for s in range(SECONDS)]


def test_the_first_keyframe_after_the_picture_sticks_is_checked(sticks: Path) -> None:
    # Moving until 2 s: the checks at 1 and 2 s wait. The second after it sticks codes to
    # tens of bytes, so 3 s is checked although the callback still says "moving".
    assert _checked(sticks, lambda wall: True) == [0.0, 3.0, *map(float, range(4, SECONDS))]


def test_a_picture_that_stops_moving_is_checked_again_at_the_interval(moving: Path) -> None:
    walls = _checked(moving, lambda wall: wall < 5.0)
    assert walls == [0.0, 5.0, *map(float, range(6, SECONDS))]


def test_the_longest_wait_follows_the_interval(moving: Path) -> None:
    assert _checked(moving, lambda wall: True, interval_s=2.0) == [0.0, 10.0]


def test_a_failing_callback_is_never_waited_for(moving: Path) -> None:
    def broken(wall: float) -> bool:
        raise RuntimeError("detector bug")

    assert _checked(moving, broken) == [float(s) for s in range(SECONDS)]


def test_a_stuck_camera_that_pads_its_p_frames_is_still_reported(padded: Path) -> None:
    """The one case whose bytes stay busy: checked every fifth interval, it still freezes."""
    stuck = _inter_sizes(padded)[3 * 24 :]  # 24 P-frames a second
    assert min(sum(stuck[i : i + 24]) / 24 for i in range(0, len(stuck) - 23, 24)) >= BUSY_BYTES
    detector, sample = FreezeDetector(FROZEN_AFTER_S), PictureSampler()
    frozen: list[float] = []
    walls: list[float] = []

    def callback(wall: float, frame: av.VideoFrame) -> bool:
        walls.append(wall)
        state = detector.update(wall, sample(frame))
        if state.frozen:
            frozen.append(wall)
        return state.moved

    _feed(padded, PictureTap(callback, 1.0, "cam-1"))
    assert walls[1:3] == [1.0, 1.0 + CHECK_EVERY], "the moving, busy picture waited"
    assert frozen, "a padded stuck camera was never reported"
    bound = 2.0 + 2 * max(FROZEN_AFTER_S, CHECK_EVERY * 1.0) + SETTLE_S + 1.0
    assert frozen[0] <= bound
