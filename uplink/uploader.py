"""Drain the index's durable upload queue into central storage, one row at a time.

Workers (named threads) each claim a distinct pending item, oldest first with the priority
lane first (the index orders it), and mark it done only on the store's confirmation. A failure
of one item backs that item off (capped exponential, jittered). A failure of the store itself
(unreachable, credentials, TLS) pauses every worker together: after the pause a single worker
probes with the next item, and only its success lets the others resume, so an outage costs a
few requests, not a storm. A local file that no longer matches its sealed hash is refused for
good and reported as tamper. Memory stays flat: nothing is read ahead of the item in hand.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from segments.index import MEDIA, Index, UploadItem
from uplink.errors import (
    AuthError,
    LocalHashMismatch,
    StoreUnavailable,
    TlsError,
    UplinkError,
)
from uplink.object_keys import check_part, object_key
from uplink.objectstore import ObjectStore, PutResult

log = logging.getLogger(__name__)

SEGMENT_CONFIRMED, UPLOAD_ERROR, TAMPER = "segment_confirmed", "upload_error", "tamper"
UNKNOWN, CONNECTED = "unknown", "connected"
STORE_UNAVAILABLE, AUTH_FAILED, TLS_FAILED = "store_unavailable", "auth_failed", "tls_failed"
_STORE_WIDE: dict[type[UplinkError], str] = {
    AuthError: AUTH_FAILED,
    TlsError: TLS_FAILED,
    StoreUnavailable: STORE_UNAVAILABLE,
}


@dataclass(frozen=True)
class UploadEvent:
    """What the uploader reports (MQTT `events`): a confirmed segment, an error, a tamper."""

    kind: str
    stream: str
    seq: int
    what: str
    key: str
    detail: str


@dataclass(frozen=True)
class UploaderStatus:
    state: str  # unknown | connected | store_unavailable | auth_failed | tls_failed
    last_error: str | None
    in_flight: int
    confirmed: int


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff of one failing item, and of the shared pause while the store is down."""

    item_initial_s: float = 2.0
    item_cap_s: float = 300.0
    store_initial_s: float = 0.5
    store_cap_s: float = 30.0
    jitter: float = 0.3
    idle_s: float = 1.0


def backoff_delay(
    failures: int, initial_s: float, cap_s: float, jitter: float, rng: random.Random
) -> float:
    """initial·2^(failures-1) capped at `cap_s`, then ±`jitter` of it (failures >= 1)."""
    base = min(cap_s, initial_s * 2.0 ** min(max(failures - 1, 0), 32))
    spread = base * jitter
    return max(0.0, base + rng.uniform(-spread, spread))


class Uploader:
    def __init__(
        self,
        index: Index,
        store: ObjectStore,
        data_dir: Path,
        site: str,
        gateway: str,
        retention_days: int,
        *,
        workers: int = 2,
        on_event: Callable[[UploadEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        if retention_days < 0:
            raise ValueError("retention_days must be >= 0")
        self.index = index
        self.store = store
        self.streams_dir = Path(data_dir) / "streams"
        self.site = check_part(site, "site")
        self.gateway = check_part(gateway, "gateway")
        self.retention_days = retention_days
        self.workers = workers
        self.policy = policy or RetryPolicy()
        self._on_event = on_event
        self._clock = clock
        self._rng = rng or random.Random()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # Guarded by _cond:
        self._in_flight: set[int] = set()
        self._state = UNKNOWN
        self._last_error: str | None = None
        self._confirmed = 0
        self._store_failures = 0
        self._paused_until = 0.0  # time.monotonic()
        self._probing = False

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("uploader already started")
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._run, name=f"uploader-{n}", daemon=True)
            for n in range(1, self.workers + 1)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Let uploads in flight finish (each is bounded by the store's timeouts), then join.

        A worker still busy after `timeout` is abandoned: its item stays pending unless the
        store confirms it, and is sent again after a restart.
        """
        self._stop.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("%s still uploading after %.0f s; abandoned", thread.name, timeout)
        self._threads = []

    def wake(self) -> None:
        """New items were queued (or the store is back): stop idling now."""
        with self._cond:
            self._paused_until = 0.0
            self._cond.notify_all()

    def status(self) -> UploaderStatus:
        with self._cond:
            return UploaderStatus(
                self._state, self._last_error, len(self._in_flight), self._confirmed
            )

    # -- workers ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self._claim()
            if item is None:
                continue
            try:
                self._upload(item)
            except Exception:  # noqa: BLE001 - a worker must outlive any one item
                log.exception("uploading %s %s/%d failed unexpectedly", item.what, *item[:0] or (item.stream, item.seq))
            finally:
                with self._cond:
                    self._in_flight.discard(item.id)
                    if self._probing and threading.current_thread().name == self._prober:
                        self._probing = False
                    self._cond.notify_all()

    def _claim(self) -> UploadItem | None:
        """The next item for this worker, or None after waiting (paused, idle, stopping)."""
        with self._cond:
            if self._store_failures:
                wait = self._paused_until - time.monotonic()
                if wait > 0 or self._probing:
                    self._cond.wait(wait if wait > 0 else self.policy.idle_s)
                    return None
            item = self.index.next_upload(self._clock(), frozenset(self._in_flight))
            if item is None:
                self._cond.wait(self.policy.idle_s)
                return None
            self._in_flight.add(item.id)
            if self._store_failures:
                self._probing = True
                self._prober = threading.current_thread().name
            return item
