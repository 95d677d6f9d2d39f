"""Hands a decoded picture to a callback about once per interval, without touching the recording.

Frozen-picture detection needs pixels. Burn-in already decodes every frame; passthrough does
not, so it decodes keyframes only, with a decoder of its own fed a copy of each sampled
keyframe: the packets that are muxed are never handed to it and stay byte-identical.

That decode is most of a passthrough camera's cost beyond the remux (13 ms per 720p keyframe),
so a stream that shows its picture changing waits for it. After a picture the callback found
moving, a due check is put off while the inter-frame packets since the last look averaged
`BUSY_BYTES` or more. A picture that stops changing codes to P-frames of tens of bytes (24..51
for a stuck camera in four rate-control modes, `bench_freeze --scenes`), so the first keyframe
after a freeze is checked on time. Only an encoder padding an unchanged picture (CBR filler)
keeps the bytes up; `CHECK_EVERY` bounds the wait for it, so such a stuck camera is still
reported, within twice the longer of `frozen_after_s` and `CHECK_EVERY` intervals (plus the
encoder's settling, `cameras.freeze`). A still, frozen, new or undecodable picture is never
put off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import av
import av.error

log = logging.getLogger(__name__)

PictureCallback = Callable[[float, av.VideoFrame], bool | None]
"""`(wall, frame) -> moving`: True when the picture moved, so the next check may wait."""

BUSY_BYTES = 2000  # mean inter-frame packet size of a stream whose picture is changing
CHECK_EVERY = 5  # intervals: a busy, moving stream is still checked this often

_EPS_S = 1e-3  # keyframes exactly one interval apart must not miss their slot to float error


class PictureTap:
    """Rate-limits pictures to one per `interval_s` of stream wall time; failures only log."""

    def __init__(self, callback: PictureCallback, interval_s: float, camera: str) -> None:
        if interval_s <= 0:
            raise ValueError("picture_interval_s must be positive")
        self._callback = callback
        self._interval_s = interval_s
        self._camera = camera
        self._last: float | None = None
        self._video: av.VideoStream | None = None
        self._decoder: av.VideoCodecContext | None = None
        self._failing = False
        self._moving = False
        self._inter_bytes = self._inter_packets = 0

    def connect(self, video: av.VideoStream) -> None:
        """A new connection: its own decoder parameters and a new time line."""
        self._video, self._decoder, self._last = video, None, None
        self._moving = False
        self._inter_bytes = self._inter_packets = 0

    def frame(self, wall: float, frame: av.VideoFrame) -> None:
        """Burn-in: offer a frame the recorder decoded anyway (before the overlay is drawn)."""
        if self._due(wall):
            self._deliver(wall, frame)

    def packet(self, wall: float, packet: av.Packet, key: bool) -> None:
        """Passthrough, every packet: decode a copy of a keyframe when a picture is due."""
        if not key:
            self._inter_bytes += packet.size
            self._inter_packets += 1
            return
        if not self._due(wall) or self._put_off(wall):
            return
        try:
            decoder = self._decoder or self._open_decoder()
            # Drain and flush: the decoder would hold a keyframe back while it waits for the
            # B-frames it never gets, delaying each picture by up to two keyframe intervals.
            frames = decoder.decode(av.Packet(bytes(packet))) + decoder.decode(None)
            decoder.flush_buffers()
        except av.error.FFmpegError as e:
            log.warning("%s: keyframe not decodable for picture checks: %s", self._camera, e)
            self._last, self._moving = wall, False
            return
        for frame in frames[-1:]:
            assert isinstance(frame, av.VideoFrame)
            self._deliver(wall, frame)

    def _due(self, wall: float) -> bool:
        last = self._last
        return last is None or wall < last or wall - last >= self._interval_s - _EPS_S

    def _put_off(self, wall: float) -> bool:
        """A due check waits while a moving picture keeps the stream busy (module doc)."""
        busy = self._inter_bytes >= BUSY_BYTES * max(self._inter_packets, 1)
        self._inter_bytes = self._inter_packets = 0
        last = self._last
        if not (self._moving and busy) or last is None or wall < last:
            return False
        return wall - last < CHECK_EVERY * self._interval_s - _EPS_S

    def _open_decoder(self) -> av.VideoCodecContext:
        assert self._video is not None, "connect() before packets"
        source = self._video.codec_context
        decoder = av.CodecContext.create(source.name, "r")
        assert isinstance(decoder, av.VideoCodecContext)
        decoder.extradata = source.extradata
        decoder.skip_frame = "NONKEY"
        decoder.thread_count = 1  # one picture a second: extra threads buy nothing
        # No deblocking: 7-8 % of a 720p keyframe's decode; the checks average 8x8 blocks and
        # compare tiles with tiles decoded the same way.
        decoder.options = {"skip_loop_filter": "all"}
        self._decoder = decoder
        return decoder

    def _deliver(self, wall: float, frame: av.VideoFrame) -> None:
        self._last, self._moving = wall, False
        try:
            self._moving = bool(self._callback(wall, frame))
        except Exception:
            if not self._failing:  # one traceback per run of failures, not one per second
                log.exception("%s: picture callback failed; recording continues", self._camera)
            self._failing = True
        else:
            self._failing = False
