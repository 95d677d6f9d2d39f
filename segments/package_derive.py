"""The derived MP4 of a case package: the decrypted originals' video and audio remuxed into one
file, no re-encoding, on a wall-clock timeline so a declared gap stays a gap.

Video is kept in whole GOPs; the camera's audio (when the originals carry it, DESIGN §5)
is kept for the same stretch of wall time, so what was said is heard with what was seen.
The remux is deterministic: the same inputs, range and note give the same bytes (bitexact
muxing: no tool version tag, no wall-clock creation time), so an expert holding the archive
identity can re-derive the copy from the originals and compare hashes (`package_rederive`).
Loads PyAV: only the exporters and `verify-export --identity` import this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from .errors import SegmentError
from .hashing import hash_file
from .package import DERIVED
from .timeline import iso_utc

OUT_TIME_BASE = Fraction(1, 90000)
DERIVED_TITLE = "DERIVED COPY"
MUXER_OPTIONS = {"fflags": "+bitexact"}


class DeriveError(SegmentError):
    """The derived copy cannot be made from these inputs."""


@dataclass(frozen=True)
class Derived:
    file: str
    sha256: str
    first_keyframe: str
    end: str
    packets: int  # video packets
    audio_packets: int = 0


@dataclass(frozen=True)
class _Timed:
    packet: av.Packet
    wall: float  # wall time of its presentation
    dts_s: float  # decode time in seconds since the file's first video packet
    pts_s: float
    gop: float  # wall time of the keyframe that opens its GOP (video only)
    key: bool
    audio: bool


@dataclass
class _Out:
    """The derived file's streams and the last decode time written to each."""

    video: Any
    audio: Any
    last_dts: dict[str, int]


def derive_mp4(
    inputs: Sequence[tuple[Path, float]], start: float, end: float, out: Path, note: str
) -> Derived:
    """Remux the video and audio of `inputs` (plain MP4, wall time of its first video packet)
    into `out`.

    Output time is wall time since the first kept keyframe, so segments join seamlessly and
    a declared gap stays a gap. Whole GOPs are kept: from the last keyframe at or before
    `start` up to the first keyframe after `end`; audio over the same wall time. The first
    input's streams decide whether the copy has an audio track.
    """
    keyframes = sorted(w for path, base in inputs for w in _keyframes(path, base))
    if not keyframes:
        raise DeriveError("the decrypted segments hold no video keyframe; cannot derive a copy")
    cut_start = max((w for w in keyframes if w <= start), default=keyframes[0])
    cut_end = min((w for w in keyframes if w > end), default=float("inf"))
    out.parent.mkdir(parents=True, exist_ok=True)
    counts = {"video": 0, "audio": 0}
    last_wall = cut_start
    with av.open(str(out), "w", format="mp4", options=MUXER_OPTIONS) as oc:
        oc.metadata["comment"] = note
        oc.metadata["title"] = DERIVED_TITLE
        streams: _Out | None = None
        for path, base in inputs:
            with av.open(str(path)) as ic:
                streams = streams or _add_streams(oc, ic)
                for t in _timed(ic, path, base):
                    wanted = t.wall if t.audio else t.gop
                    if not cut_start <= wanted < cut_end:
                        continue
                    if _mux(oc, streams, t, base - cut_start):
                        counts["audio" if t.audio else "video"] += 1
                        last_wall = max(last_wall, t.wall) if not t.audio else last_wall
    return Derived(
        file=f"{DERIVED}/{out.name}",
        sha256=hash_file(out)[1],
        first_keyframe=iso_utc(cut_start),
        end=iso_utc(last_wall),
        packets=counts["video"],
        audio_packets=counts["audio"],
    )


def _add_streams(oc: Any, ic: Any) -> _Out:
    """The output's video stream, and its audio stream when the input carries audio."""
    if not ic.streams.video:
        raise DeriveError(f"{ic.name} holds no video stream; cannot derive a copy")
    video = oc.add_stream_from_template(ic.streams.video[0])
    video.time_base = OUT_TIME_BASE
    audio = None
    if ic.streams.audio and ic.streams.audio[0].codec_context.sample_rate:
        audio = oc.add_stream_from_template(ic.streams.audio[0])
        audio.time_base = Fraction(1, ic.streams.audio[0].codec_context.sample_rate)
    return _Out(video, audio, {"video": -1, "audio": -1})


def _mux(oc: Any, streams: _Out, t: _Timed, offset: float) -> bool:
    """Write one packet at its wall-clock place; False when the copy has no track for it or
    it is audio the copy already holds."""
    kind = "audio" if t.audio else "video"
    ostream = streams.audio if t.audio else streams.video
    if ostream is None:
        return False
    tb = ostream.time_base
    dts = _ticks(offset + t.dts_s, tb)
    if t.audio and dts <= streams.last_dts[kind]:
        return False  # the next segment's first audio overlaps the last one's end: keep one
    dts = max(dts, streams.last_dts[kind] + 1)
    t.packet.dts, t.packet.pts = dts, max(_ticks(offset + t.pts_s, tb), dts)
    t.packet.time_base = tb
    t.packet.stream = ostream
    oc.mux(t.packet)
    streams.last_dts[kind] = dts
    return True


def same_packets(a: Path, b: Path) -> bool:
    """Whether two MP4s carry the same video and audio packets (bytes, times, keyframes),
    whatever their container bytes; False when either cannot be read."""
    try:
        with av.open(str(a)) as ca, av.open(str(b)) as cb:
            if (len(ca.streams.video), len(ca.streams.audio)) != (
                len(cb.streams.video),
                len(cb.streams.audio),
            ):
                return False
            for x, y in zip(_packets(ca), _packets(cb), strict=True):
                if x != y:
                    return False
    except (av.FFmpegError, IndexError, ValueError):
        return False
    return True


def _packets(
    container: Any,
) -> Iterator[tuple[str, bytes, int | None, int | None, bool]]:
    for p in container.demux():
        if p.size:
            yield p.stream.type, bytes(p), p.pts, p.dts, p.is_keyframe


def _keyframes(path: Path, base: float) -> list[float]:
    with av.open(str(path)) as ic:
        return [t.wall for t in _timed(ic, path, base) if t.key and not t.audio]


def _video_origin(path: Path) -> float | None:
    """Seconds of the first video packet's decode time: the file's zero on the wall clock."""
    with av.open(str(path)) as ic:
        if not ic.streams.video:
            return None
        for p in ic.demux(ic.streams.video[0]):
            if p.pts is not None and p.dts is not None and p.size:
                return float(p.dts * p.time_base)
    return None


def _timed(ic: Any, path: Path, base: float) -> Iterator[_Timed]:
    """The video and audio packets of `ic` with their times; `base` is the wall time of its
    first video packet."""
    if not ic.streams.video:
        raise DeriveError(f"{path.name} holds no video stream; cannot derive a copy")
    origin = _video_origin(path)
    if origin is None:
        return
    wanted = [ic.streams.video[0], *ic.streams.audio[:1]]
    gop = -1.0
    for p in ic.demux(wanted):
        if p.pts is None or p.dts is None or not p.size:
            continue
        tb = p.time_base
        pts_s, dts_s = float(p.pts * tb) - origin, float(p.dts * tb) - origin
        audio = p.stream.type == "audio"
        if not audio and p.is_keyframe:
            gop = base + pts_s
        yield _Timed(p, base + pts_s, dts_s, pts_s, gop, p.is_keyframe and not audio, audio)


def _ticks(seconds: float, time_base: Fraction) -> int:
    return round(seconds / time_base)
