"""`evgw run` as a service: signals in, the gateway started, supervised and stopped.

The signal handlers only set flags; the main loop acts on them, so a reload (SIGHUP) or a stop
(SIGTERM/SIGINT) never runs inside a signal handler. systemd hears READY=1 only once every
camera records or has declared a gap (`readiness`).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from ..config import Config
from .confine import no_dumps
from .lifecycle import Gateway
from .readiness import wait_settled
from .reload import reload
from .watchdog import supervise

log = logging.getLogger(__name__)


def run(config: Config) -> int:
    """Record until SIGTERM/SIGINT, reload on SIGHUP; every open segment is sealed at the end."""
    try:
        no_dumps()
    except (OSError, AttributeError):
        log.warning("cannot turn off memory dumps of the daemon (prctl unavailable)")
    gateway, reload_wanted = Gateway(config), threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: sealing open segments", signal.Signals(signum).name)
        gateway.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, lambda signum, frame: reload_wanted.set())
    try:
        gateway.start()  # every stream recovered, every camera process started
        wait_settled(gateway.tracker, gateway.stop_event)  # each records or declared a gap
        index = gateway.index if gateway.uploader else None
        supervise(
            gateway.tracker,
            gateway.stop_event,
            gateway.limits,
            None if index is None else lambda: index.backlog().count,
        )
        log.info("recording %d camera(s) into %s", len(gateway.workers), config.gateway.data_dir)
        while not gateway.stop_event.is_set():
            gateway.wait(1.0)
            if reload_wanted.is_set():
                reload_wanted.clear()
                reload(gateway)
    finally:
        gateway.stop()
    return 0
