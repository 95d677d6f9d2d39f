"""The daemon holds the signing key: no process of the same user may read its memory."""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4


def no_dumps() -> None:
    """Not dumpable: no /proc/PID/mem, no ptrace, no core dump of the daemon, whatever became
    of a camera process."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        log.warning("cannot turn off memory dumps of the daemon (prctl unavailable)")
