"""Imports point down the pipeline only, and no module imports itself through others.

Read from the source (ast), every import counted: at the top, inside functions and under
`TYPE_CHECKING`, since each one ties the two modules together for a reader as much as for Python.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.kit import ROOT

PACKAGE = ROOT / "jarvis_config"
# Lowest first; a module may import its own layer and the layers below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "problems", "wording", "resources", "safeio", "report", "outcome", "standin"),
    ("model",),
    ("load",),
    ("validate",),
    ("render",),
    ("write",),
    ("pipeline",),
    ("review", "live", "trial"),
    ("commands",),
    ("cli", "__main__"),
)
# Code that runs elsewhere (inside the LiteLLM proxy) and imports nothing of the package.
OUTSIDE = ("callback",)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path
    for path in sorted(PACKAGE.rglob("*.py"))
    if module_name(path).split(".")[1:2] != list(OUTSIDE)
}


def imports_of(name: str) -> Iterator[str]:
    """The package's modules that `name` imports (`from a import b` counts b when it is a
    module, else a)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module in MODULES:
            for alias in node.names:
                yield (
                    f"{node.module}.{alias.name}"
                    if f"{node.module}.{alias.name}" in MODULES
                    else node.module
                )


def layer(name: str) -> int:
    """The layer of a module, by its first part below `jarvis_config`; the package's own
    `__init__` (its version) sits at the bottom, a module of no layer above everything."""
    first = name.split(".")[1] if "." in name else ""
    if not first:
        return 0
    return next((i for i, names in enumerate(LAYERS) if first in names), len(LAYERS))


def test_every_module_has_a_layer() -> None:
    assert [name for name in MODULES if layer(name) == len(LAYERS)] == []


def test_imports_point_down_the_pipeline() -> None:
    upward = [
        f"{name} imports {imported}"
        for name in MODULES
        for imported in imports_of(name)
        if layer(imported) > layer(name)
    ]
    assert upward == []


def test_no_module_imports_itself_through_others() -> None:
    graph = {name: set(imports_of(name)) - {name} for name in MODULES}
    cycles = {" -> ".join(cycle) for name in graph for cycle in _cycles_from(name, graph)}
    assert sorted(cycles) == []


def _cycles_from(start: str, graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Each shortest way from `start` back to itself (breadth first), as module names."""
    seen, frontier = {start}, [[start]]
    while frontier:
        following = []
        for path in frontier:
            for imported in sorted(graph[path[-1]]):
                if imported == start:
                    yield [*path, start]
                    return
                if imported not in seen:
                    seen.add(imported)
                    following.append([*path, imported])
        frontier = following


def test_the_callback_imports_nothing_of_the_package() -> None:
    """It is copied verbatim into the output and runs inside the proxy, without this package."""
    for path in (PACKAGE / "callback").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert [name for name in names if name.startswith("jarvis_config")] == [], path
