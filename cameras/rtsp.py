"""RTSP input through PyAV: open with timeouts, demux packets, map failures to gap reasons.

Over plain ``rtsp://`` with credentials, FFmpeg connects through an `rtsp_guard.AuthGuard`
unless the camera's settings allow Basic authentication, so the password never crosses the
network in clear (gap reason `insecure_auth` when a camera asks for Basic only).

Opening is bounded by PyAV's open timeout; reading by FFmpeg's socket timeout and a
`read_watchdog.ReadWatchdog`, not by PyAV's read timeout, whose callback takes the GIL on
every I/O check (see `read_watchdog`). Packets are read in bursts, a pause whenever the
reader has caught up (`read_bursts`), so a frame does not wake the process alone.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import quote, urlsplit, urlunsplit

import av
import av.container
import av.error
import av.stream

from .errors import StreamError
from .read_bursts import DEFAULT_BURST_S, BurstPacer
from .read_watchdog import ReadWatchdog, connections_to, peer_addresses, socket_fds
from .redact import redact
from .rtsp_guard import AuthGuard

log = logging.getLogger(__name__)

CAMERA_OFFLINE = "camera_offline"
RTSP_TIMEOUT = "rtsp_timeout"
AUTH_FAILED = "auth_failed"
NO_VIDEO = "no_video"
INSECURE_AUTH = "insecure_auth"


@dataclass(frozen=True)
class StreamSettings:
    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    open_timeout_s: float = 10.0
    read_timeout_s: float = 5.0
    allow_basic_auth: bool = False
    read_burst_s: float = DEFAULT_BURST_S  # `read_bursts`: 0 reads every packet as it comes

    @property
    def display_url(self) -> str:
        """The URL without any credentials: the only form that may reach a log."""
        return redact(self.url)


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    if not username:
        return url
    parts = urlsplit(_without_userinfo(url))
    auth = quote(username, safe="")
    if password is not None:
        auth += ":" + quote(password, safe="")
    return urlunsplit((parts.scheme, f"{auth}@{parts.netloc}", parts.path, parts.query, ""))


def needs_guard(url: str, allow_basic_auth: bool) -> bool:
    """Plain rtsp:// with credentials, and Basic not allowed: FFmpeg goes through the guard."""
    parts = urlsplit(url)
    return parts.scheme == "rtsp" and "@" in parts.netloc and not allow_basic_auth


def open_options(url: str, settings: StreamSettings) -> dict[str, str]:
    """FFmpeg's options for `url`: RTSP over TCP, and a socket I/O timeout (microseconds)
    that ends a read on a silent connection in C. It also bounds each step of opening, so it
    is never shorter than the open timeout; the watchdog keeps the read timeout exact."""
    if not url.startswith("rtsp"):
        return {}
    socket_s = max(settings.open_timeout_s, settings.read_timeout_s)
    return {"rtsp_transport": "tcp", "timeout": str(round(socket_s * 1_000_000))}


def classify(exc: BaseException) -> str:
    """Map a PyAV/OS failure to the gap reason recorded in the ledger."""
    if isinstance(exc, av.error.ExitError | TimeoutError):
        return RTSP_TIMEOUT
    if isinstance(exc, av.error.HTTPUnauthorizedError | PermissionError):
        return AUTH_FAILED
    if isinstance(exc, OSError) and exc.errno in (errno.ETIMEDOUT, errno.EAGAIN):
        return RTSP_TIMEOUT
    return CAMERA_OFFLINE


