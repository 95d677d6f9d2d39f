"""Where the checkout is, for tests that run `python -m gateway` or read shipped files."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
