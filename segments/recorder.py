"""Turns one camera's packet stream into continuous, wall-clock aligned segments and gap records.

The recorder is driven by its caller (connect, feed, interrupt, close) and does no network I/O;
the camera worker owns the connection and the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING

import av
import av.error

from .clock import ClockStep, kernel_clock_status
from .pictures import PictureCallback, PictureTap
from .plan import RecordingPlan
from .records import ClockStatus, MediaFacts, Record, StreamIdentity
from .store import OpenSegment, StreamStore
from .stream_log import StreamLog
from .timeline import PtsClock, next_boundary
from .writer import EncodeSegment, RemuxSegment

if TYPE_CHECKING:
    from .overlay.drawing import Overlay

log = logging.getLogger(__name__)

STARTUP = "startup"
SETTLE_S = 1.0
SETTLE_PACKETS = 50
BURN_IN = "burn_in"
PASSTHROUGH = "passthrough"


@dataclass
class _Open:
    start_wall: float
    file: OpenSegment
    writer: EncodeSegment | RemuxSegment
    boundary: float
    last_wall: float
    prev_wall: float
    last_delta_s: float = 0.0


class StreamRecorder:
    def __init__(
        self,
        plan: RecordingPlan,
        identity: StreamIdentity,
        store: StreamStore,
        ledger: StreamLog,
        on_record: Callable[[Record], None] = lambda r: None,
        clock_status: Callable[[], ClockStatus] = kernel_clock_status,
        on_picture: PictureCallback | None = None,
        picture_interval_s: float = 1.0,
    ) -> None:
        """`ledger` numbers, names and signs what the recorder drafts (here or in the daemon).

        `on_picture(wall, frame)` sees one decoded picture per interval (frozen-picture checks).
        The frame is valid only during the call; in passthrough it is a keyframe.
        """
        self.plan = plan
        self.identity = identity
        self.store = store
        self.ledger = ledger
        self._on_record = on_record
        self._clock_status = clock_status
        self._open: _Open | None = None
        self._gap: tuple[float, str] | None = None
        self._last_end: float | None = None
        self._clock: PtsClock | None = None
        self._video: av.VideoStream | None = None
        self._tb = Fraction(1, 90000)
        self._audio: av.AudioStream | None = None
        self._overlay: Overlay | None = None
        self._reanchor = False
        self._reanchored: PtsClock | None = None
        self._settling: list[tuple[av.Packet, float]] = []
        self.last_sealed: Record | None = None
        self._pictures = (
            None
            if on_picture is None
            else PictureTap(on_picture, picture_interval_s, identity.camera)
        )

    def begin(self, at: float) -> None:
        """Start of a run whose opening records (`segments.runs.open_run`) end at `at`.

        The startup gap opens there, and no frame is placed before it.
        """
        self._last_end = at
        self._gap = (at, STARTUP)

    def identify(self, serial: str | None) -> None:
        """The camera's serial as ONVIF reports it: records name the device, not its IP."""
        if serial and serial != self.identity.camera_serial:
            self.identity = replace(self.identity, camera_serial=serial)

    def connect(self, video: av.VideoStream, audio: av.AudioStream | None) -> None:
        """A new connection: new decoder state and a new PTS anchor at its first packet."""
        assert video.time_base is not None, "PyAV gives demuxed streams a time base"
        self._video, self._audio = video, audio
        self._tb = video.time_base
        self._clock = None
        self._settling = []
        self._overlay = None
        if self.plan.mode == BURN_IN:
            video.codec_context.thread_type = "AUTO"
        if self._pictures is not None:
            self._pictures.connect(video)

    def feed(self, packet: av.Packet, arrival_wall: float) -> None:
        """Packets of a new connection wait until their timing settles (see `_settle`)."""
        assert self._video is not None and packet.pts is not None
        if self._clock is None:
            self._settling.append((packet, arrival_wall))
            if not self._settled(arrival_wall):
                return
            self._settle()
            return
        self._dispatch(packet, arrival_wall)

    def _settled(self, now: float) -> bool:
        video = [a for p, a in self._settling if p.stream is self._video]
        return len(video) >= SETTLE_PACKETS or (bool(video) and now - video[0] >= SETTLE_S)

    def _settle(self) -> None:
        """Anchor PTS to the wall clock at the earliest-arriving packet, then replay the wait.

        A camera often delivers its first second in a burst: anchoring at the first arrival
        would put every frame late. Frames also never start before the previous record ended.
        """
        pending, self._settling = self._settling, []
        video = [(p, a) for p, a in pending if p.stream is self._video and p.pts is not None]
        if not video:
            return
        packet, arrival = min(video, key=lambda pa: pa[1] - float((pa[0].pts or 0) * self._tb))
        assert packet.pts is not None
        clock = PtsClock.anchor(arrival, packet.pts, self._tb)
        first = min(clock.wall(p.pts, self._tb) for p, _ in video if p.pts is not None)
        if self._last_end is not None and first < self._last_end:
            clock = PtsClock(clock.anchor_wall + self._last_end - first, clock.anchor_s)
        self._clock = clock
        for p, a in pending:
            self._dispatch(p, a)

    def _dispatch(self, packet: av.Packet, arrival_wall: float) -> None:
        assert packet.pts is not None
        if packet.stream is self._audio:
            if self._open is not None and self._clock is not None:
                self._open.writer.add_audio(packet)
            return
        if self._reanchor:
            self._reanchored = PtsClock.anchor(arrival_wall, packet.pts, self._tb)
            self._reanchor = False
        if self.plan.mode == PASSTHROUGH:
            self._feed_passthrough(packet)
        else:
            self._feed_burn_in(packet)

    def interrupt(self, reason: str, now_wall: float) -> None:
        """The stream failed: seal at the last frame and open a gap."""
        self._finish()
        if self._gap is None:
            self._gap = (self._last_end if self._last_end is not None else now_wall, reason)
        elif self._gap[1] == STARTUP:
            self._gap = (self._gap[0], reason)
        self._clock = None

    def close(self, now_wall: float) -> None:
        """Clean stop: seal the open segment, record an open gap, sign a final checkpoint."""
        self._finish()
        self._close_gap(now_wall)
        self.ledger.checkpoint()

    def clock_step(self, step: ClockStep) -> None:
        """Record a clock step; the open segment keeps its PTS timeline, the next re-anchors."""
        self._append(
            self._draft(
                kind="clock",
                start=step.wall_before,
                end=step.wall_after,
                reason="clock_step",
                extra={"step_s": round(step.step_s, 6)},
            )
        )
        self._reanchor = True

    def _finish(self) -> None:
        """Record packets still settling, flush the decoder, then seal at the last frame.

        The connection's streams are forgotten: their decoder is freed when it closes.
        """
        if self._clock is None and self._settling:
            self._settle()
        if self.plan.mode == BURN_IN and self._video is not None and self._clock is not None:
            self._decode(None)
        self._seal(end_wall=None)
        self._video = self._audio = None
        self._clock = None

    def _feed_passthrough(self, packet: av.Packet) -> None:
        assert self._clock is not None and self._video is not None and packet.pts is not None
        wall = self._clock.wall(packet.pts, self._tb)
        if self._pictures is not None:
            self._pictures.packet(wall, packet)
        seg = self._open
        if seg is None:
            if not packet.is_keyframe:
                return
            seg = self._start(wall, packet.pts)
        elif packet.is_keyframe and wall >= seg.boundary:
            self._seal(end_wall=wall)
            seg = self._start(wall, packet.pts)
        self._track(seg, wall)
        assert isinstance(seg.writer, RemuxSegment)
        seg.writer.add_video(packet)

    def _feed_burn_in(self, packet: av.Packet) -> None:
        self._decode(packet)

    def _decode(self, packet: av.Packet | None) -> None:
        assert self._video is not None and self._clock is not None
        try:
            frames = self._video.codec_context.decode(packet)
        except av.error.InvalidDataError as e:
            log.warning("%s: undecodable packet skipped: %s", self.identity.camera, e)
            return
        for frame in frames:
            self._frame(frame)

    def _frame(self, frame: av.VideoFrame) -> None:
        assert self._clock is not None and self._video is not None and frame.pts is not None
        wall = self._clock.wall(frame.pts, self._tb)
        seg = self._open
        if seg is not None and wall >= seg.boundary:
            self._seal(end_wall=wall)
            seg = None
        if seg is None:
            seg = self._start(wall, frame.pts, frame)
        self._track(seg, wall)
        if self._pictures is not None:
            self._pictures.frame(wall, frame)
        if self._overlay is None:
            from .overlay.drawing import Overlay  # Pillow and numpy load only for burn-in

            self._overlay = Overlay.open(
                self.plan.overlay,
                self.plan.tz,
                width=frame.width,
                height=frame.height,
                pix_fmt=frame.format.name,
                font_path=self.plan.font_path,
            )
        self._overlay.apply(frame, wall)
        assert isinstance(seg.writer, EncodeSegment)
        seg.writer.add_frame(frame)

    def _start(self, wall: float, pts: int, frame: av.VideoFrame | None = None) -> _Open:
        assert self._video is not None
        if self._reanchored is not None:
            self._clock, self._reanchored = self._reanchored, None
            wall = self._clock.wall(pts, self._tb)
        self._close_gap(wall)
        file = self.store.open_segment(wall, self.plan.recipients)
        writer: EncodeSegment | RemuxSegment
        if frame is None:
            writer = RemuxSegment(file.sink, self._video, self._audio, pts)
        else:
            writer = EncodeSegment(
                file.sink,
                frame.width,
                frame.height,
                self._tb,
                self._video.average_rate or self._video.guessed_rate,
                self.plan.encode,
                self._audio,
                pts,
            )
        boundary = next_boundary(wall, self.plan.segment_seconds)
        self._open = _Open(wall, file, writer, boundary, last_wall=wall, prev_wall=wall)
        return self._open

    @staticmethod
    def _track(seg: _Open, wall: float) -> None:
        """Latest frame time and frame duration (smallest step: packets may be in decode order)."""
        step = abs(wall - seg.prev_wall)
        if step > 0:
            seg.last_delta_s = step if not seg.last_delta_s else min(seg.last_delta_s, step)
        seg.prev_wall = wall
        seg.last_wall = max(seg.last_wall, wall)

    def _seal(self, end_wall: float | None) -> None:
        seg, self._open = self._open, None
        if seg is None:
            return
        facts = seg.writer.close()
        end = end_wall if end_wall is not None else seg.last_wall + seg.last_delta_s
        media = MediaFacts(
            codec=facts.codec,
            width=facts.width,
            height=facts.height,
            frames=facts.frames,
            duration_s=round(facts.duration_s, 6),
            audio_codec=facts.audio_codec,
            audio_packets=facts.audio_packets,
        )

        sealed = seg.file.finish()
        draft = self._draft(
            kind="segment",
            start=seg.start_wall,
            end=end,
            media=media,
            size_plain=sealed.size_plain,
            sha256_plain=sealed.sha256_plain,
            size_cipher=sealed.size_cipher,
            sha256_cipher=sealed.sha256_cipher,
            overlay=self.plan.overlay.template if self.plan.mode == BURN_IN else None,
        )
        record = self.ledger.seal(draft, seg.start_wall)
        self._last_end = end
        self.last_sealed = record
        self._on_record(record)

    def _close_gap(self, end_wall: float) -> None:
        gap, self._gap = self._gap, None
        if gap is not None:
            self._append(self._draft(kind="gap", start=gap[0], end=end_wall, reason=gap[1]))

    def _append(self, draft: Record) -> None:
        self._on_record(self.ledger.append(draft))

    def _draft(self, *, kind: str, start: float, end: float | None, **fields: object) -> Record:
        return self.identity.draft(
            kind=kind, start=start, end=end, clock=self._clock_status(), **fields
        )
