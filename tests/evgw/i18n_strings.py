"""The translatable strings of the code: every `_("...")` and `N_("...")` literal, found by
walking the syntax tree of each module that imports `evgw.i18n` (what `xgettext` would find)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("evgw", "gateway", "segments", "central", "cameras", "uplink")
MARKERS = ("_", "N_")


def translatable(root: Path = ROOT) -> dict[str, str]:
    """msgid -> `path:line` of its first use."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if "i18n import" not in text and path.name != "i18n.py":
                continue
            for msgid, line in _calls(ast.parse(text)):
                found.setdefault(msgid, f"{path.relative_to(root)}:{line}")
    return found


def _calls(tree: ast.AST) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in MARKERS
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value, node.lineno
