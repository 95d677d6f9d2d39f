"""The derived MP4 of a case package: the decrypted originals' video remuxed into one file, no
re-encoding, on a wall-clock timeline so a declared gap stays a gap.

The remux is deterministic: the same inputs, range and note give the same bytes (bitexact
muxing: no tool version tag, no wall-clock creation time), so an expert holding the archive
identity can re-derive the copy from the originals and compare hashes (`package_rederive`).
Loads PyAV: only the exporter and `verify-export --identity` import this module.
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
    packets: int


@dataclass(frozen=True)
class _Timed:
    packet: av.Packet
    wall: float  # wall time of its presentation
    dts_s: float  # decode time in seconds since the file's first packet
    pts_s: float
    gop: float  # wall time of the keyframe that opens its GOP
    key: bool


def derive_mp4(
    inputs: Sequence[tuple[Path, float]], start: float, end: float, out: Path, note: str
) -> Derived:
    """Remux the video of `inputs` (plain MP4, wall time of its first packet) into `out`.

    Output time is wall time since the first kept keyframe, so segments join seamlessly and
    a declared gap stays a gap. Whole GOPs are kept: from the last keyframe at or before
    `start` up to the first keyframe after `end`.
    """
    keyframes = sorted(t.wall for path, base in inputs for t in _timed(path, base) if t.key)
    if not keyframes:
        raise DeriveError("the decrypted segments hold no video keyframe; cannot derive a copy")
    cut_start = max((w for w in keyframes if w <= start), default=keyframes[0])
    cut_end = min((w for w in keyframes if w > end), default=float("inf"))
    out.parent.mkdir(parents=True, exist_ok=True)
    count, last_wall, last_dts = 0, cut_start, -1
    with av.open(str(out), "w", format="mp4", options=MUXER_OPTIONS) as oc:
        oc.metadata["comment"] = note
        oc.metadata["title"] = DERIVED_TITLE
        ostream: Any = None
        for path, base in inputs:
            for t in _timed(path, base):
                if not cut_start <= t.gop < cut_end:
                    continue
                if ostream is None:
                    ostream = oc.add_stream_from_template(t.packet.stream)
                    ostream.time_base = OUT_TIME_BASE
                dts = max(_ticks(base - cut_start + t.dts_s), last_dts + 1)
                t.packet.dts, t.packet.pts = dts, max(_ticks(base - cut_start + t.pts_s), dts)
                t.packet.time_base = OUT_TIME_BASE
                t.packet.stream = ostream
                oc.mux(t.packet)
                last_dts, count = dts, count + 1
                last_wall = max(last_wall, t.wall)
    return Derived(
        file=f"{DERIVED}/{out.name}",
        sha256=hash_file(out)[1],
        first_keyframe=iso_utc(cut_start),
        end=iso_utc(last_wall),
        packets=count,
    )


def same_video_packets(a: Path, b: Path) -> bool:
    """Whether two MP4s carry the same video packets (bytes, times, keyframes), whatever
    their container bytes; False when either cannot be read."""
    try:
        with av.open(str(a)) as ca, av.open(str(b)) as cb:
            pa = ca.demux(ca.streams.video[0])
            pb = cb.demux(cb.streams.video[0])
            for x, y in zip(_packets(pa), _packets(pb), strict=True):
                if x != y:
                    return False
    except (av.FFmpegError, IndexError, ValueError):
        return False
    return True


def _packets(demuxed: Iterator[av.Packet]) -> Iterator[tuple[bytes, int | None, int | None, bool]]:
    for p in demuxed:
        if p.size:
            yield bytes(p), p.pts, p.dts, p.is_keyframe


def _timed(path: Path, base: float) -> Iterator[_Timed]:
    """The video packets of `path` with their times; `base` is the wall time of the first."""
    with av.open(str(path)) as ic:
        if not ic.streams.video:
            raise DeriveError(f"{path.name} holds no video stream; cannot derive a copy")
        gop = -1.0
        origin: int | None = None
        for p in ic.demux(ic.streams.video[0]):
            if p.pts is None or p.dts is None or not p.size:
                continue
            origin = p.dts if origin is None else origin
            tb = p.time_base
            pts_s, dts_s = float((p.pts - origin) * tb), float((p.dts - origin) * tb)
            if p.is_keyframe:
                gop = base + pts_s
            yield _Timed(p, base + pts_s, dts_s, pts_s, gop, p.is_keyframe)


def _ticks(seconds: float) -> int:
    return round(seconds / OUT_TIME_BASE)
