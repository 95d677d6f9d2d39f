"""The segment being written: its encrypted file, its muxer, its slot and its last frame time."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av

from .records import MediaFacts
from .store import OpenSegment
from .timeline import next_boundary
from .writer import EncodeSegment, EncodeSettings, RemuxSegment


@dataclass
class SegmentInProgress:
    """One open segment; `track` every frame's wall time, `finish` to close its muxer."""

    start_wall: float
    file: OpenSegment
    writer: EncodeSegment | RemuxSegment
    boundary: float  # the next wall-clock multiple of the segment length
    last_wall: float
    prev_wall: float
    last_delta_s: float = 0.0

    @classmethod
    def open(
        cls,
        wall: float,
        segment_seconds: int,
        file: OpenSegment,
        writer: EncodeSegment | RemuxSegment,
    ) -> SegmentInProgress:
        boundary = next_boundary(wall, segment_seconds)
        return cls(wall, file, writer, boundary, last_wall=wall, prev_wall=wall)

    def track(self, wall: float) -> None:
        """Latest frame time and frame duration (smallest step: packets may be in decode order)."""
        step = abs(wall - self.prev_wall)
        if step > 0:
            self.last_delta_s = step if not self.last_delta_s else min(self.last_delta_s, step)
        self.prev_wall = wall
        self.last_wall = max(self.last_wall, wall)

    def finish(self, end_wall: float | None) -> tuple[MediaFacts, float]:
        """Close the muxer; the media facts and the segment's end (given, else its last frame's)."""
        facts = self.writer.close()
        end = end_wall if end_wall is not None else self.last_wall + self.last_delta_s
        media = MediaFacts(
            codec=facts.codec,
            width=facts.width,
            height=facts.height,
            frames=facts.frames,
            duration_s=round(facts.duration_s, 6),
            audio_codec=facts.audio_codec,
            audio_packets=facts.audio_packets,
        )
        return media, end


def segment_writer(
    file: OpenSegment,
    video: av.VideoStream,
    audio: av.AudioStream | None,
    time_base: Fraction,
    encode: EncodeSettings,
    pts: int,
    frame: av.VideoFrame | None,
    encoder: str | None = None,
) -> EncodeSegment | RemuxSegment:
    """Passthrough remuxes packets (no `frame`); burn-in encodes frames sized like `frame`
    with `encoder` (the one chosen for the connection; the configured one when None)."""
    if frame is None:
        return RemuxSegment(file.sink, video, audio, pts)
    return EncodeSegment(
        file.sink,
        frame.width,
        frame.height,
        time_base,
        video.average_rate or video.guessed_rate,
        encode,
        audio,
        pts,
        encoder or encode.codec,
    )
