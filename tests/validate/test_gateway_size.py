"""`gateway-slow-start`: one gateway holding more deployments than the stock proxy starts in
reasonable time is a warning (validate and build), never an error unless --strict."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from jarvis_config.cli import main
from jarvis_config.validate.semantics import GATEWAY_DEPLOYMENT_LIMIT
from tests.kit import ROOT, TEST_ENV

sys.path.insert(0, str(ROOT / "benchmarks"))
import synth


def mesh_of(tmp_path: Path, deployments: int) -> Path:
    nodes, models = synth.shape(deployments)
    assert nodes * models == deployments
    return synth.write(tmp_path / f"mesh-{deployments}.yaml", nodes, models)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=TEST_ENV)
    return result.exit_code, result.stderr


@pytest.mark.slow  # builds a mesh large enough to pass the limit
def test_a_gateway_over_the_limit_warns_and_still_builds(tmp_path: Path) -> None:
    count = GATEWAY_DEPLOYMENT_LIMIT + 1  # 2,001 = 69 nodes x 29 models
    path = mesh_of(tmp_path, count)
    code, err = run("validate", str(path))
    assert code == 0, err
    warning = next(line for line in err.splitlines() if "gateway-slow-start" in line)
    assert warning.startswith(f"{path}:") and "warning[gateway-slow-start]" in warning
    assert f"one gateway would serve {count:,} deployments" in warning
    assert warning.endswith("(at $.models)")
    assert "split the mesh into one config per model family" in err
    code, err = run("build", str(path), "-o", str(tmp_path / "out"))
    assert code == 0 and "warning[gateway-slow-start]" in err
    code, err = run("validate", "--strict", str(path))
    assert code == 1 and "error[gateway-slow-start]" in err


def test_a_gateway_at_the_limit_does_not_warn(tmp_path: Path) -> None:
    code, err = run("validate", str(mesh_of(tmp_path, GATEWAY_DEPLOYMENT_LIMIT)))
    assert code == 0 and "gateway-slow-start" not in err
