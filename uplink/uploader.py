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

import base64
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evgw.backoff import backoff_delay
from segments.index import Index
from segments.index_rows import MEDIA, UploadItem
from segments.store import DataDir
from uplink.checksums import same_checksum
from uplink.errors import (
    AuthError,
    LocalHashMismatch,
    StoreUnavailable,
    TlsError,
    UplinkError,
    UploadError,
)
from uplink.object_keys import check_part, object_key
from uplink.objectstore import ObjectStore, PutResult

log = logging.getLogger(__name__)

SEGMENT_CONFIRMED, UPLOAD_ERROR, TAMPER = "segment_confirmed", "upload_error", "tamper"
UNKNOWN, CONNECTED = "unknown", "connected"
STORE_UNAVAILABLE, AUTH_FAILED, TLS_FAILED = "store_unavailable", "auth_failed", "tls_failed"
MIN_WAIT_S = 0.01  # an item fell due between two looks at the index: look again, do not spin
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
    idle_s: float = 10.0  # the longest an idle worker sleeps unwoken (a safety net, see `wake`)


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
        self.streams_dir = DataDir(Path(data_dir)).streams
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
        """New items were queued: stop idling now (a pause for a down store still holds).

        Idle workers otherwise sleep until the next retry falls due or `RetryPolicy.idle_s`.
        """
        with self._cond:
            self._cond.notify_all()

    def status(self) -> UploaderStatus:
        with self._cond:
            return UploaderStatus(
                self._state, self._last_error, len(self._in_flight), self._confirmed
            )

    # -- workers ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            claimed = self._claim()
            if claimed is None:
                continue
            item, probe = claimed
            try:
                self._upload(item)
            except Exception:  # a worker must outlive any one item
                log.exception(
                    "uploading %s %s/%d failed unexpectedly", item.what, item.stream, item.seq
                )
            finally:
                with self._cond:
                    self._in_flight.discard(item.id)
                    if probe:
                        self._probing = False
                    self._cond.notify_all()

    def _claim(self) -> tuple[UploadItem, bool] | None:
        """The next item and whether it probes a down store; None after a wait instead."""
        with self._cond:
            if self._stop.is_set():
                return None
            if self._store_failures:
                wait = self._paused_until - time.monotonic()
                if wait > 0 or self._probing:
                    self._cond.wait(wait if wait > 0 else self.policy.idle_s)
                    return None
            item = self.index.next_upload(self._clock(), frozenset(self._in_flight))
            if item is None:
                self._cond.wait(self._idle_wait())
                return None
            self._in_flight.add(item.id)
            probe = self._store_failures > 0
            self._probing = self._probing or probe
            return item, probe

    def _idle_wait(self) -> float:
        """Until the earliest pending item falls due (a retry's backoff), at most `idle_s`.

        Whoever queues an item calls `wake`, so an idle worker does not poll the index: it
        looked every second, two workers, a write transaction each, on every gateway.
        Caller holds `_cond`.
        """
        due = self.index.next_try_at(frozenset(self._in_flight))
        if due is None:
            return self.policy.idle_s
        return min(self.policy.idle_s, max(MIN_WAIT_S, due - self._clock()))

    def _upload(self, item: UploadItem) -> None:
        key = ""
        try:
            key = object_key(item, self.site, self.gateway)
            result = self._send(item, key)
        except LocalHashMismatch as e:
            self._store_answered()
            self._refuse(item, key, str(e))
            return
        except FileNotFoundError as e:
            self._refuse(
                item,
                key,
                f"sealed file {e.filename} is missing: it was removed "
                "outside the ring buffer; it cannot be uploaded",
            )
            return
        except (AuthError, TlsError, StoreUnavailable) as e:
            self._store_failed(item, key, e)
            return
        except (UplinkError, OSError) as e:
            self._store_answered()
            self._item_failed(item, key, e)
            return
        self.index.upload_done(item, result.version_id)
        with self._cond:
            self._confirmed += 1
        self._store_answered()
        if item.what == MEDIA:
            self._emit(SEGMENT_CONFIRMED, item, key, f"{result.size} bytes, {result.confirmed_by}")

    def _send(self, item: UploadItem, key: str) -> PutResult:
        now = datetime.fromtimestamp(self._clock(), UTC)
        retain = now + timedelta(days=self.retention_days) if self.retention_days else None
        if item.attempts > 0:
            # An earlier attempt may have stored it and lost only the answer: do not add a
            # second version of the same evidence.
            stored = self._already_stored(item, key, retain)
            if stored is not None:
                return stored
        if item.what == MEDIA:
            if item.path is None:
                raise UploadError(f"queued segment {item.stream}/{item.seq} has no file")
            path = self.streams_dir / item.stream / item.path
            return self.store.put_file(key, path, item.sha256, retain)
        if item.data is None or hashlib.sha256(item.data).hexdigest() != item.sha256:
            raise LocalHashMismatch(
                f"queued {item.what} {item.stream}/{item.seq} no longer matches the hash "
                "recorded when it was queued; the index was changed: check the data dir"
            )
        return self.store.put_bytes(key, item.data, retain)

    def _already_stored(
        self, item: UploadItem, key: str, retain: datetime | None
    ) -> PutResult | None:
        if item.size > self.store.settings.multipart_threshold:
            return None  # the store holds a composite checksum; sending again is simpler
        info = self.store.head(key)
        expected = base64.b64encode(bytes.fromhex(item.sha256)).decode("ascii")
        if (
            info is None
            or info.size != item.size
            or info.checksum_sha256 is None
            or not same_checksum(info.checksum_sha256, expected)
            or (retain is not None and info.lock_mode != "COMPLIANCE")
        ):
            return None
        return PutResult(
            key=key,
            size=info.size,
            sha256_hex=item.sha256,
            store_checksum=info.checksum_sha256,
            version_id=info.version_id,
            etag=info.etag,
            parts=1,
            retain_until=info.retain_until,
            confirmed_by="head",
        )

    # -- outcomes -----------------------------------------------------------------------

    def _refuse(self, item: UploadItem, key: str, detail: str) -> None:
        """Never send it as it is: the evidence on disk is not what was sealed."""
        self.index.upload_refused(item, detail)
        log.error(
            "TAMPER %s %s/%d refused for upload: %s", item.what, item.stream, item.seq, detail
        )
        self._emit(TAMPER, item, key, detail)

    def _item_failed(self, item: UploadItem, key: str, e: Exception) -> None:
        p = self.policy
        delay = backoff_delay(
            item.attempts + 1, p.item_initial_s, p.item_cap_s, p.jitter, self._rng
        )
        self.index.upload_retry(item, str(e), self._clock() + delay)
        with self._cond:
            self._last_error = str(e)
        log.warning(
            "%s not confirmed (attempt %d), retry in %.0f s: %s",
            key or f"{item.stream}/{item.seq}",
            item.attempts + 1,
            delay,
            e,
        )
        self._emit(UPLOAD_ERROR, item, key, str(e))

    def _store_failed(self, item: UploadItem, key: str, e: UplinkError) -> None:
        """Pause every worker; the item keeps its place at the head of the queue."""
        state = next(s for cls, s in _STORE_WIDE.items() if isinstance(e, cls))
        p = self.policy
        now = time.monotonic()
        with self._cond:
            if now >= self._paused_until:
                self._store_failures += 1
                delay = backoff_delay(
                    self._store_failures, p.store_initial_s, p.store_cap_s, p.jitter, self._rng
                )
                self._paused_until = now + delay
            changed = state != self._state
            self._state, self._last_error = state, str(e)
        self.index.upload_retry(item, str(e), self._clock())
        if changed:
            log.error("uploads paused, backlog kept: %s", e)
            self._emit(UPLOAD_ERROR, item, key, str(e))

    def _store_answered(self) -> None:
        with self._cond:
            recovered = self._state != CONNECTED
            self._state = CONNECTED
            self._store_failures = 0
            self._paused_until = 0.0
            self._cond.notify_all()
        if recovered:
            log.info("central store %s reachable; uploading", self.store.settings.endpoint_url)

    def _emit(self, kind: str, item: UploadItem, key: str, detail: str) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(UploadEvent(kind, item.stream, item.seq, item.what, key, detail))
        except Exception:  # a broken listener must not stop uploads
            log.exception("upload event listener failed on %s", kind)
