"""Helpers shared by the test modules: where things are, which examples are meshes, and
compiling an example into the mesh model."""

from __future__ import annotations

from pathlib import Path

import pytest

from jarvis_config import pipeline
from jarvis_config.model.mesh import Mesh

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"
GOLDEN = ROOT / "tests" / "golden"
# The examples reference these; tests pass them explicitly so no env-unset warning interferes.
TEST_ENV = {"JARVIS_MASTER_KEY": "unused", "OPENAI_API_KEY": "unused"}


def mesh_examples() -> list[Path]:
    """Example meshes: folders under examples/ whose YAML declares `version` (not CI recipes)."""
    found = []
    for folder in sorted(p for p in EXAMPLES_DIR.iterdir() if p.is_dir()):
        texts = [p.read_text("utf-8") for p in folder.rglob("*.y*ml")]
        if any(line.startswith("version:") for text in texts for line in text.splitlines()):
            found.append(folder)
    return found


def example_params() -> list[object]:
    return [pytest.param(p, id=p.name) for p in mesh_examples()]


def compile_mesh(example: Path | str) -> Mesh:
    """The mesh of an example folder (a name under examples/, or a path)."""
    path = EXAMPLES_DIR / example if isinstance(example, str) else example
    compiled = pipeline.compile_config(path, environ=TEST_ENV)
    assert compiled.mesh is not None, [str(p) for p in compiled.problems]
    return compiled.mesh


def assert_golden_tree(example: str, folder: str, files: dict[str, str], update: bool) -> None:
    """Compare the rendered files under `folder/` with tests/golden/<example>/, exactly; with
    `update` rewrite them first. Golden files with no rendered counterpart are stale."""
    mine = {name: text for name, text in files.items() if name.startswith(f"{folder}/")}
    for relative, text in mine.items():
        golden = GOLDEN / example / relative
        if update:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text, encoding="utf-8")
        assert golden.is_file(), f"no golden file {golden}; run pytest --update-golden"
        assert text == golden.read_text(encoding="utf-8"), (
            f"{relative} differs from {golden}; if the change is intended, run "
            "pytest --update-golden and review the diff"
        )
    kept = {
        p.relative_to(GOLDEN / example).as_posix()
        for p in (GOLDEN / example / folder).rglob("*")
        if p.is_file()
    }
    assert kept == set(mine), "stale golden files"
