"""The installed product leaves testbeds/ out, and still imports and runs without it."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_testbeds_is_not_packaged() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packaged = {
        d.name
        for d in REPO.iterdir()
        if (d / "__init__.py").is_file() and any(fnmatch.fnmatch(d.name, i) for i in include)
    }
    assert {"gateway", "uplink"} <= packaged
    assert not packaged & {"testbeds", "tests"}


def test_the_command_line_works_without_testbeds() -> None:
    """As installed: `import testbeds` fails, yet every command but the demo's run is there."""
    code = (
        "import sys; sys.modules['testbeds'] = None\n"
        "from gateway.cli import build_parser\n"
        "build_parser().parse_args(['verify', '--help'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "usage: evgw verify" in done.stdout