class RtspStream:
    """One connection to a camera; a context manager that yields its packets in arrival order."""

    def __init__(self, settings: StreamSettings) -> None:
        self.settings = settings
        self._container: av.container.InputContainer | None = None
        self._guard: AuthGuard | None = None
        self._watchdog: ReadWatchdog | None = None
        self._pacer = BurstPacer((), 0.0)
        self.video: av.VideoStream | None = None
        self.audio: av.AudioStream | None = None

    def __enter__(self) -> RtspStream:
        s = self.settings
        url = with_credentials(s.url, s.username, s.password)
        try:
            if needs_guard(url, s.allow_basic_auth):
                self._guard = AuthGuard(url, s.open_timeout_s)
                url = self._guard.open()
            before = socket_fds()
            container = av.open(url, options=open_options(url, s), timeout=(s.open_timeout_s, None))
        except (av.error.FFmpegError, OSError) as e:
            self._close_guard()
            raise self._insecure(e) or StreamError(
                f"cannot open {s.display_url}: {_describe(e)}; check the camera is powered, "
                "reachable and the credentials are right",
                classify(e),
            ) from e
        self._container = container
        if not container.streams.video:
            container.close()
            raise StreamError(f"{s.display_url} has no video stream", NO_VIDEO)
        self.video = container.streams.video[0]
        self.audio = container.streams.audio[0] if container.streams.audio else None
        self._watch(url, socket_fds() - before)
        return self

    def _watch(self, url: str, new_fds: set[int]) -> None:
        """Start the read watchdog on the connection FFmpeg opened to `url`; read it in bursts."""
        fds = connections_to(new_fds, peer_addresses(url)) if new_fds else []
        if url.startswith("rtsp") and not fds:
            log.warning("%s: the stream's connection was not found; a camera that stays "
                        "connected but sends no video is cut off only by the daemon's "
                        "watchdog", self.settings.display_url)  # fmt: skip
        self._watchdog = ReadWatchdog(
            f"read-watchdog-{urlsplit(url).hostname}", fds, self.settings.read_timeout_s
        )
        self._watchdog.start()
        self._pacer = BurstPacer(fds, self.settings.read_burst_s)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None
        if self._container is not None:
            self._container.close()
            self._container = None
        self._close_guard()

    def _close_guard(self) -> None:
        if self._guard is not None:
            self._guard.close()

    def _insecure(self, cause: BaseException) -> StreamError | None:
        """The refusal to answer a Basic challenge, when that is why the stream failed."""
        if self._guard is None or not self._guard.basic_refused:
            return None
        error = StreamError(
            f"{self.settings.display_url} asks for Basic authentication over plain RTSP, which "
            "would send the password in clear; refused. Enable Digest authentication on the "
            "camera, use rtsps://, or set allow_basic_auth = true for this camera",
            INSECURE_AUTH,
        )
        error.__cause__ = cause
        return error

    def packets(self) -> Iterator[av.Packet]:
        """Video (and audio) packets with timestamps; ends by raising StreamError with a reason."""
        assert self._container is not None and self.video is not None
        assert self._watchdog is not None
        selected: list[av.stream.Stream] = [self.video]
        if self.audio is not None:
            selected.append(self.audio)
        watchdog, now, pace = self._watchdog, time.monotonic, self._pacer.after_packet
        video, tb = self.video, float(self.video.time_base or 0)
        try:
            for packet in self._container.demux(selected):
                watchdog.last_seen = seen = now()
                pts, size = packet.pts, packet.size
                if packet.dts is None or pts is None or size == 0:
                    continue
                pts_s = pts * tb if packet.stream is video else None
                yield packet
                pace(size, seen, pts_s)  # the packet's data may have gone to a muxer
        except (av.error.FFmpegError, OSError) as e:
            raise (
                self._timed_out(e)
                or self._insecure(e)
                or StreamError(f"{self.settings.display_url}: {_describe(e)}", classify(e))
            ) from e
        raise self._timed_out(None) or StreamError(
            f"{self.settings.display_url}: end of stream", CAMERA_OFFLINE
        )

    def _timed_out(self, cause: BaseException | None) -> StreamError | None:
        """The watchdog's cut, when that is why the stream ended."""
        if self._watchdog is None or not self._watchdog.fired:
            return None
        error = StreamError(
            f"{self.settings.display_url}: no packet for {self.settings.read_timeout_s:g} s",
            RTSP_TIMEOUT,
        )
        error.__cause__ = cause
        return error


def _describe(exc: BaseException) -> str:
    """An error text that never carries the credential-bearing URL PyAV puts in filenames."""
    if isinstance(exc, av.error.FFmpegError):
        return exc.strerror or type(exc).__name__
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
