"""One segment's fragmented MP4, written sequentially into a byte sink (which may encrypt).

`frag_keyframe+empty_moov` lets the file stream through a non-seekable writer, and a cut-off
file still holds every complete fragment before the cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import av
import av.container

from .encoders import add_video_stream
from .plan import EncodeSettings

MP4_OPTIONS = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
WRITE_BUFFER = 256 << 10
"""Bytes PyAV gathers per call into the sink (its default is 32 KiB). The muxer flushes
after every packet anyway, so the sink receives the same bytes at the same moments, in a
few large calls instead of many small ones."""


class ByteSink(Protocol):
    def write(self, data: bytes) -> int: ...


@dataclass
class _Tally:
    frames: int = 0
    first_pts: int | None = None
    last_pts: int | None = None
    min_delta: int = 0
    prev_pts: int | None = None
    audio_packets: int = 0
    audio_dropped: int = 0

    def video(self, pts: int) -> None:
        """Packets may come in decode order (B-frames): the frame duration is the smallest step."""
        if self.prev_pts is not None and pts != self.prev_pts:
            step = abs(pts - self.prev_pts)
            self.min_delta = step if not self.min_delta else min(self.min_delta, step)
        self.prev_pts = pts
        self.first_pts = pts if self.first_pts is None else min(pts, self.first_pts)
        self.last_pts = pts if self.last_pts is None else max(pts, self.last_pts)
        self.frames += 1

    def span(self) -> int:
        if self.first_pts is None or self.last_pts is None:
            return 0
        return self.last_pts - self.first_pts + self.min_delta


@dataclass(frozen=True)
class SegmentFacts:
    codec: str
    width: int
    height: int
    frames: int
    duration_s: float
    audio_codec: str | None
    audio_packets: int
    audio_dropped: int


class _Segment:
    """Shared muxing: shift timestamps so the segment starts at zero, mux audio as received."""

    def __init__(
        self,
        sink: ByteSink,
        origin_pts: int,
        video_tb: Fraction,
        audio_in: av.AudioStream | None,
    ) -> None:
        self._out: av.container.OutputContainer = av.open(
            sink, "w", format="mp4", options=MP4_OPTIONS, buffer_size=WRITE_BUFFER
        )
        self._origin_pts = origin_pts
        self._video_tb = video_tb
        self._tally = _Tally()
        self._audio_out = None
        self._audio_origin = 0
        if audio_in is not None and audio_in.time_base is not None:
            self._audio_out = self._out.add_stream_from_template(audio_in)
            self._audio_origin = round(origin_pts * video_tb / audio_in.time_base)

    def add_audio(self, packet: av.Packet) -> None:
        if self._audio_out is None or packet.pts is None or packet.dts is None:
            return
        pts, dts = packet.pts - self._audio_origin, packet.dts - self._audio_origin
        if dts < 0:
            self._tally.audio_dropped += 1
            return
        packet.pts, packet.dts = pts, dts
        packet.stream = self._audio_out
        self._out.mux(packet)
        self._tally.audio_packets += 1

    def _facts(self, codec: str, width: int, height: int) -> SegmentFacts:
        t = self._tally
        return SegmentFacts(
            codec=codec,
            width=width,
            height=height,
            frames=t.frames,
            duration_s=float(t.span() * self._video_tb),
            audio_codec=None if self._audio_out is None else self._audio_out.codec_context.name,
            audio_packets=t.audio_packets,
            audio_dropped=t.audio_dropped,
        )


class RemuxSegment(_Segment):
    """Passthrough: the camera's coded video written untouched (keeps camera-side signatures)."""

    def __init__(
        self,
        sink: ByteSink,
        video_in: av.VideoStream,
        audio_in: av.AudioStream | None,
        origin_pts: int,
    ) -> None:
        assert video_in.time_base is not None
        super().__init__(sink, origin_pts, video_in.time_base, audio_in)
        self._video_in = video_in
        self._video_out = self._out.add_stream_from_template(video_in)

    def add_video(self, packet: av.Packet) -> None:
        pts, dts, origin = packet.pts, packet.dts, self._origin_pts
        assert pts is not None and dts is not None
        self._tally.video(pts)
        packet.pts, packet.dts = pts - origin, dts - origin
        packet.stream = self._video_out
        self._out.mux_one(packet)

    def close(self) -> SegmentFacts:
        self._out.close()
        cc = self._video_in.codec_context
        return self._facts(cc.name, cc.width, cc.height)


class EncodeSegment(_Segment):
    """Burn-in: frames re-encoded; a fresh encoder per segment makes its first frame an IDR.

    `codec` is the encoder `encoders.choose_encoder` settled on for this connection.
    """

    def __init__(
        self,
        sink: ByteSink,
        width: int,
        height: int,
        video_tb: Fraction,
        rate: Fraction | None,
        settings: EncodeSettings,
        audio_in: av.AudioStream | None,
        origin_pts: int,
        codec: str,
    ) -> None:
        super().__init__(sink, origin_pts, video_tb, audio_in)
        fps = float(rate) if rate else 25.0
        gop = max(1, round(fps * settings.gop_s))
        self._video_out = add_video_stream(self._out, codec, settings, width, height, video_tb, gop)

    def add_frame(self, frame: av.VideoFrame) -> None:
        assert frame.pts is not None
        self._tally.video(frame.pts)
        frame.pts -= self._origin_pts
        frame.time_base = self._video_tb
        for packet in self._video_out.encode(frame):
            self._out.mux(packet)

    def close(self) -> SegmentFacts:
        for packet in self._video_out.encode(None):
            self._out.mux(packet)
        self._out.close()
        cc = self._video_out.codec_context
        return self._facts(cc.name, cc.width, cc.height)
