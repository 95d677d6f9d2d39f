"""Text from cameras and networks, made safe to show: no terminal commands in it.

Camera names, ONVIF replies, MQTT payloads and ledger details come from devices we do not
control; printed raw, an escape sequence in them could rewrite a screen, hide a line or spoof
a verdict, and a newline could forge a log entry.
"""

from __future__ import annotations

import re

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"
# C0 and C1 controls but tab and newline, and the Unicode direction marks and overrides.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character (but tab and newline) shown as U+FFFD."""
    return _UNSAFE.sub(REPLACEMENT, text)
