"""Shared fixtures: the CLI runner and the --update-golden flag (paths, helpers: tests/kit.py)."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from jarvis_config.cli import main

# Example meshes reference these; a build-time warning about them is not what tests check.
os.environ.setdefault("JARVIS_MASTER_KEY", "sk-test-master-key")
os.environ.setdefault("OPENAI_API_KEY", "sk-test-openai")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite golden files from the current output (review the diff).",
    )


@pytest.fixture(scope="module", autouse=True)
def leaks_surface_in_their_own_module() -> Iterator[None]:
    """Collect cycles as each module ends: an object it left open (a socket, a file) warns
    there, at the module's last test, rather than in whichever later test happens to run the
    collector (warnings are errors in this suite)."""
    yield
    gc.collect()


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """Run the jarvis-config CLI in-process: cli("validate", path) -> CliResult."""

    def invoke(*args: str | Path) -> CliResult:
        result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return invoke
