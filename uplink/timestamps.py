"""Drain the queue of checkpoints waiting for a TSA token, one request at a time.

One named thread, driven like the uploader: it claims the oldest due request from the
index (`segments.timestamp_queue`), asks the TSA (`tsa_client`), and only for a reply that
passed every check writes the token beside the checkpoint (`checkpoints/<size>.tsr` in the
stream folder, fsynced) and queues its upload, in that order, so a crash between the two
leaves a token file that the next accepted reply simply replaces.

A TSA that cannot be reached pauses the loop (capped exponential backoff, `evgw.backoff`)
and keeps every request pending, however many days it stays away; a TSA that answers wrongly
(another nonce or hash, an untrusted signer, garbage) backs off only that request and is
reported. Recording and the upload queue never wait for any of this.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evgw.backoff import Backoff, backoff_delay
from segments.store import DataDir, write_durably
from segments.timestamp import token_relpath
from segments.timestamp_queue import TimestampItem, TimestampQueue

from .errors import TsaReplyRefused, TsaUnavailable
from .tsa_client import Timestamped, TsaClient

log = logging.getLogger(__name__)

STAMPED, REFUSED, UNAVAILABLE = "timestamp_stored", "timestamp_refused", "tsa_unavailable"


@dataclass(frozen=True)
class TimestampEvent:
    """What the loop reports: a token stored, a reply refused, the TSA gone offline."""

    kind: str
    stream: str
    size: int
    detail: str


@dataclass(frozen=True)
class TimestampPolicy:
    """Backoff of one refused request, and of the pause while the TSA is unreachable."""

    item_initial_s: float = 30.0
    item_cap_s: float = 3600.0
    tsa_initial_s: float = 5.0
    tsa_cap_s: float = 600.0
    jitter: float = 0.3
    idle_s: float = 5.0


@dataclass(frozen=True)
class TimestamperStatus:
    online: bool | None  # None until the TSA was first asked
    last_error: str | None
    stamped: int


class Timestamper:
    def __init__(
        self,
        queue: TimestampQueue,
        client: TsaClient,
        data_dir: Path,
        *,
        on_event: Callable[[TimestampEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
        policy: TimestampPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.queue = queue
        self.client = client
        self.data_dir = DataDir(Path(data_dir))
        self.policy = p = policy or TimestampPolicy()
        self._on_event = on_event
        self._clock = clock
        self._rng = rng or random.Random()
        self._pause = Backoff(p.tsa_initial_s, p.tsa_cap_s, jitter=p.jitter, rng=self._rng)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._online: bool | None = None
        self._last_error: str | None = None
        self._stamped = 0

    def start(self) -> Timestamper:
        if self._thread is not None:
            raise RuntimeError("timestamper already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="timestamper", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the request in flight (bounded by [tsa] timeout_s), then join."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("timestamper still waiting for the TSA after %.0f s", timeout)
        self._thread = None

    def wake(self) -> None:
        """A checkpoint was queued: stop idling now (a pause for an offline TSA still holds)."""
        self._wake.set()

    def status(self) -> TimestamperStatus:
        return TimestamperStatus(self._online, self._last_error, self._stamped)

    def run_once(self) -> float:
        """Try the oldest due request, if any; the seconds the loop then waits (0: go on)."""
        item = self.queue.next_due(self._clock())
        return self.policy.idle_s if item is None else self._handle(item)

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.run_once()
            if wait > 0 and not self._stop.is_set():
                self._wake.wait(wait)
                self._wake.clear()

    def _handle(self, item: TimestampItem) -> float:
        """Try one request; the seconds to wait before the next (0: go on at once)."""
        try:
            stamped = self.client.timestamp(item.data)
            self._keep(item, stamped)
        except TsaUnavailable as e:
            return self._offline(item, e)
        except (TsaReplyRefused, OSError) as e:
            self._refused(item, e)
        except Exception as e:  # the loop must outlive any one request
            log.exception("timestamping %s/%d failed unexpectedly", item.stream, item.size)
            self._refused(item, e)
        return 0.0

    def _keep(self, item: TimestampItem, stamped: Timestamped) -> None:
        path = self.data_dir.stream(item.stream) / token_relpath(item.size)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_durably(path, stamped.token)
        self.queue.done(item, stamped.token)
        self._pause.reset()
        if self._online is not True:
            log.info("TSA %s reachable; timestamping checkpoints", self.client.settings.url)
        self._online, self._stamped = True, self._stamped + 1
        detail = f"{stamped.stamp.time} by {stamped.stamp.tsa}"
        log.info("checkpoint %s/%d timestamped: %s", item.stream, item.size, detail)
        self._emit(STAMPED, item, detail)

    def _offline(self, item: TimestampItem, e: TsaUnavailable) -> float:
        """Keep the request due (no penalty of its own) and pause the whole loop."""
        self.queue.retry(item, str(e), self._clock())
        delay = self._pause.next_delay()
        if self._online is not False:
            log.warning("timestamps paused, requests kept: %s", e)
            self._emit(UNAVAILABLE, item, str(e))
        self._online, self._last_error = False, str(e)
        return delay

    def _refused(self, item: TimestampItem, e: Exception) -> None:
        p = self.policy
        delay = backoff_delay(item.attempts, p.item_initial_s, p.item_cap_s, p.jitter, self._rng)
        self.queue.retry(item, str(e), self._clock() + delay)
        self._last_error = str(e)
        log.error(
            "checkpoint %s/%d: no token kept (attempt %d), retry in %.0f s: %s",
            item.stream, item.size, item.attempts, delay, e,
        )  # fmt: skip
        self._emit(REFUSED, item, str(e))

    def _emit(self, kind: str, item: TimestampItem, detail: str) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(TimestampEvent(kind, item.stream, item.size, detail))
        except Exception:  # a broken listener must not stop timestamps
            log.exception("timestamp event listener failed on %s", kind)
