"""Rejected input from the camera network: counted, logged once per source, never fatal.

A camera network may hold a broken device or an attacker sending thousands of bad messages a
second. Each rejection is counted (health reports show the count); the first one from each
sender is logged with its reason and the rest only at debug level, so a flood neither fills
the journal with tracebacks nor hides that it happened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

MAX_SOURCES = 256  # senders remembered for "first from this source"; then all count as new

OnReject = Callable[[str, str, bool], None]
"""(source, reason, first from this source) for each rejection."""


class RejectLog:
    """Thread-safe tally of rejected messages of one kind (`what`), e.g. "WS-Discovery datagram"."""

    def __init__(
        self, what: str, logger: logging.Logger, on_reject: OnReject | None = None
    ) -> None:
        self.what = what
        self._log = logger
        self._on_reject = on_reject
        self._lock = threading.Lock()
        self._sources: set[str] = set()
        self._count = 0

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def reject(self, source: str, reason: object) -> None:
        """Count one rejected message from `source` (an address); log it if it is the first."""
        text = str(reason)[:300]
        with self._lock:
            self._count += 1
            first = source not in self._sources
            if first:
                if len(self._sources) >= MAX_SOURCES:
                    self._sources.clear()
                self._sources.add(source)
        if first:
            self._log.warning(
                "rejected %s from %s: %s (further ones from it are counted, not logged)",
                self.what, source or "?", text,
            )  # fmt: skip
        else:
            self._log.debug("rejected %s from %s: %s", self.what, source or "?", text)
        if self._on_reject is not None:
            self._on_reject(source, text, first)
