"""One error root for every evgw package.

A known failure is an `EvgwError` whose message says what went wrong and, where it is not
obvious, what to do next (`hint`). The command line catches only this root: it prints the
message and the hint, never a traceback, and exits with `exit_code` (the table in
`evgw.exit_codes`: 2 for a usage or configuration mistake, 3 for a failure of the work itself).
"""

from __future__ import annotations

from . import exit_codes


class EvgwError(Exception):
    """A known failure; `hint` is the next step for the user, when the message lacks one."""

    exit_code = exit_codes.RUNTIME

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(EvgwError):
    """The caller asked for something that cannot work as asked: fix the arguments."""

    exit_code = exit_codes.USAGE


class ConfigError(UsageError):
    """A configuration file is missing, malformed or invalid.

    The message names the file, the key path and the reason, e.g.
    ``/etc/evgw/evgw.toml: cameras[1].rtsp: must be an rtsp:// or rtsps:// URL, got 'http://x'``.
    """
