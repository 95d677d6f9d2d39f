"""The ingest service: an MQTT client that queues what arrives, a writer thread that stores it.

paho's network thread only appends each message to a bounded inbox (it must stay free to
answer the broker); the writer thread takes everything queued every `BATCH_S`, checks it
(`reports`) and writes it as one transaction (`store`). A refused message is counted by
reason and logged once per reason, never stored in part. When the database refuses a batch,
its messages are tried one by one so one bad row cannot hold back the rest; when it does not
answer at all it is away: the batch is kept (up to the inbox's capacity) and the writer waits,
doubling up to `MAX_BACKOFF_S`, then stores it ahead of what came meanwhile. While the inbox
is full the oldest messages are dropped and counted: retained values come again with the
gateways' next report.

Several ingesting desks on one database (`[desk] ingest_group`): each subscribes through the
MQTT 5 shared subscription ``$share/<group>/...``, so the broker hands every live message to
one member only (events are stored once) and a member that dies leaves the others the whole
load. The broker sends no retained value on a shared subscription, so at every connect each
member also subscribes ordinarily to the retained kinds and unsubscribes once the broker
acknowledged that: the retained values queued in between arrive, and a live one arriving
twice meanwhile is harmless (current values are upserts, a sample is kept once per ``ts``, an
alarm is open at most once: a unique index). Two members may store reports of one gateway in
either order; the next report (one health interval) puts its current values right. Without a
group, every ingesting desk stores every event: so either one desk ingests (``ingest = true``
on one, ``false`` on the others) or all that ingest share one group.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from central.catalogue.db import Catalogue, CatalogueError
from central.config.load import CentralConfig
from central.config.tables import DeskTable
from evgw.errors import ConfigError
from uplink.mqtt_client import describe_connect_failure, describe_refusal, new_client
from uplink.settings import MqttSettings

from .inbox import Inbox, Incoming
from .reading import read
from .store import Item, Writer, apply_retention
from .topics import retained_subscriptions, subscriptions

log = logging.getLogger(__name__)

BATCH_S = 0.5
MAX_BACKOFF_S = 30.0
RETENTION_EVERY_S = 3600.0
_numbers = itertools.count(1)


@dataclass(frozen=True)
class IngestCounts:
    received: int  # messages taken from the broker
    stored: int  # accepted and committed
    refused: dict[str, int]  # by reason: not_json, too_large, wrong_type, bad_topic …
    dropped: int  # lost to a full inbox
    batches: int  # transactions committed


def start_ingest(config: CentralConfig, catalogue: Catalogue) -> Ingest:
    """Subscribe to the fleet's topics (``[mqtt]``) and store them (``[desk]``) until stop().

    Applies the retention once before it subscribes (so a catalogue that does not answer fails
    here, as CatalogueError). Whether this desk should ingest at all (``[desk] ingest``) is the
    caller's decision.
    """
    if config.mqtt is None:
        raise ConfigError(f"{config.path}: [mqtt] is missing; the desk ingests from that broker")
    return Ingest(config.mqtt, config.desk or DeskTable(), catalogue).start()


def client_id() -> str:
    """Unique per process and instance: two desks with one id would push each other off."""
    host = socket.gethostname()[:40] or "host"
    return f"evgw-desk-{host}-{os.getpid()}-{next(_numbers)}"


class Ingest:
    def __init__(self, settings: MqttSettings, desk: DeskTable, catalogue: Catalogue) -> None:
        self.settings = settings
        self.desk = desk
        self.catalogue = catalogue
        self.connected = threading.Event()
        self.last_error: str | None = None
        self._inbox = Inbox()
        self._writer = Writer(catalogue, desk.sample_s)
        self._halt = threading.Event()
        self._cond = threading.Condition()
        self._stored = self._batches = 0
        self._refused: Counter[str] = Counter()
        self._warned: set[str] = set()
        self._client: paho.Client | None = None
        self._thread: threading.Thread | None = None
        self._pending: list[Item] = []  # refused by a database that was away
        self._retained_mid: int | None = None

    # -- life ------------------------------------------------------------------------------

    def start(self) -> Ingest:
        self._retain()  # also proves the catalogue answers, before the broker is tried
        client = new_client(self.settings, client_id(), protocol=MQTTProtocolVersion.MQTTv5)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        self._thread = threading.Thread(target=self._run, name="desk-ingest", daemon=True)
        self._thread.start()
        client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        client.loop_start()
        return self

    def stop(self) -> None:
        """Disconnect, store what is queued, join the writer."""
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self._halt.set()
        if self._thread is not None:
            self._thread.join(60)

    def counts(self) -> IngestCounts:
        with self._cond:
            return IngestCounts(
                self._inbox.received, self._stored, dict(self._refused),
                self._inbox.dropped, self._batches,
            )  # fmt: skip

    def wait_stored(self, count: int, timeout: float) -> bool:
        """Block until `count` messages are stored in all; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._stored >= count, timeout)

    # -- paho's thread ---------------------------------------------------------------------

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._error(describe_refusal(reason))
            return
        root, group, qos1 = self.settings.topic_root, self.desk.ingest_group, SubscribeOptions(1)
        client.subscribe([(t, qos1) for t in subscriptions(root, group)])
        if group:
            _, self._retained_mid = client.subscribe(
                [(t, qos1) for t in retained_subscriptions(root)]
            )
        self.last_error = None
        self.connected.set()
        log.info("desk ingest: subscribed at %s:%d", self.settings.host, self.settings.port)

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(r.is_failure for r in reasons):
            self._error(f"the broker refused a subscription: {', '.join(map(str, reasons))}")
        if mid == self._retained_mid:
            client.unsubscribe(retained_subscriptions(self.settings.topic_root))

    def _on_connect_fail(self, client: paho.Client, userdata: object) -> None:
        self._error(describe_connect_failure(self.settings))

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self.connected.is_set() and self._client is client:
            log.warning("desk ingest: lost the broker (%s); reconnecting", reason)
        self.connected.clear()

    def _error(self, message: str) -> None:
        if message != self.last_error:
            log.warning("desk ingest: %s", message)
        self.last_error = message

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        self._inbox.put(Incoming(msg, time.time()))

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        wait, next_retention = BATCH_S, time.monotonic() + RETENTION_EVERY_S
        while not self._halt.wait(wait):
            wait = self._step(wait)
            if time.monotonic() >= next_retention:
                next_retention = time.monotonic() + RETENTION_EVERY_S
                self._guarded(self._retain)
        self._step(0.0)  # what came before stop()
        left = len(self._pending) + len(self._inbox)
        if left:
            log.warning("desk ingest: stopped with %d messages not stored (database away)", left)

    def _step(self, wait: float) -> float:
        """One batch; the next wait: `BATCH_S`, or longer while the database is away."""
        try:
            away = self._batch()
        except Exception:  # the thread must outlive any one batch
            log.exception("desk ingest: batch failed; trying again")
            away = True
        return min(max(2 * wait, 1.0), MAX_BACKOFF_S) if away else BATCH_S

    def _retain(self) -> None:
        apply_retention(self.catalogue, self.desk.history_days, time.time())

    def _guarded(self, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:
            log.exception("desk ingest: retention failed; trying again in an hour")

    def _batch(self) -> bool:
        """Store what is queued; True when the database seems away (all of it kept for later)."""
        items = self._pending + [
            item for message in self._inbox.take() if (item := self._read(message)) is not None
        ]
        self._pending = []
        if not items:
            return False
        try:
            self._writer.write(items)
            self._stored_now(len(items), 1)
            return False
        except CatalogueError as e:
            self._error(f"the catalogue refused a batch: {e}")
        if not self._writer.answers():
            self._pending = items[-self._inbox.capacity :]
            self._inbox.count_dropped(len(items) - len(self._pending))
            return True
        failed = []
        for item in items:
            try:
                self._writer.write([item])
            except CatalogueError:
                failed.append(item)
        for item in failed:
            self._refuse("database", f"the catalogue refused a message on {item.topic}")
        stored = len(items) - len(failed)
        self._stored_now(stored, stored)
        return False

    def _read(self, message: Incoming) -> Item | None:
        item = read(self.settings.topic_root, message)
        if isinstance(item, Item):
            return item
        self._refuse(*item)
        return None

    def _refuse(self, reason: str, detail: str) -> None:
        with self._cond:
            self._refused[reason] += 1
            first = reason not in self._warned
            self._warned.add(reason)
        if first:
            log.warning("desk ingest: refusing messages (%s), e.g. %.200s", reason, detail)

    def _stored_now(self, count: int, batches: int) -> None:
        with self._cond:
            self._stored += count
            self._batches += batches
            self._cond.notify_all()
