"""The code map holds: imports flow one way (DESIGN.md §2), no import circle, small modules.

The import graph is read from the source (every `import`, also inside functions and under
TYPE_CHECKING: a circle in the types is still a circle in the design).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("evgw", "gateway", "central", "cameras", "segments", "uplink", "testbeds")
PRODUCT = ("evgw", "gateway", "central", "cameras", "segments", "uplink")
MAX_MODULE_LINES = 400


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    if path.name != "__init__.py":
        parts = parts[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def _owner(name: str) -> str | None:
    """The module of ours that `name` (a module or a name in one) refers to."""
    while name and name not in modules():
        name = name.rpartition(".")[0]
    return name or None


@cache
def imports() -> dict[str, frozenset[str]]:
    """module -> the modules of ours it imports (a package's own submodules excluded)."""
    graph = {}
    for module, path in modules().items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(module, path, node)
                names = [base, *(f"{base}.{a.name}" for a in node.names)]
            else:
                continue
            for name in names:
                owner = _owner(name)
                related = owner is not None and (
                    owner == module
                    or module.startswith(owner + ".")
                    or owner.startswith(module + ".")
                )
                if owner is not None and not related:
                    targets.add(owner)
        graph[module] = frozenset(targets)
    return graph


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _edges(source: str, target: str) -> list[str]:
    return sorted(
        f"{m} -> {t}"
        for m, targets in imports().items()
        if _in(m, source)
        for t in targets
        if _in(t, target)
    )


FORBIDDEN = [
    # (importer, imported): nothing imports gateway or central; the lower layers stay lower
    *((p, "gateway") for p in ("central", "cameras", "segments", "uplink", "testbeds", "evgw")),
    *((p, "central") for p in ("gateway", "cameras", "segments", "uplink", "testbeds", "evgw")),
    ("segments", "uplink"),
    ("cameras", "uplink"),
    ("cameras", "segments"),
    *((p, "testbeds") for p in PRODUCT if p != "gateway"),
    *(("evgw", p) for p in PACKAGES if p != "evgw"),
    ("gateway.cases", "gateway.daemon"),
]


@pytest.mark.parametrize(("source", "target"), FORBIDDEN, ids=lambda x: x)
def test_imports_flow_one_way(source: str, target: str) -> None:
    assert _edges(source, target) == []


def test_nothing_outside_the_command_line_imports_it() -> None:
    entry = ("gateway.cli", "gateway.__main__ ")
    outside = [e for e in _edges("gateway", "gateway.cli") if not e.startswith(entry)]
    assert outside == []


def test_only_the_demo_command_uses_the_test_beds() -> None:
    users = {e.split(" -> ")[0] for e in _edges("gateway", "testbeds")}
    assert users <= {"gateway.cli.demo"}


def test_there_is_no_import_circle() -> None:
    graph = imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                circles.append(sorted([v, *component]))

    for v in graph:
        if v not in index:
            visit(v)
    assert circles == []


def test_the_graph_sees_real_imports() -> None:
    """Guard against a reader that finds nothing (and so can never fail)."""
    assert "segments.ledger" in imports()["gateway.wiring"]
    assert "gateway.cases.find" in imports()["gateway.cli.find"]


def test_product_modules_stay_small() -> None:
    long = {
        name: n
        for name, path in modules().items()
        if name.split(".")[0] in PRODUCT
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
