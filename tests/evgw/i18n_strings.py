"""The translatable strings of the code: every `_("...")` and `N_("...")` literal and every
`ngettext("...", "...", n)` pair, found by walking the syntax tree of each module that imports
`evgw.i18n` (what `xgettext` would find). A pair's msgid is singular NUL plural, as a compiled
catalogue keys it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("evgw", "gateway", "segments", "central", "cameras", "uplink")
MARKERS = ("_", "N_")
PLURAL = "ngettext"


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
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        texts = _literals(node.args)
        if node.func.id in MARKERS and len(node.args) == 1 and len(texts) == 1:
            yield texts[0], node.lineno
        if node.func.id == PLURAL and len(node.args) == 3 and len(texts) >= 2:
            yield texts[0] + "\0" + texts[1], node.lineno


def _literals(args: list[ast.expr]) -> list[str]:
    """The leading string constants of a call's arguments."""
    found: list[str] = []
    for arg in args:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            break
        found.append(arg.value)
    return found
