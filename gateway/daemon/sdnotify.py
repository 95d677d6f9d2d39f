"""A minimal sd_notify(3) client: tells systemd we are ready, what we do, and that we are alive.

Stdlib only (one datagram per message, as libsystemd does). Outside systemd, where
`$NOTIFY_SOCKET` is unset, every call is a no-op, so the daemon runs the same either way.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notifier:
    """Sends to one notify socket; `address` None means not supervised by systemd."""

    address: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(socket_address(env.get("NOTIFY_SOCKET", "")))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def ready(self) -> bool:
        return self.send("READY=1")

    def status(self, text: str) -> bool:
        """One line for `systemctl status`; newlines would end the field, so they are flattened."""
        return self.send("STATUS=" + " ".join(text.splitlines()))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def send(self, *fields: str) -> bool:
        """True when the datagram left; failures are logged, never raised: the recording goes on."""
        if self.address is None:
            return False
        message = "\n".join(fields).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.connect(self.address)
                s.sendall(message)
        except OSError as e:
            log.warning("sd_notify to %r failed: %s", self.address, e)
            return False
        return True


def socket_address(value: str) -> str | None:
    """`$NOTIFY_SOCKET` as a connectable address: an absolute path, or `@name` (abstract)."""
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value:
        log.warning("ignoring NOTIFY_SOCKET=%r: neither an absolute path nor @abstract", value)
    return None


def watchdog_interval(
    environ: Mapping[str, str] | None = None, pid: int | None = None
) -> float | None:
    """Seconds within which systemd expects WATCHDOG=1, or None when no watchdog watches us.

    `$WATCHDOG_PID`, when set, names the process the watchdog is meant for: a child that
    inherited the environment must not feed (or think it feeds) its parent's watchdog.
    """
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    wanted_pid = env.get("WATCHDOG_PID")
    if wanted_pid:
        try:
            if int(wanted_pid) != (os.getpid() if pid is None else pid):
                return None
        except ValueError:
            return None
    return usec / 1_000_000
