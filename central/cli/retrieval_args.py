"""Options `archive find` and `archive export` share, and opening what they read."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from evgw.i18n import _
from evgw.times import parse_range

from ..catalogue.db import Catalogue
from ..config import CentralConfig, load_central_config
from ..retrieval.setup import archive_source
from ..retrieval.source import ArchiveSource


def add_range(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, help=_("the archive's TOML file"))
    p.add_argument("--gateway", required=True, help=_("gateway id, as in [trust]"))
    p.add_argument("--camera", required=True, help=_("camera id (the stream)"))
    p.add_argument("--from", dest="start", required=True, help=_("ISO 8601 with offset or Z"))
    p.add_argument("--to", dest="end", required=True, help=_("ISO 8601 with offset or Z"))


def time_range(args: argparse.Namespace) -> tuple[datetime, datetime]:
    return parse_range(args.start, args.end, ("--from", "--to"))


@contextmanager
def opened(args: argparse.Namespace) -> Iterator[tuple[CentralConfig, ArchiveSource]]:
    """The configuration and the retrieval source on an open catalogue, closed after."""
    config = load_central_config(args.config)
    catalogue = Catalogue.open(config.database)
    try:
        yield config, archive_source(config, catalogue)
    finally:
        catalogue.close()
