"""Keep RTSP passwords off the wire in clear: a loopback relay that refuses Basic challenges.

FFmpeg answers an RTSP server's ``WWW-Authenticate: Basic`` challenge with the password in
base64, and offers no option to refuse it; a camera (or anyone answering in its place) only
has to ask. Over plain ``rtsp://`` with credentials, unless a camera's configuration allows
Basic, FFmpeg therefore talks to a relay on 127.0.0.1 that forwards every byte to the camera
and reads the server's side: any Basic challenge is removed before FFmpeg sees it. A Digest
challenge still passes (FFmpeg prefers it anyway); a server that offers only Basic leaves
FFmpeg with a 401 it cannot answer, and `basic_refused` says why.

The reading is the RTSP framing only, in both its forms: text messages (header block, then
`Content-Length` bytes of body) and interleaved binary frames (``$``, channel, 16-bit length).
It is size-capped and never raises on hostile bytes: a malformed message ends the relay.
"""

from __future__ import annotations

import logging
import re
import selectors
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)

MAX_HEADER = 16 * 1024
MAX_BODY = 1024 * 1024
_BASIC = re.compile(rb"(?im)^www-authenticate[ \t]*:[ \t]*basic\b[^\r\n]*\r?\n")
_DIGEST = re.compile(rb"(?im)^www-authenticate[ \t]*:[ \t]*digest\b")
_LENGTH = re.compile(rb"(?im)^content-length[ \t]*:[ \t]*([0-9]{1,9})[ \t]*\r?$")


class FramingError(Exception):
    """The server's side is not RTSP framing we can follow; the relay ends."""


class ServerScanner:
    """Reads the server→client byte stream message by message, dropping Basic challenges.

    Pure: `feed` takes bytes as they arrive and returns the bytes to pass on (fewer when a
    challenge was removed); `basic_refused` turns true when a challenge offered only Basic.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._skip = 0  # bytes of a body or interleaved frame still to pass through
        self.basic_refused = False
        self.messages = 0

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        self._buffer += data
        while self._buffer:
            if self._skip:
                take = self._buffer[: self._skip]
                out += take
                self._skip -= len(take)
                self._buffer = self._buffer[len(take) :]
                continue
            if self._buffer[:1] == b"$":
                if len(self._buffer) < 4:
                    break
                self._skip = 4 + int.from_bytes(self._buffer[2:4], "big")
                continue
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEADER:
                    raise FramingError(f"RTSP header block over {MAX_HEADER} bytes")
                break
            header, self._buffer = self._buffer[: end + 4], self._buffer[end + 4 :]
            out += self._message(header)
        return bytes(out)

    def _message(self, header: bytes) -> bytes:
        if not header.startswith(b"RTSP/") and b" RTSP/" not in header.split(b"\r\n", 1)[0]:
            raise FramingError("the server sent something that is not RTSP")
        self.messages += 1
        length = _LENGTH.search(header)
        self._skip = int(length.group(1)) if length else 0
        if self._skip > MAX_BODY:
            raise FramingError(f"RTSP body of {self._skip} bytes over {MAX_BODY}")
        if _BASIC.search(header) is None:
            return header
        if _DIGEST.search(header) is None:
            self.basic_refused = True
        return _BASIC.sub(b"", header)


class AuthGuard:
    """One relayed connection: `open` connects to the camera, `url` is what FFmpeg opens."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self._target = url
        self._timeout_s = timeout_s
        self._scanner = ServerScanner()
        self._listener: socket.socket | None = None
        self._upstream: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def basic_refused(self) -> bool:
        return self._scanner.basic_refused

    def open(self) -> str:
        """Connect to the camera (OSError if it cannot be reached); the URL to give FFmpeg."""
        parts = urlsplit(self._target)
        host, port = parts.hostname or "", parts.port or 554
        self._upstream = socket.create_connection((host, port), timeout=self._timeout_s)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        local = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name=f"rtsp-guard-{host}", daemon=True)
        self._thread.start()
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{local}" if userinfo else f"127.0.0.1:{local}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    def close(self) -> None:
        self._stop.set()
        for s in (self._listener, self._upstream):
            if s is not None:
                s.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        assert self._listener is not None and self._upstream is not None
        self._listener.settimeout(self._timeout_s)
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        finally:
            self._listener.close()
        with client:
            try:
                self._relay(client, self._upstream)
            except FramingError as e:
                log.warning("RTSP relay to %s ended: %s", urlsplit(self._target).hostname, e)
            except (OSError, ValueError):
                pass  # either side closed (or `close` did): FFmpeg sees its connection end

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        client.setblocking(False)
        upstream.setblocking(False)
        with selectors.DefaultSelector() as sel:
            sel.register(client, selectors.EVENT_READ, upstream)
            sel.register(upstream, selectors.EVENT_READ, client)
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.5):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is upstream:
                        data = self._scanner.feed(data)
                    key.data.settimeout(self._timeout_s)  # a reader that stops: relay ends
                    key.data.sendall(data)
                    key.data.setblocking(False)
