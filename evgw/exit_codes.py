"""The one exit-code table of every `evgw` command, shown in each `--help` and the README.

A script (or systemd's `RestartPreventExitStatus=2`) reads the code, a person the message:
a usage mistake is never reported as an evidence verdict, nor a verdict as a crash.
"""

from __future__ import annotations

from .i18n import _

OK = 0
"""Done; for the evidence tools: AUTHENTIC or AUTHENTIC_WITH_DECLARED_GAPS."""
NEGATIVE = 1
"""The evidence verdict is negative (NOT_AUTHENTIC, INCOMPLETE, nothing recorded), or a
gateway refused a command."""
USAGE = 2
"""A usage or configuration mistake: bad flag, bad config, missing file or data dir."""
RUNTIME = 3
"""A runtime failure: a server unreachable, an I/O error."""
PARTIAL = 4
"""Partial: some items could not be checked (INTEGRITY_ONLY: origin not established)."""


def table() -> list[tuple[int, str]]:
    """The codes and what each means, in the reader's language."""
    return [
        (OK, _("ok (verdict AUTHENTIC or AUTHENTIC_WITH_DECLARED_GAPS)")),
        (NEGATIVE, _("evidence verdict negative (NOT_AUTHENTIC, INCOMPLETE, nothing recorded)")),
        (USAGE, _("usage or configuration error (bad flag, bad config, missing file)")),
        (RUNTIME, _("runtime failure (server unreachable, I/O error)")),
        (PARTIAL, _("partial: some items could not be checked (INTEGRITY_ONLY: origin unproven)")),
    ]


def epilog() -> str:
    """The table as the `--help` epilog of every command."""
    lines = [_("exit codes:")]
    lines += [f"  {code}  {meaning}" for code, meaning in table()]
    return "\n".join(lines)
