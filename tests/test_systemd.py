"""The systemd unit, its install script, and the daemon speaking sd_notify as a real process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbeds.rtsp import RtspTestServer
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config

UNIT = REPO / "systemd" / "evgw.service"
INSTALL = REPO / "systemd" / "install.sh"
ALLOWLIST = REPO / "systemd" / "ip-allowlist.conf.example"
KEY = "/etc/evgw/keys/device.ed25519"
EXEC_START = "/opt/evgw/.venv/bin/evgw"
MAX_EXPOSURE = 2.0

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is missing: apt-get install systemd",
)


def settings() -> list[tuple[str, str]]:
    """(key, value) for every assignment; keys may repeat, as they may in unit files."""
    lines = UNIT.read_text().splitlines()
    return [
        (key, value)
        for key, eq, value in (line.partition("=") for line in lines)
        if eq and not key.startswith("#")
    ]


def verifiable_unit(tmp_path: Path, *drop_ins: Path) -> Path:
    """The unit with ExecStart pointing at a binary that exists here, as verify demands."""
    path = tmp_path / "evgw.service"
    path.write_text(UNIT.read_text().replace(EXEC_START, shutil.which("true") or "/bin/true"))
    for drop_in in drop_ins:
        folder = tmp_path / "evgw.service.d"
        folder.mkdir(exist_ok=True)
        (folder / drop_in.name.removesuffix(".example")).write_text(drop_in.read_text())
    return path


def exposure(unit: Path) -> float:
    """`systemd-analyze security --offline` of `unit`: the overall exposure (lower is better)."""
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in done.stderr and "unrecognized" in done.stderr:
        pytest.skip("this systemd-analyze has no --offline (needs systemd 250+)")
    match = re.search(r"Overall exposure level for evgw\.service: ([\d.]+) (\w+)", done.stdout)
    assert match, done.stdout + done.stderr
    print(f"systemd-analyze security: {match.group(1)} {match.group(2)}")
    return float(match.group(1))


def test_unit_has_the_required_settings() -> None:
    found = settings()
    for expected in [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("WatchdogSec", "30"),
        ("Restart", "always"),
        ("User", "evgw"),
        ("Group", "evgw"),
        ("ExecStart", f"{EXEC_START} run --config /etc/evgw/evgw.toml"),
        ("StateDirectory", "evgw"),
        ("ConfigurationDirectory", "evgw"),
        ("ConfigurationDirectoryMode", "0750"),
        ("ReadWritePaths", "/var/lib/evgw"),
        ("LoadCredential", f"device.ed25519:{KEY}"),
        ("MemoryMax", "2G"),
        ("TasksMax", "512"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("SystemCallFilter", "@system-service"),
        ("MemoryDenyWriteExecute", "yes"),
        ("UMask", "0077"),
    ]:
        assert expected in found, expected
    filters = [v for k, v in found if k == "SystemCallFilter"]
    deny = filters.index("~@privileged @resources")
    assert "clock_adjtime adjtimex" in filters[deny + 1 :], "re-allowed after the deny list"
    landlock = "landlock_create_ruleset landlock_add_rule landlock_restrict_self"
    assert landlock in filters[deny + 1 :], "camera processes confine themselves"


def test_the_signing_key_is_outside_every_writable_path() -> None:
    found = settings()
    writable = [v for k, v in found if k == "ReadWritePaths"]
    writable += [f"/var/lib/{v}" for k, v in found if k == "StateDirectory"]
    assert writable and not any(KEY.startswith(w.rstrip("/") + "/") for w in writable)
    assert ("InaccessiblePaths", "-/etc/evgw/keys") in found


@needs_analyze
@pytest.mark.parametrize("drop_ins", [(), (ALLOWLIST,)], ids=["unit", "with the allow-list"])
def test_systemd_analyze_verify_is_clean(tmp_path: Path, drop_ins: tuple[Path, ...]) -> None:
    unit = verifiable_unit(tmp_path, *drop_ins)
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    about_unit = [line for line in output.splitlines() if "evgw.service" in line]
    assert not about_unit, "\n".join(about_unit)


@needs_analyze
def test_systemd_analyze_security_exposure(tmp_path: Path) -> None:
    assert exposure(verifiable_unit(tmp_path)) <= MAX_EXPOSURE


@needs_analyze
def test_the_ip_allow_list_drop_in_lowers_the_exposure(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "allow").mkdir()
    plain = exposure(verifiable_unit(tmp_path / "plain"))
    assert exposure(verifiable_unit(tmp_path / "allow", ALLOWLIST)) < plain


def test_install_script_dry_run_changes_nothing(tmp_path: Path) -> None:
    assert subprocess.run(["bash", "-n", str(INSTALL)]).returncode == 0
    before = {p: p.exists() for p in map(Path, ["/etc/evgw", "/opt/evgw", "/var/lib/evgw"])}
    done = subprocess.run([str(INSTALL), "--dry-run"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "+ install -m 0644" in out and "/etc/systemd/system/evgw.service" in out
    assert "+ systemctl enable evgw.service" in out
    lock = REPO / "requirements.lock"
    assert f"pip install -q --require-hashes --no-deps -r {lock}" in out
    assert f"pip install -q --no-deps --no-index --no-build-isolation {REPO}" in out
    assert "--upgrade" not in out, "nothing unpinned"
    assert "+ install -d -o root -g root -m 0700 /etc/evgw/keys" in out
    if not Path(KEY).exists() and not Path("/var/lib/evgw/keys/device.ed25519").exists():
        assert "+ /opt/evgw/.venv/bin/evgw keygen --out /etc/evgw/keys" in out
    assert "runuser" not in out, "the key is root's"
    if subprocess.run(["getent", "passwd", "evgw"], capture_output=True).returncode:
        assert "+ useradd --system" in out
    assert before == {p: p.exists() for p in before}


@pytest.mark.integration
def test_daemon_notifies_ready_status_watchdog_and_stopping(
    rtsp_server: RtspTestServer, tmp_path: Path
) -> None:
    config = make_config(tmp_path, [Cam("gate-1", rtsp_server.url("cam1"))])
    notify = tmp_path / "notify"
    messages: list[str] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        sock.settimeout(0.2)
        env = {**os.environ, "NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "1000000"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(config.path)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                m.startswith("STATUS=recording 1/1") for m in messages
            ):
                messages += receive_all(sock)
            pings_before = messages.count("WATCHDOG=1")
            time.sleep(1.5)
            messages += receive_all(sock)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0, proc.stderr.read().decode() if proc.stderr else ""
            messages += receive_all(sock)
        finally:
            proc.kill()
            proc.wait(5)
    assert messages[0] == "READY=1"
    assert any(m.startswith("STATUS=recording 1/1 cameras") for m in messages), messages
    assert messages.count("WATCHDOG=1") >= pings_before + 2, "pings every WATCHDOG_USEC/2"
    assert "STOPPING=1" in messages
    assert not any(m.startswith("STATUS=stalled") for m in messages), messages


def receive_all(sock: socket.socket) -> list[str]:
    got = []
    try:
        while True:
            got.append(sock.recv(4096).decode())
    except TimeoutError:
        return got
