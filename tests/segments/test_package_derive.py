"""The derived MP4 keeps the camera's audio: decoded from the copy, at its wall-clock place."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from segments.package_derive import derive_mp4, same_packets

T0 = 1_800_000_000.0
TONE_HZ = 440
RATE = 16_000


def segment(folder: Path, name: str, audio: bool = True, tone: int = TONE_HZ) -> Path:
    """2 s of fragmented MP4 as the recorder writes it: H.264, a keyframe a second, AAC tone."""
    out = folder / name
    args = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
            "testsrc2=size=160x120:rate=25:duration=2"]  # fmt: skip
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate={RATE}:duration=2"]
        args += ["-c:a", "aac"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
             "-movflags", "frag_keyframe+empty_moov", "-f", "mp4", str(out)]  # fmt: skip
    subprocess.run(args, check=True, timeout=60)
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    return [segment(folder, "a.mp4"), segment(folder, "b.mp4")]


def decoded_audio(path: Path) -> tuple[np.ndarray, float]:
    """All samples of the first audio stream and the time of the first one."""
    with av.open(str(path)) as c:
        frames = list(c.decode(audio=0))
    assert frames, f"{path.name} has no decodable audio"
    first = frames[0].time
    assert first is not None
    return np.concatenate([f.to_ndarray()[0] for f in frames]), first


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


def test_the_derived_copy_carries_the_originals_audio_for_the_kept_stretch(
    clips: list[Path], tmp_path: Path
) -> None:
    inputs = [(clips[0], T0), (clips[1], T0 + 2)]
    derived = derive_mp4(inputs, T0 + 0.5, T0 + 3.5, tmp_path / "d.mp4", "note")
    assert derived.audio_packets > 0 and derived.packets == 100
    samples, first = decoded_audio(tmp_path / "d.mp4")
    assert first == pytest.approx(0.0, abs=0.1)  # the tone starts with the first keyframe
    assert len(samples) / RATE == pytest.approx(4.0, abs=0.25)  # both, not doubled (AAC priming)
    assert dominant_hz(samples) == pytest.approx(TONE_HZ, abs=5)
    assert np.sqrt(np.mean(samples**2)) > 0.05  # heard (lavfi sine: amplitude 1/8)


def test_audio_stays_at_its_wall_clock_place_across_a_declared_gap(
    clips: list[Path], tmp_path: Path
) -> None:
    """A gap of 3 s between segments stays 3 s of nothing, for the sound as for the picture."""
    inputs = [(clips[0], T0), (clips[1], T0 + 5)]
    derive_mp4(inputs, T0, T0 + 7, tmp_path / "d.mp4", "note")
    with av.open(str(tmp_path / "d.mp4")) as c:
        times = [f.time for f in c.decode(audio=0)]
    jumps = [b - a for a, b in itertools.pairwise(times) if b - a > 0.5]
    assert jumps == [pytest.approx(3.0 + 1024 / RATE, abs=0.15)]


def test_the_audio_remux_is_deterministic_and_compared_by_packet(
    clips: list[Path], tmp_path: Path
) -> None:
    inputs = [(clips[0], T0), (clips[1], T0 + 2)]
    one = derive_mp4(inputs, T0, T0 + 4, tmp_path / "one.mp4", "note")
    two = derive_mp4(inputs, T0, T0 + 4, tmp_path / "two.mp4", "note")
    assert one.sha256 == two.sha256
    assert same_packets(tmp_path / "one.mp4", tmp_path / "two.mp4")
    silent = derive_mp4(inputs[:1], T0, T0 + 4, tmp_path / "short.mp4", "note")
    assert silent.sha256 != one.sha256
    assert not same_packets(tmp_path / "one.mp4", tmp_path / "short.mp4")


def test_other_audio_is_not_the_same_packets(clips: list[Path], tmp_path: Path) -> None:
    """P8's fallback compares sound too: a copy with swapped audio is not the same remux."""
    other = segment(tmp_path, "other.mp4", tone=880)
    mine = derive_mp4([(clips[0], T0)], T0, T0 + 2, tmp_path / "mine.mp4", "note")
    theirs = derive_mp4([(other, T0)], T0, T0 + 2, tmp_path / "theirs.mp4", "note")
    assert mine.packets == theirs.packets and mine.sha256 != theirs.sha256
    assert not same_packets(tmp_path / "mine.mp4", tmp_path / "theirs.mp4")
    assert dominant_hz(decoded_audio(tmp_path / "theirs.mp4")[0]) == pytest.approx(880, abs=5)


def test_video_only_originals_give_a_video_only_copy(tmp_path: Path) -> None:
    mute = segment(tmp_path, "mute.mp4", audio=False)
    derived = derive_mp4([(mute, T0)], T0, T0 + 2, tmp_path / "d.mp4", "note")
    assert (derived.packets, derived.audio_packets) == (50, 0)
    with av.open(str(tmp_path / "d.mp4")) as c:
        assert len(c.streams.video) == 1 and not c.streams.audio
