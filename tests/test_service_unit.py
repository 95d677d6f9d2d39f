"""The service as an admin meets it: a bad config stops the unit once (exit 2, no restart
loop), and install.sh puts evgw on PATH but enables the unit only once `evgw check` passes."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.paths import REPO

UNIT = REPO / "systemd" / "evgw.service"
INSTALL = REPO / "systemd" / "install.sh"
EVGW = "/opt/evgw/.venv/bin/evgw"
CONFIG_ERROR = 2  # evgw/exit_codes.py: usage or configuration error


def unit_settings() -> dict[str, list[str]]:
    """Every assignment in the unit, by key (keys may repeat in unit files)."""
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        key, eq, value = line.partition("=")
        if eq and not key.startswith("#"):
            found.setdefault(key, []).append(value)
    return found


def evgw_here(command_line: str, config: Path) -> list[str]:
    """The unit's command line run from this checkout, with `config` for /etc/evgw/evgw.toml."""
    words = shlex.split(command_line)
    assert words[0] == EVGW
    words = [str(config) if w == "/etc/evgw/evgw.toml" else w for w in words[1:]]
    return [sys.executable, "-m", "gateway", *words]


def test_a_config_error_stops_the_unit_instead_of_restarting(tmp_path: Path) -> None:
    """RestartPreventExitStatus= is judged on the main process only (systemd's
    service_shall_restart), so the check must be `evgw run`'s own exit code, not an
    ExecStartPre= (which would restart up to the start limit)."""
    unit = unit_settings()
    assert unit["Restart"] == ["always"]
    assert str(CONFIG_ERROR) in " ".join(unit["RestartPreventExitStatus"]).split()
    assert "ExecStartPre" not in unit
    assert int(unit["StartLimitIntervalSec"][0]) > 0 and int(unit["StartLimitBurst"][0]) > 0
    assert "time-sync.target" in unit["Wants"][0].split()
    assert "time-sync.target" in unit["After"][0].split()
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]

    broken = tmp_path / "evgw.toml"
    broken.write_text('[gateway]\nid = "gw-1"\n')
    done = subprocess.run(
        evgw_here(unit["ExecStart"][0], broken),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == CONFIG_ERROR, done.stderr
    assert "Traceback" not in done.stderr
    assert str(broken) in done.stderr.splitlines()[0], "the first journal line names the file"


def _user_systemd() -> bool:
    if shutil.which("systemd-run") is None:
        return False
    probe = ["systemd-run", "--user", "--quiet", "--wait", "true"]
    return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


@pytest.mark.skipif(not _user_systemd(), reason="no user systemd instance (systemd-run --user)")
def test_under_systemd_a_config_error_fails_once_with_exit_2(tmp_path: Path) -> None:
    """The unit's restart settings on a transient user unit running the real command."""
    unit = unit_settings()
    broken = tmp_path / "evgw.toml"
    broken.write_text("not toml =\n")
    name = f"evgw-test-{uuid.uuid4().hex[:8]}"
    restart = [
        f"--property={key}={unit[key][0]}"
        for key in ("Restart", "RestartSec", "RestartPreventExitStatus")
    ]
    run = ["systemd-run", "--user", "--quiet", "--wait", f"--unit={name}", *restart]
    run += [f"--setenv=PYTHONPATH={REPO}", f"--working-directory={REPO}"]
    try:
        done = subprocess.run(
            [*run, *evgw_here(unit["ExecStart"][0], broken)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == CONFIG_ERROR, done.stderr
        show = ["systemctl", "--user", "show", name, "-p", "NRestarts", "-p", "ExecMainStatus"]
        shown = subprocess.run(show, capture_output=True, text=True, timeout=30).stdout
        assert "NRestarts=0" in shown and f"ExecMainStatus={CONFIG_ERROR}" in shown, shown
    finally:
        reset = ["systemctl", "--user", "reset-failed", name]
        subprocess.run(reset, capture_output=True, timeout=30)


STUB_PYTHON = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/../calls.log"
if [ "$2" = gateway.cli.manpage ]; then echo '.TH EVGW 1' > "$4"; fi
"""
STUB_EVGW = """#!/bin/sh
echo "evgw $@" >> "$(dirname "$0")/../calls.log"
case "$1" in
  check) [ -f "$(dirname "$0")/../check-passes" ] && exit 0
         echo "evgw: error: 3 problems" >&2; exit 2 ;;
  keygen) umask 077; echo key > "$3/device.ed25519"; echo pub > "$3/device.ed25519.pub" ;;
esac
"""


def _stub(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="needs systemctl --root")
def test_install_enables_the_unit_only_once_the_check_passes(tmp_path: Path) -> None:
    """install.sh --root: a staged install with a stand-in venv (no pip, no apt, no user)."""
    root, wheels = tmp_path / "root", tmp_path / "wheels"
    wheels.mkdir()
    venv = root / "opt/evgw/.venv"
    _stub(venv / "bin/python", STUB_PYTHON)
    _stub(venv / "bin/evgw", STUB_EVGW)
    wants = root / "etc/systemd/system/multi-user.target.wants/evgw.service"

    def install() -> str:
        argv = [str(INSTALL), "--root", str(root), "--wheels", str(wheels)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    out = install()
    assert "NOT enabled" in out and "evgw check && systemctl enable --now evgw" in out
    assert not wants.exists()
    assert os.readlink(root / "usr/local/bin/evgw") == EVGW
    assert (root / "usr/local/share/man/man1/evgw.1").read_text().startswith(".TH EVGW 1")
    calls = (venv / "calls.log").read_text()
    lock = REPO / "requirements.lock"
    assert f"--require-hashes --no-deps --no-index --find-links {wheels} -r {lock}" in calls
    config = root / "etc/evgw/evgw.toml"
    assert _mode(config) == 0o640 and _mode(root / "etc/evgw") == 0o750
    assert _mode(root / "var/lib/evgw") == 0o750, "the group evgw may read status"
    assert _mode(root / "etc/evgw/keys") == 0o700
    assert _mode(root / "etc/evgw/keys/device.ed25519") == 0o600

    config.write_text("# edited by the admin\n")
    (venv / "check-passes").touch()
    out = install()
    assert "the unit is enabled at boot" in out
    assert wants.is_symlink() and os.readlink(wants) == "/etc/systemd/system/evgw.service"
    assert config.read_text() == "# edited by the admin\n", "never overwritten"
    assert (venv / "calls.log").read_text().count("evgw keygen") == 1, "one device key"
    assert install().count("the unit is enabled at boot") == 1, "a third run changes nothing"

    (venv / "check-passes").unlink()
    assert "NOT restarted onto this version" in install(), "an upgrade with a broken config"
    assert wants.is_symlink(), "the admin's enabled unit stays enabled"
