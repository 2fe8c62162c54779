"""Helpers for the review-command tests: the example meshes and the golden folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from jarvis_config import pipeline
from jarvis_config.model.mesh import Mesh

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(
    p
    for p in (ROOT / "examples").iterdir()
    if p.is_dir() and any(p.rglob("*.yaml")) and p.name != "ci"
)
GOLDEN = ROOT / "tests" / "golden"
TWELVE_NODES = Path(__file__).resolve().parent / "twelve-nodes.yaml"
HOMELAB = ROOT / "examples" / "homelab"


def example_params() -> list[object]:
    return [pytest.param(p, id=p.name) for p in EXAMPLES]


def compile_mesh(path: Path) -> Mesh:
    compiled = pipeline.compile_config(path)
    assert compiled.mesh is not None, [str(p) for p in compiled.problems]
    return compiled.mesh
