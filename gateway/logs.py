"""One log line per event, key=value prefixed, readable in journald and on a terminal.

Under systemd, stderr is the journal (`$JOURNAL_STREAM` names it): journald stamps each
line itself, so the line carries no second time, and it starts with a `<N>` syslog priority
(journald's SyslogLevelPrefix) so `journalctl -p err` finds the errors. Fields such as
camera, seq and reason stay key=value in the message, searchable with `journalctl -g`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from evgw.text import printable

TERMINAL_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
JOURNAL_FORMAT = "level=%(levelname)s logger=%(name)s %(message)s"


class _PrintableFormatter(logging.Formatter):
    """Log lines carry camera- and network-supplied strings: no control characters in them,
    and continuation lines are indented, so no message can pass for a log entry of its own."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n  ".join(printable(line) for line in super().format(record).split("\n"))


class _JournalFormatter(_PrintableFormatter):
    """No time (journald adds it); the syslog priority first, as `<3>` for an error, on every
    line: journald stores each line as an entry, and a traceback's lines are errors too."""

    def __init__(self) -> None:
        super().__init__(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


def syslog_priority(levelno: int) -> int:
    """syslog(3) priority of a logging level: 2 crit, 3 err, 4 warning, 6 info, 7 debug."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


def stderr_is_journal(environ: Mapping[str, str], fd: int) -> bool:
    """True when `fd` is the stream `$JOURNAL_STREAM` names (`device:inode`), as systemd sets it;
    a terminal or a redirect of a process that merely inherited the variable is not."""
    try:
        device, inode = (int(part) for part in environ.get("JOURNAL_STREAM", "").split(":"))
        found = os.fstat(fd)
    except (ValueError, OSError):
        return False
    return (found.st_dev, found.st_ino) == (device, inode)


def formatter_for(environ: Mapping[str, str], fd: int) -> logging.Formatter:
    if stderr_is_journal(environ, fd):
        return _JournalFormatter()
    return _PrintableFormatter(TERMINAL_FORMAT)


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(os.environ, _fileno(sys.stderr)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("libav").setLevel(logging.ERROR)


def _fileno(stream: object) -> int:
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return -1
