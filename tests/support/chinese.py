"""Run Python in a fresh process whose locale is Simplified Chinese: gettext picks its
catalogue once per process, so a language test cannot switch the one pytest runs in."""

from __future__ import annotations

import os
import subprocess
import sys

from .paths import REPO


def run_in_chinese(code: str) -> subprocess.CompletedProcess[str]:
    """`code` under LANG=zh_CN.UTF-8, with no LANGUAGE or LC_* left to override it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k != "LANGUAGE"}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**env, "LANG": "zh_CN.UTF-8", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def evgw_in_chinese(*args: str) -> subprocess.CompletedProcess[str]:
    """`evgw ARGS…` (its `main`) in Chinese."""
    return run_in_chinese(
        f"import sys\nfrom gateway.cli.main import main\nsys.exit(main({list(args)!r}))\n"
    )
