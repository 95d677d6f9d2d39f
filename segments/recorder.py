"""Turns one camera's packet stream into continuous, wall-clock aligned segments and gap records.

The recorder is driven by its caller (connect, feed, interrupt, close) and does no network I/O;
the camera worker owns the connection and the clocks. Camera time is checked, not trusted: each
video packet's PTS is compared with its arrival on the monotonic clock (`drift`); when they part
by more than `max_camera_drift_s` the recorder re-anchors and signs a `clock` record
(`camera_drift`, with the jump): no camera or man in the middle shifts time without a trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction

import av

from .burn_in import BurnIn
from .camera_signing import SegmentSigning
from .clock import ClockStep, kernel_clock_status
from .drift import Drift, DriftWatch
from .encoder_choice import ENCODER_FALLBACK, EncoderChoice
from .open_segment import SegmentInProgress, segment_writer
from .pictures import PictureCallback, PictureTap
from .plan import RecordingPlan
from .records import ClockStatus, Record, StreamIdentity
from .settle import Settling
from .store import StreamStore
from .stream_log import StreamLog
from .timeline import PtsClock, iso_utc, pts_seconds
from .writer import EncodeSegment, RemuxSegment

log = logging.getLogger(__name__)

STARTUP = "startup"
CAMERA_DRIFT = "camera_drift"
BURN_IN = "burn_in"
PASSTHROUGH = "passthrough"


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
        """`on_picture(wall, frame)` sees one decoded picture per interval (frozen-picture checks).

        The frame is valid only during the call; in passthrough it is a keyframe.
        """
        self.plan = plan
        self.identity = identity
        self.store = store
        self.ledger = ledger
        self._on_record = on_record
        self._clock_status = clock_status
        self._open: SegmentInProgress | None = None
        self._gap: tuple[float, str] | None = None
        self._last_end: float | None = None
        self._clock: PtsClock | None = None
        self._video: av.VideoStream | None = None
        self._tb = Fraction(1, 90000)
        self._tb_num, self._tb_den = 1, 90000  # of `_tb`: Fraction's are Python properties
        self._passthrough = plan.mode == PASSTHROUGH
        self._audio: av.AudioStream | None = None
        self._burn_in = BurnIn(plan.overlay, plan.tz, plan.font_path, identity.camera, plan.encode)
        self._encoder: EncoderChoice | None = None  # burn_in: the last encoder chosen
        self._reanchor = False
        self._reanchored: PtsClock | None = None
        self._settling: Settling | None = None
        self._drift = DriftWatch(plan.max_camera_drift_s)
        self._await_key = False
        self.last_sealed: Record | None = None
        self._signing: SegmentSigning | None = None  # passthrough: the camera's signing SEIs
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
        self._tb_num, self._tb_den = video.time_base.numerator, video.time_base.denominator
        self._clock = None
        if self._reanchored is not None:  # pinned to the old connection's PTS: pin it again
            self._reanchored, self._reanchor = None, True
        self._settling = Settling(video, video.time_base)
        self._await_key = False
        self._burn_in.connect()
        if self.plan.mode == BURN_IN:
            # Slice threads only: the decoder works only inside decode(), so the overlay can
            # be drawn into its frames and taken out again after encoding (no frame copy).
            video.codec_context.thread_type = "SLICE"
        if self._pictures is not None:
            self._pictures.connect(video)

    def feed(self, packet: av.Packet, arrival_wall: float, arrival_mono: float) -> None:
        """One packet as it arrived, by the wall and the monotonic clock.

        Packets of a new connection wait until their timing settles (`settle.Settling`);
        after that each video packet's PTS is checked against its arrival (`drift`).
        Raises `settle.NoVideoError` when a connection sends no video.
        Runs for every packet: a video packet's PTS is turned into seconds once, here.
        """
        pts = packet.pts
        assert self._video is not None and pts is not None
        if self._clock is None:
            assert self._settling is not None
            if self._settling.add(packet, arrival_wall, arrival_mono):
                self._settle()
            return
        if packet.stream is not self._video:
            self._audio_packet(packet)
            return
        seconds = pts * self._tb_num / self._tb_den  # `pts_seconds`, inlined
        drift = self._drift.observe(seconds, arrival_mono)
        if drift is not None:
            self._camera_drift(packet, drift)
        self._video_packet(packet, seconds, arrival_wall)

    def _settle(self) -> None:
        """Anchor the connection's PTS to the wall clock, then replay the packets that waited.

        Frames never start before the previous record ended nor before the open gap began.
        """
        settling, self._settling = self._settling, None
        if settling is None:
            return
        floors = [t for t in (self._last_end, self._gap[0] if self._gap else None) if t]
        anchor = settling.anchor(max(floors, default=None))
        if anchor is None:
            return
        self._clock = anchor.clock
        self._drift.anchor(anchor.drift_base_s)
        for p, wall, _ in settling.pending:
            self._dispatch(p, wall)

    def _camera_drift(self, packet: av.Packet, drift: Drift) -> None:
        """Re-anchor at `packet`, whose PTS parted from its arrival; sign the correction.

        A slow drift moves the mapping within the open segment (its media stays continuous).
        A jump of the PTS itself cannot live in one MP4: the segment ends at its last frame,
        recording resumes at the next keyframe, and the hole is a declared gap(camera_drift).
        """
        assert self._clock is not None and packet.pts is not None
        old = self._clock
        new = PtsClock(old.anchor_wall + drift.jump_s, old.anchor_s)
        claimed, corrected = old.wall(packet.pts, self._tb), new.wall(packet.pts, self._tb)
        before = claimed
        if drift.discontinuous:
            had_segment = self._open is not None
            if self.plan.mode == BURN_IN and self._video is not None:
                self._decode(None)
                self._video.codec_context.flush_buffers()
                self._await_key = True
            self._seal(end_wall=None)
            before = self._last_end if had_segment and self._last_end else corrected
            if self._gap is None:
                self._gap = (min(before, corrected), CAMERA_DRIFT)
        self._clock = new
        log.warning(
            "%s: camera time parted from arrival time by %+.3f s; re-anchored (%s)",
            self.identity.camera, -drift.jump_s, "PTS jump" if drift.discontinuous else "drift",
        )  # fmt: skip
        extra = {"jump_s": round(drift.jump_s, 6), "pts_jump": drift.discontinuous,
                 "camera_time": iso_utc(claimed)}  # fmt: skip
        self._append(
            self._draft(kind="clock", start=before, end=corrected, reason=CAMERA_DRIFT, extra=extra)
        )

    def _dispatch(self, packet: av.Packet, arrival_wall: float) -> None:
        assert packet.pts is not None
        if packet.stream is self._video:
            self._video_packet(packet, pts_seconds(packet.pts, self._tb), arrival_wall)
        else:
            self._audio_packet(packet)

    def _audio_packet(self, packet: av.Packet) -> None:
        if packet.stream is self._audio and self._open is not None and self._clock is not None:
            self._open.writer.add_audio(packet)

    def _video_packet(self, packet: av.Packet, seconds: float, arrival_wall: float) -> None:
        """A video packet whose PTS is `seconds` (`pts_seconds`)."""
        if self._reanchor:
            self._reanchored = PtsClock(arrival_wall, seconds)
            self._reanchor = False
        if self._await_key:
            if not packet.is_keyframe:
                return  # the decoder restarted after a PTS jump: it needs a keyframe
            self._await_key = False
        if self._passthrough:
            self._feed_passthrough(packet, seconds)
        else:
            self._decode(packet)

    def interrupt(self, reason: str, now_wall: float) -> None:
        """The stream failed: seal at the last frame and open a gap."""
        self._finish()
        if self._gap is None:
            self._gap = (self._last_end if self._last_end is not None else now_wall, reason)
        elif self._gap[1] in (STARTUP, CAMERA_DRIFT):
            self._gap = (self._gap[0], reason)  # the outage, not its first moment, names it
        self._clock = None

    def close(self, now_wall: float) -> None:
        """Clean stop: seal the open segment, record an open gap, sign a final checkpoint."""
        self._finish()
        self._close_gap(now_wall)
        self.ledger.checkpoint()

    def declare_camera(self, event: str, now_wall: float, facts: dict[str, object]) -> Record:
        """Sign a change in who or where the camera is (`moved`, `identity_changed`) before
        any of its video is used; `facts` name old and new address, serial, endpoint, cert."""
        extra = {"event": event, **facts}
        return self._append(
            self._draft(kind="camera", start=now_wall, end=now_wall, reason=event, extra=extra)
        )

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

        The connection's streams are forgotten even when sealing fails: their decoder and
        muxer template are freed when the connection closes, and must never be read again.
        """
        try:
            if self._clock is None and self._settling is not None:
                self._settle()
            if self.plan.mode == BURN_IN and self._video is not None and self._clock is not None:
                self._decode(None)
            self._seal(end_wall=None)
        finally:
            self._video = self._audio = None
            self._clock = None

    def _feed_passthrough(self, packet: av.Packet, seconds: float) -> None:
        clock = self._clock
        assert clock is not None
        wall = clock.at(seconds)
        key = packet.is_keyframe
        if self._pictures is not None:
            self._pictures.packet(wall, packet, key)
        seg = self._open
        if key and (seg is None or wall >= seg.boundary):
            if seg is not None:
                self._seal(end_wall=wall)
            assert packet.pts is not None
            seg = self._start(wall, packet.pts)
            wall = seg.start_wall  # on the new clock, when a clock step re-anchored it
        elif seg is None:
            return  # a segment opens at a keyframe
        seg.track(wall)
        if self._signing is not None:  # before muxing, which takes the packet's data
            with memoryview(packet) as view:
                self._signing.packet(view)
        writer = seg.writer
        assert isinstance(writer, RemuxSegment)
        writer.add_video(packet)

    def _decode(self, packet: av.Packet | None) -> None:
        assert self._video is not None
        for frame in self._burn_in.decode(self._video, packet):
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
            wall = seg.start_wall  # on the new clock, when a clock step re-anchored it
        seg.track(wall)
        if self._pictures is not None:
            self._pictures.frame(wall, frame)
        undo = self._burn_in.draw(frame, wall)
        assert isinstance(seg.writer, EncodeSegment)
        try:
            seg.writer.add_frame(frame)
        finally:
            undo()  # the decoder's reference picture, as it decoded it

    def _start(
        self, wall: float, pts: int, frame: av.VideoFrame | None = None
    ) -> SegmentInProgress:
        assert self._video is not None
        if self._reanchored is not None:
            self._clock, self._reanchored = self._reanchored, None
            wall = self._clock.wall(pts, self._tb)
        self._close_gap(wall)
        encoder = None if frame is None else self._choose_encoder(frame, wall)
        file = self.store.open_segment(wall, self.plan.recipients)
        writer = segment_writer(
            file, self._video, self._audio, self._tb, self.plan.encode, pts, frame, encoder
        )
        self._open = SegmentInProgress.open(wall, self.plan.segment_seconds, file, writer)
        if self.plan.mode == PASSTHROUGH:
            self._signing = SegmentSigning(self._video.codec_context.name)
        return self._open

    def _choose_encoder(self, frame: av.VideoFrame, wall: float) -> str:
        """The encoder for a burn-in segment; a fallback that is new (or has a new reason) is
        signed before the segment it makes, so the evidence says which encoder made it."""
        choice = self._burn_in.encoder(frame)
        if choice != self._encoder and choice.fell_back:
            self.declare_camera(ENCODER_FALLBACK, wall, choice.facts())
        self._encoder = choice
        return choice.used

    def _seal(self, end_wall: float | None) -> None:
        seg, self._open = self._open, None
        if seg is None:
            return
        media, end = seg.finish(end_wall)
        sealed = seg.file.finish()
        signing, self._signing = self._signing, None  # burn_in: not applicable, not recorded
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
            extra={} if signing is None else signing.claim().to_extra(),
        )
        record = self.ledger.seal(draft, seg.start_wall)
        self._last_end = end
        self.last_sealed = record
        self._on_record(record)

    def _close_gap(self, end_wall: float) -> None:
        """Record the open gap as ending at `end_wall`; never before it began.

        Its start is the last frame's end on the camera's time line; `end_wall` may come from
        the gateway's clock (a stop) and lag behind it by up to the allowed drift. Such a gap
        is recorded as empty, with `extra.clamped_s` saying by how much its end was raised.
        """
        gap, self._gap = self._gap, None
        if gap is None:
            return
        start, reason = gap
        extra: dict[str, object] = {}
        if end_wall < start:
            extra = {"clamped_s": round(start - end_wall, 6)}
            log.info(
                "%s: gap(%s) would end %.3f s before it began; recorded as empty",
                self.identity.camera, reason, start - end_wall,
            )  # fmt: skip
            end_wall = start
        self._append(self._draft(kind="gap", start=start, end=end_wall, reason=reason, extra=extra))

    def _append(self, draft: Record) -> Record:
        record = self.ledger.append(draft)
        self._on_record(record)
        return record

    def _draft(self, *, kind: str, start: float, end: float | None, **fields: object) -> Record:
        return self.identity.draft(
            kind=kind, start=start, end=end, clock=self._clock_status(), **fields
        )
