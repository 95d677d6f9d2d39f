"""Where the streams of a data dir are: a data dir, its `streams` folder, or one stream folder.

Shared by `evgw verify` and `evgw archive verify-box`, so both accept the same paths.
"""

from __future__ import annotations

from pathlib import Path

from evgw.errors import UsageError

from ..ledger import LEDGER_NAME
from ..store import DataDir


def find_streams(path: Path, camera: str | None) -> list[tuple[str, Path]]:
    """(name, folder) of every stream under PATH, optionally only `camera`'s."""
    if not path.is_dir():
        raise UsageError(f"{path}: no such directory; pass a data dir or a streams/<camera> folder")
    if (path / LEDGER_NAME).is_file():
        found = [(path.name, path)]
    else:
        streams = DataDir(path).streams
        base = streams if streams.is_dir() else path
        found = sorted(
            (d.name, d) for d in base.iterdir() if d.is_dir() and (d / LEDGER_NAME).is_file()
        )
    if not found:
        raise UsageError(
            f"{path}: no {LEDGER_NAME} found (expected streams/<camera>/{LEDGER_NAME})"
        )
    if camera is not None:
        found = [s for s in found if s[0] == camera]
        if not found:
            raise UsageError(f"{path}: no stream for camera {camera!r}")
    return found
