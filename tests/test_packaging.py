"""The installed product leaves testbeds/ out, and still imports and runs without it."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import tomllib

from tests.support.paths import REPO


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


def _without_testbeds(*argv: str) -> subprocess.CompletedProcess[str]:
    """`evgw ARGV` as installed: `import testbeds` fails."""
    code = (
        "import sys; sys.modules['testbeds'] = None\n"
        "from gateway.cli.main import main\n"
        f"sys.exit(main({list(argv)!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_the_command_line_works_without_testbeds() -> None:
    done = _without_testbeds("verify", "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: evgw verify" in done.stdout
    assert "demo" in _without_testbeds("--help").stdout


def test_the_demo_says_where_it_runs_when_testbeds_are_missing() -> None:
    done = _without_testbeds("demo", "--seconds", "1")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "evgw demo: error: " in done.stderr and "./dev demo" in done.stderr
