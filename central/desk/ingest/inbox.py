"""The bounded queue between paho's network thread and the writer: no I/O, no parsing.

paho's own queue is unbounded; a desk whose database stalls must not grow without limit. When
full, the oldest message goes and is counted: for the retained kinds a newer report follows
within a health interval.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import paho.mqtt.client as paho

CAPACITY = 200_000  # ~a minute of a 5,000-gateway fleet at 10 messages per 10 s each


@dataclass(frozen=True)
class Incoming:
    message: paho.MQTTMessage
    received_at: float


class Inbox:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.received = 0
        self.dropped = 0
        self._items: deque[Incoming] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def put(self, item: Incoming) -> None:
        with self._lock:
            self.received += 1
            self._items.append(item)
            if len(self._items) > self.capacity:
                self._items.popleft()
                self.dropped += 1

    def count_dropped(self, count: int) -> None:
        """Messages dropped elsewhere for want of room (a batch kept while the database is away)."""
        with self._lock:
            self.dropped += count

    def take(self) -> list[Incoming]:
        """Everything queued, oldest first."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items
