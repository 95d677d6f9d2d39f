"""One log line per event, key=value prefixed, readable in journald and on a terminal."""

from __future__ import annotations

import logging
import sys

from evgw.text import printable


class _PrintableFormatter(logging.Formatter):
    """Log lines carry camera- and network-supplied strings: no control characters in them,
    and continuation lines are indented, so no message can pass for a log entry of its own."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n  ".join(printable(line) for line in super().format(record).split("\n"))


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _PrintableFormatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("libav").setLevel(logging.ERROR)
