"""The installed product leaves testbeds/ out, still imports and runs without it, and installs
from a lock file that pins and hashes every dependency."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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
    assert "evgw: error: " in done.stderr and "./dev demo" in done.stderr


LOCK = REPO / "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\$")


def _locked() -> dict[str, tuple[str, list[str]]]:
    """name → (version, sha256 hashes) for every pin in the lock file."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name: str | None = None
    for line in LOCK.read_text().splitlines():
        if m := _PIN.match(line):
            name = canonicalize_name(m.group(1))
            pins[name] = (m.group(2), [])
        elif name and (h := re.match(r"^\s+--hash=sha256:([0-9a-f]{64})", line)):
            pins[name][1].append(h.group(1))
    return pins


def test_the_lock_pins_every_runtime_dependency_with_hashes() -> None:
    """install.sh installs with --require-hashes --no-deps: the lock must hold the closure."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = _locked()
    direct = [Requirement(r) for r in project["project"]["dependencies"]]
    build = [Requirement(r) for r in project["build-system"]["requires"]]
    for req in direct + build:
        pinned = canonicalize_name(req.name)
        assert pinned in pins, f"{req.name} is not in {LOCK.name}: regenerate it (systemd/README)"
        assert req.specifier.contains(pins[pinned][0]), f"{req} but the lock pins {pins[pinned][0]}"
    assert all(hashes for _, hashes in pins.values()), "every pin carries a sha256 hash"
    for name in pins:
        if name == "setuptools":
            continue
        for text in metadata.distribution(name).requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                assert canonicalize_name(req.name) in pins, f"{name} needs {req.name}"


def test_the_lock_pins_what_the_tests_ran_against() -> None:
    for name, (version, _) in _locked().items():
        if name != "setuptools":
            assert metadata.version(name) == version, f"{name}: tested {metadata.version(name)}"
