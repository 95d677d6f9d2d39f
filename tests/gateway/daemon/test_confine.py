"""A confined camera process writes its own stream folder and reads the program, nothing else:
not the key, the configuration, the index, another camera's files, the daemon's memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.daemon.confine import landlock_abi
from tests.support.paths import REPO

pytestmark = pytest.mark.skipif(landlock_abi() < 1, reason="no Landlock in this kernel")

PROBE = r"""
import errno, json, os, sys
from pathlib import Path
import gateway, segments, cameras, evgw
from gateway.daemon.confine import confine

root, parent = Path(sys.argv[1]), int(sys.argv[2])
confine(root / "streams" / "gate-1")
done = {}

def attempt(name, action):
    try:
        action()
        done[name] = "allowed"
    except OSError as e:
        done[name] = errno.errorcode.get(e.errno, str(e.errno))

own = root / "streams" / "gate-1" / "2027" / "01" / "15"
attempt("make a day folder", lambda: own.mkdir(parents=True))
attempt("write a part", lambda: (own / "a.mp4.age.part").write_bytes(b"x"))
attempt("rename a part", lambda: os.rename(own / "a.mp4.age.part", own / "b.mp4.age"))
attempt("delete a part", lambda: os.unlink(own / "a.mp4.age.part"))
attempt("plant a link", lambda: os.symlink(root / "keys/device.ed25519", own / "c.part"))
attempt("read the key", lambda: (root / "keys" / "device.ed25519").read_bytes())
attempt("read the config", lambda: (root / "evgw.toml").read_bytes())
attempt("read the index", lambda: (root / "index.sqlite3").read_bytes())
attempt("read the ledger", lambda: (root / "streams/gate-1/ledger.jsonl").read_bytes())
attempt("read another camera", lambda: (root / "streams/gate-2/x").read_bytes())
attempt("write another camera", lambda: (root / "streams/gate-2/y").write_bytes(b"x"))
attempt("read the daemon's environ", lambda: open(f"/proc/{parent}/environ", "rb").read())
attempt("read the daemon's memory", lambda: open(f"/proc/{parent}/mem", "rb").read(1))
attempt("signal the daemon", lambda: os.kill(parent, 0))
attempt("read its own status", lambda: open("/proc/self/status").read())
import av, numpy, PIL.ImageFont  # the video stack loads after confinement too
from segments.overlay import font
attempt("read the overlay font", lambda: font.find_font().read_bytes()[:4])
print(json.dumps(done))
"""


def test_a_confined_process_reaches_only_its_own_folder(tmp_path: Path) -> None:
    for name in ("keys/device.ed25519", "evgw.toml", "index.sqlite3", "streams/gate-2/x",
                 "streams/gate-1/ledger.jsonl"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("secret")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path), str(os.getpid())],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    allowed = {k for k, v in outcome.items() if v == "allowed"}
    expected = {"make a day folder", "write a part", "read its own status", "read the overlay font"}
    if landlock_abi() < 6:
        expected.add("signal the daemon")  # Landlock scopes signals from ABI 6 (Linux 6.12)
    assert allowed == expected, outcome
