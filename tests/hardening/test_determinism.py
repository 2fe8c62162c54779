"""Determinism: the same mesh builds to byte-identical trees under different PYTHONHASHSEED
values (separate processes, so set and dict-of-set orders really differ) and into output
folders of different names (nothing of the output path leaks into the files)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hardkit import run_cli, tree

from tests.kit import ROOT, mesh_examples

SEEDS = ("0", "1", "4242", "random")
# homelab in the fast tier; every other example, a build per hash seed each, with the slow tests.
EXAMPLES = [
    pytest.param(p, id=p.name, marks=() if p.name == "homelab" else pytest.mark.slow)
    for p in mesh_examples()
]


def build(config: Path, out: Path, seed: str) -> dict[str, bytes]:
    result = run_cli("build", config, "-o", out, env={"PYTHONHASHSEED": seed})
    assert result.returncode == 0, result.stderr
    return tree(out)


@pytest.mark.parametrize("example", EXAMPLES)
def test_examples_build_byte_identical_across_hash_seeds(example: Path, tmp_path: Path) -> None:
    first = build(example, tmp_path / "first", SEEDS[0])
    for seed in SEEDS[1:]:
        again = build(example, tmp_path / f"other-name-{seed}", seed)
        assert sorted(again) == sorted(first), f"PYTHONHASHSEED={seed}: other files"
        changed = [name for name in first if again[name] != first[name]]
        assert not changed, f"PYTHONHASHSEED={seed} changed {changed}"


@pytest.mark.slow  # a 24-node mesh built three times
def test_a_split_synthetic_mesh_builds_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    """Many nodes, roles and models give hash order every chance to show."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import synth

    mesh = synth.write(tmp_path / "mesh", 24, 12, hosted=2, split=True)
    first = build(mesh, tmp_path / "a", "0")
    assert len(first) > 24, "the synthetic mesh should render a stack per node"
    for seed in ("7", "random"):
        assert build(mesh, tmp_path / f"b{seed}", seed) == first, f"PYTHONHASHSEED={seed}"
