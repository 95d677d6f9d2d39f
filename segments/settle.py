"""The first packets of a connection, held until their timing settles, then anchored.

A camera often delivers its first second in a burst (a GOP from its buffer, then live), so
the PTS-to-wall anchor is taken at the packet that arrived earliest relative to its PTS,
not at the first one. Waiting is bounded: a connection whose video never comes (an
audio-only stream, a camera sending only audio packets) raises `NoVideoError` after
`NO_VIDEO_PACKETS` packets or `NO_VIDEO_S` seconds instead of piling packets up until a
watchdog kills the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av

from .errors import SegmentError
from .timeline import PtsClock, pts_seconds

SETTLE_S = 1.0
SETTLE_PACKETS = 50
NO_VIDEO_PACKETS = 500
NO_VIDEO_S = 10.0
NO_VIDEO = "no_video"


class NoVideoError(SegmentError):
    """A connection delivers packets but no video; the camera worker records gap(no_video)."""

    reason = NO_VIDEO


@dataclass(frozen=True)
class Anchor:
    """Where a connection's time line starts: the PTS→wall clock and the drift baseline."""

    clock: PtsClock
    drift_base_s: float  # arrival (monotonic) minus PTS seconds of the anchor packet


class Settling:
    """Packets of one connection until `settled`; then `anchor` and replay `pending`."""

    def __init__(self, video: av.VideoStream, time_base: Fraction) -> None:
        self._video = video
        self._tb = time_base
        self.pending: list[tuple[av.Packet, float, float]] = []  # (packet, wall, monotonic)
        self._videos = 0
        self._first_video_mono: float | None = None
        self._first_mono: float | None = None

    def add(self, packet: av.Packet, wall: float, mono: float) -> bool:
        """Hold `packet`; True once the timing has settled. Raises NoVideoError."""
        self.pending.append((packet, wall, mono))
        if self._first_mono is None:
            self._first_mono = mono
        if packet.stream is self._video:
            self._videos += 1
            if self._first_video_mono is None:
                self._first_video_mono = mono
        if not self._videos:
            waited = mono - self._first_mono
            if len(self.pending) >= NO_VIDEO_PACKETS or waited >= NO_VIDEO_S:
                raise NoVideoError(
                    f"{len(self.pending)} packets in {waited:.1f} s and no video among them; "
                    "check the camera's stream settings (a video profile, not audio only)"
                )
            return False
        assert self._first_video_mono is not None
        return (
            self._videos >= SETTLE_PACKETS
            or mono - self._first_video_mono >= SETTLE_S
            or len(self.pending) >= NO_VIDEO_PACKETS
        )

    def anchor(self, floor: float | None) -> Anchor | None:
        """Anchor at the earliest-arriving video packet; no frame before `floor` (the end of
        the previous record or the start of the open gap). None without video."""
        video = [(p, w, m) for p, w, m in self.pending if p.stream is self._video]
        if not video:
            return None
        packet, wall, mono = min(video, key=lambda v: v[1] - self._seconds(v[0]))
        assert packet.pts is not None
        clock = PtsClock.anchor(wall, packet.pts, self._tb)
        first = min(clock.wall(p.pts, self._tb) for p, _, _ in video if p.pts is not None)
        if floor is not None and first < floor:
            clock = PtsClock(clock.anchor_wall + floor - first, clock.anchor_s)
        return Anchor(clock, mono - self._seconds(packet))

    def _seconds(self, packet: av.Packet) -> float:
        return pts_seconds(packet.pts or 0, self._tb)
