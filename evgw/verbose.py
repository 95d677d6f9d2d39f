"""`-v` after a sub-command as well as before it, at every level of `evgw … COMMAND …`."""

from __future__ import annotations

import argparse

from .i18n import _


def accept_verbose(p: argparse.ArgumentParser) -> None:
    """SUPPRESS as default: a sub-command's parser leaves an earlier `-v` as it was."""
    p.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=_("debug logging")
    )
