"""The camera process's end of its pipe to the daemon: news out, records signed, controls in.

`ParentLink` sends the child's messages (`child_protocol`), one request at a time, and runs a
reader thread (`parent-link`) that takes the daemon's reply to the request in flight and its
controls: `stop` (seal and exit), `disk_full` (pause until space returns) and `announced` (a
WS-Discovery Hello/Bye, handed to `on_announced`). When the daemon
is gone the reader sets `halt`, and a waiting request fails instead of hanging.

`RemoteLog` is the recorder's `StreamLog` over the link: the daemon numbers, names, signs and
appends; the child only drafts and finishes its `.part` files.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

from segments.errors import WriteError
from segments.records import Record

from .child_protocol import (
    MAX_MESSAGE,
    Announced,
    Append,
    Checkpoint,
    DiskFull,
    FromChild,
    MessageError,
    Reply,
    Request,
    Seal,
    Stop,
    encode,
    to_child,
)

log = logging.getLogger(__name__)


class ParentGone(WriteError):
    """The daemon closed the pipe: nothing more can be signed; the child seals nothing more."""


class ParentLink:
    def __init__(self, conn: Connection, halt: threading.Event, disk_full: threading.Event) -> None:
        self._conn = conn
        self._halt = halt
        self._disk_full = disk_full
        self._send_lock = threading.Lock()
        self._request_lock = threading.Lock()
        self._replies: queue.SimpleQueue[Reply | None] = queue.SimpleQueue()
        self._ids = itertools.count(1)
        self._reader = threading.Thread(target=self._read, name="parent-link", daemon=True)
        self.on_announced: Callable[[Announced], None] | None = None

    def start(self) -> ParentLink:
        self._reader.start()
        return self

    def send(self, message: FromChild) -> None:
        """Fire and forget (health, gaps, pictures): a daemon that is gone cannot listen."""
        with contextlib.suppress(ParentGone):
            self._send(message)

    def request(self, make: Callable[[int], Request]) -> Reply:
        """Send one request and wait for its reply; `ParentGone` if the daemon is gone."""
        with self._request_lock:
            request = make(next(self._ids))
            self._send(request)
            while True:
                reply = self._replies.get()
                if reply is None:
                    self._replies.put(None)  # later requests fail at once too
                    raise ParentGone("the daemon is gone: the record was not signed")
                if reply.id == request.id:
                    return reply

    def _send(self, message: FromChild) -> None:
        data = encode(message)
        with self._send_lock:
            try:
                self._conn.send_bytes(data)
            except (OSError, ValueError) as e:
                raise ParentGone(f"the daemon is gone ({e})") from e

    def _read(self) -> None:
        try:
            while True:
                message = to_child(self._conn.recv_bytes(MAX_MESSAGE))
                if isinstance(message, Reply):
                    self._replies.put(message)
                elif isinstance(message, Stop):
                    self._halt.set()
                elif isinstance(message, DiskFull):
                    if message.on:
                        self._disk_full.set()
                    else:
                        self._disk_full.clear()
                elif isinstance(message, Announced):
                    self._announced(message)
        except (EOFError, OSError):
            log.info("the daemon closed the pipe")
        except MessageError as e:
            log.error("unreadable message from the daemon: %s", e)
        finally:
            self._halt.set()
            self._replies.put(None)

    def _announced(self, message: Announced) -> None:
        handler = self.on_announced
        if handler is None:
            return
        try:
            handler(message)
        except Exception:
            log.exception("announcement of %s not handled", message.endpoint[:80])


class RemoteLog:
    """A `StreamLog` whose ledger lives in the daemon: one round trip per record."""

    def __init__(self, link: ParentLink) -> None:
        self._link = link

    def append(self, draft: Record) -> Record:
        return _signed(self._link.request(lambda id: Append(id, draft)))

    def seal(self, draft: Record, start_wall: float) -> Record:
        return _signed(self._link.request(lambda id: Seal(id, draft, start_wall)))

    def checkpoint(self) -> None:
        reply = self._link.request(Checkpoint)
        if reply.error is not None:
            raise WriteError(f"the daemon signed no checkpoint: {reply.error}")


def _signed(reply: Reply) -> Record:
    if reply.record is None:
        raise WriteError(f"the daemon appended nothing: {reply.error or 'no record in reply'}")
    return reply.record
