"""One camera's recording loop: connect, feed the recorder, record gaps, reconnect with backoff.

Nothing a camera sends can end the loop: every failure, expected or not, becomes a gap with a
reason and a retry. A camera found at a new address or answering as another device is
declared (a signed `camera` record, an event, the camera's health) before its stream opens.
A camera that announces a new address (`moved`) is followed at once: the stream in use is
dropped (gap reason `camera_moved`) and the camera resolved again, without waiting for the
old stream's read timeout or a backoff delay.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import av.error

from cameras.errors import StreamError
from cameras.health import HealthCounter, IdentityEvent
from cameras.rtsp import RtspStream
from evgw.backoff import Backoff
from segments.clock import StepDetector
from segments.errors import SegmentError
from segments.recorder import StreamRecorder
from segments.settle import NoVideoError

from .camera_identity import CameraChange, CameraIdentity
from .resolver import CameraResolver

log = logging.getLogger(__name__)

DECODE_ERROR = "decode_error"
WRITE_ERROR = "write_error"
INTERNAL_ERROR = "internal_error"
DISK_FULL = "disk_full"
CAMERA_MOVED = "camera_moved"
PAUSE_SLICE_S = 0.2


EventSink = Callable[[str, dict[str, object]], None]
"""(event kind, fields) for central monitoring."""


class Flag(Protocol):
    """A `threading` or `multiprocessing` Event: the worker only reads it and waits on it."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class CameraWorker(threading.Thread):
    """A named thread per camera: its failures end in a gap record, never in another camera."""

    def __init__(
        self,
        resolver: CameraResolver,
        recorder: StreamRecorder,
        health: HealthCounter,
        stop: Flag,
        backoff: Backoff | None = None,
        disk_full: Flag | None = None,
        on_gap: Callable[[str, str], None] | None = None,
        on_event: EventSink | None = None,
        on_resolved: Callable[[CameraIdentity | None], None] | None = None,
    ) -> None:
        """`on_resolved(identity)` runs after each successful resolve, before the stream
        opens (identity None for an rtsp camera)."""
        super().__init__(name=f"camera-{recorder.identity.camera}", daemon=True)
        self.resolver = resolver
        self.recorder = recorder
        self.health = health
        self.ended = threading.Event()  # `run` has sealed and returns
        self._halt = stop
        self._disk_full: Flag = disk_full or threading.Event()
        self._on_gap = on_gap
        self._on_event = on_event
        self._last_unexpected: str | None = None
        self._backoff = backoff or Backoff()
        self._steps = StepDetector()
        self._on_resolved = on_resolved
        self._moved = threading.Event()

    def moved(self) -> None:
        """The camera announced another address: drop the stream now and resolve again."""
        self._moved.set()

    def run(self) -> None:
        camera = self.recorder.identity.camera
        try:
            while not self._halt.is_set():
                reason = self._record_one_connection()
                if reason is None:
                    break
                self.health.failed(reason)
                self.recorder.interrupt(reason, time.time())
                if self._on_gap is not None:
                    self._on_gap(camera, reason)
                if reason == DISK_FULL:
                    self._wait_for_space()
                elif reason != CAMERA_MOVED:
                    self._pause(self._backoff.next_delay())
        finally:
            try:
                self.recorder.close(time.time())
                log.info("%s: recording stopped", camera)
            finally:
                self.ended.set()
                self.health.news.set()  # whoever waits for health news hears of the end

    def _pause(self, seconds: float) -> None:
        """The backoff delay, cut short by stop or by the camera announcing a new address."""
        deadline = time.monotonic() + seconds
        while not self._moved.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._halt.wait(min(PAUSE_SLICE_S, left)):
                return

    def _wait_for_space(self) -> None:
        while self._disk_full.is_set() and not self._halt.wait(1.0):
            pass
        log.info("%s: space available again: recording resumes", self.recorder.identity.camera)

    def _record_one_connection(self) -> str | None:
        """Record until the stream fails (returns the gap reason) or stop is asked (None)."""
        camera = self.recorder.identity.camera
        try:
            self._moved.clear()
            settings = self.resolver.resolve(self._declare)
            if self.resolver.identity is not None:
                self.recorder.identify(self.resolver.identity.serial)
            if self._on_resolved is not None:
                self._on_resolved(self.resolver.identity)
            with RtspStream(settings) as stream:
                assert stream.video is not None
                self.health.connected()
                self.recorder.connect(stream.video, stream.audio)
                log.info("%s: connected to %s", camera, settings.display_url)
                reason = self._record_stream(stream)
                # The decoder lives in this connection: flush and seal before it closes.
                if reason is None:
                    self.recorder.close(time.time())
                else:
                    self.recorder.interrupt(reason, time.time())
                return reason
        except StreamError as e:
            log.warning("%s: %s (%s)", camera, e, e.reason)
            return e.reason
        except SegmentError as e:
            log.error("%s: %s", camera, e)
            return WRITE_ERROR
        except Exception as e:
            self._unexpected(e, "while connecting; retrying")
            return INTERNAL_ERROR

    def _unexpected(self, error: Exception, then: str) -> None:
        """A failure nobody foresaw: its traceback once, a line for each repeat of it."""
        camera = self.recorder.identity.camera
        seen = f"{type(error).__name__}: {error}"
        if seen == self._last_unexpected:
            log.warning("%s: unexpected failure again (%s); %s", camera, seen[:200], then)
            return
        self._last_unexpected = seen
        log.error("%s: unexpected failure; %s", camera, then, exc_info=error)

    def _declare(self, change: CameraChange) -> None:
        """Before the camera is used: the signed record, then its health and an event."""
        camera = self.recorder.identity.camera
        now = time.time()
        self.recorder.declare_camera(change.event, now, change.facts())
        self.health.identity_changed(IdentityEvent(change.event, change.describe(), now))
        if self._on_event is not None:
            self._on_event(f"camera_{change.event}", {"camera": camera, **change.facts()})

    def _record_stream(self, stream: RtspStream) -> str | None:
        camera = self.recorder.identity.camera
        try:
            return self._pump(stream)
        except StreamError as e:
            log.warning("%s: %s (%s)", camera, e, e.reason)
            return e.reason
        except NoVideoError as e:
            log.warning("%s: %s", camera, e)
            return e.reason
        except SegmentError as e:
            log.error("%s: %s", camera, e)
            return WRITE_ERROR
        except av.error.FFmpegError as e:
            log.warning("%s: media error: %s", camera, e)
            return DECODE_ERROR
        except Exception as e:
            self._unexpected(e, "reconnecting")
            return INTERNAL_ERROR

    def _pump(self, stream: RtspStream) -> str | None:
        """Each packet to health and recorder, until a flag says stop (the reason, or None).

        It runs for every packet (15..30 a second per camera), so what it calls is looked up
        once, both clocks are read once per packet and shared by the clock-step check, health
        and the recorder, and the backoff is reset once, at the first packet recorded.
        """
        camera, video = self.recorder.identity.camera, stream.video
        feed, frame, steps = self.recorder.feed, self.health.frame, self._steps
        wall_clock, mono_clock = time.time, time.monotonic
        halted, moved, disk_full = self._halt.is_set, self._moved.is_set, self._disk_full.is_set
        recording = False
        for packet in stream.packets():
            wall, mono = wall_clock(), mono_clock()
            if packet.stream is video:
                frame(packet.size, mono)
            step = steps.observe(wall, mono)
            if step is not None:
                log.warning("%s: wall clock stepped by %+.3f s", camera, step.step_s)
                self.recorder.clock_step(step)
            feed(packet, wall, mono)
            if not recording:
                self._backoff.reset()
                recording = True
            if halted():
                return None
            if moved():
                log.info("%s: the camera announced a new address: following it", camera)
                return CAMERA_MOVED
            if disk_full():
                log.error("%s: disk full: recording paused until space returns", camera)
                return DISK_FULL
        return None
