"""Text from cameras and networks, made safe to show: no terminal commands in it.

Camera names, ONVIF replies, MQTT payloads and ledger details come from devices we do not
control; printed raw, an escape sequence in them could rewrite a screen, hide a line or spoof
a verdict, and a newline could forge a log entry.
"""

from __future__ import annotations

import io
import re
from typing import TextIO

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"
# C0 and C1 controls but tab and newline, and the Unicode direction marks and overrides.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character (but tab and newline) shown as U+FFFD."""
    return _UNSAFE.sub(REPLACEMENT, text)


class SafeText(io.TextIOBase):
    """A text stream that writes only printable text to the stream it wraps (`raw`).

    A terminal command evgw sends on purpose (a progress line's carriage return, the live
    monitor's redraw) goes to `raw` directly, never through here.
    """

    def __init__(self, raw: TextIO) -> None:
        super().__init__()
        self.raw = raw

    def write(self, text: str) -> int:
        self.raw.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.raw, "encoding", "utf-8")


def terminal(out: TextIO) -> TextIO:
    """The stream under `out` for a terminal command evgw sends on purpose."""
    return out.raw if isinstance(out, SafeText) else out
