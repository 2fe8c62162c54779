"""The shared test plumbing checks what it claims: golden comparison catches a changed, a
missing and a leftover file; the golden folders belong to examples that exist."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.kit import GOLDEN, ROOT, check_golden, mesh_examples


def _stored(root: Path) -> None:
    (root / "ex" / "compose").mkdir(parents=True)
    (root / "ex" / "compose" / "a.yaml").write_text("a\n")
    (root / "ex" / "compose" / "old.yaml").write_text("old\n")
    (root / "ex" / "graph.mmd").write_text("not mine\n")


def test_a_leftover_golden_file_fails(tmp_path: Path) -> None:
    _stored(tmp_path)
    with pytest.raises(AssertionError, match=r"nothing renders any more: \['compose/old.yaml'\]"):
        check_golden("ex", {"compose/a.yaml": "a\n"}, owns="compose/*", update=False, root=tmp_path)


def test_a_changed_or_missing_golden_file_fails(tmp_path: Path) -> None:
    _stored(tmp_path)
    files = {"compose/a.yaml": "b\n", "compose/old.yaml": "old\n"}
    with pytest.raises(AssertionError, match=r"compose/a\.yaml differs"):
        check_golden("ex", files, owns="compose/*", update=False, root=tmp_path)
    files = {"compose/a.yaml": "a\n", "compose/old.yaml": "old\n", "compose/new.yaml": ""}
    with pytest.raises(AssertionError, match="no golden file for"):
        check_golden("ex", files, owns="compose/*", update=False, root=tmp_path)


def test_update_rewrites_and_removes_only_what_the_caller_owns(tmp_path: Path) -> None:
    _stored(tmp_path)
    check_golden("ex", {"compose/a.yaml": "b\n"}, owns="compose/*", update=True, root=tmp_path)
    assert (tmp_path / "ex" / "compose" / "a.yaml").read_text() == "b\n"
    assert not (tmp_path / "ex" / "compose" / "old.yaml").exists()
    assert (tmp_path / "ex" / "graph.mmd").exists()


def test_every_golden_folder_is_an_example() -> None:
    examples = {p.name for p in mesh_examples()}
    assert {p.name for p in GOLDEN.iterdir() if p.is_dir()} <= examples
    assert {"homelab", "split", "roles", "providers", "ha-gateway"} <= examples


def _imports_kit_otherwise(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.module == "kit" or (
            node.module == "tests" and any(a.name == "kit" for a in node.names)
        )
    return isinstance(node, ast.Import) and any(a.name == "kit" for a in node.names)


def test_every_test_imports_the_kit_as_tests_kit() -> None:
    """One spelling, so the kit is one module (not `kit` and `tests.kit` side by side)."""
    files = sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))
    other = [
        str(path.relative_to(ROOT))
        for path in files
        if any(map(_imports_kit_otherwise, ast.walk(ast.parse(path.read_text(encoding="utf-8")))))
    ]
    assert other == []
