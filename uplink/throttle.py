"""Upload bandwidth: one byte-rate limit shared by every upload of a store, and the file
window botocore reads a request body from (rate-limited when a limit is set)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import IO

THROTTLE_CHUNK = 64 * 1024


class TokenBucket:
    """Thread-safe byte-rate limiter shared by all uploads of one store.

    Callers reserve bytes and sleep off any debt outside the lock, so concurrent uploads
    together stay under `rate` bytes per second with at most `burst` bytes ahead.
    """

    def __init__(
        self,
        rate: int,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 bytes per second")
        self.rate = rate
        self.burst = burst if burst is not None else max(THROTTLE_CHUNK, rate // 10)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._last = clock()

    def take(self, n: int) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= n
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)


class FileRange:
    """A seekable read-only window [offset, offset+length) of an open file, optionally
    rate-limited; botocore sends it as a request body and rewinds it on retries."""

    def __init__(self, f: IO[bytes], offset: int, length: int, bucket: TokenBucket | None) -> None:
        self._f = f
        self._start = offset
        self._length = length
        self._pos = 0
        self._bucket = bucket

    def __len__(self) -> int:
        return self._length

    def read(self, n: int = -1) -> bytes:
        left = self._length - self._pos
        if n < 0 or n > left:
            n = left
        if self._bucket is not None:
            n = min(n, THROTTLE_CHUNK) if n > 0 and self._pos < self._length else n
        if n <= 0:
            return b""
        # One pread a chunk: no seek, no copy through the file's buffer (urllib3 reads 16 KiB).
        data = os.pread(self._f.fileno(), n, self._start + self._pos)
        self._pos += len(data)
        if self._bucket is not None:
            self._bucket.take(len(data))
        return data

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = max(0, min(self._length, base + pos))
        return self._pos

    def tell(self) -> int:
        return self._pos
