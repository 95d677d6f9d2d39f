"""`evgw archive find` and `export` are sub-commands of `evgw archive`, and loading them (as
`archive sync` does) loads no video stack: only an export remuxes."""

from __future__ import annotations

import subprocess
import sys

from central.cli.archive import SUBCOMMANDS
from tests.support.paths import REPO


def test_find_and_export_are_archive_sub_commands() -> None:
    assert SUBCOMMANDS["find"][0] == "central.cli.find"
    assert SUBCOMMANDS["export"][0] == "central.cli.export"


def test_the_archive_commands_load_no_video_stack_until_an_export_runs() -> None:
    code = (
        "import sys\n"
        "from gateway.cli.main import build_parser\n"
        "build_parser(['archive'])\n"
        "print('central.cli.export' in sys.modules, 'av' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["True", "False"], done.stderr
