"""The suite collects without the optional extras: a contributor with only the runtime
dependencies and pytest sees skips that say what to install, never collection errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.kit import ROOT

EXTRAS = (
    "openai",
    "litellm",
    "docker",
    "hypothesis",
    "markdown_it",
    "check_jsonschema",
    "cmarkgfm",
)
# Run pytest's collection with the extras made unimportable, as in a bare environment.
PROBE = f"""
import sys
import importlib.abc


class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EXTRAS!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Missing())
import pytest

args = ["--collect-only", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:hypothesispytest"]
sys.exit(pytest.main([*args, "tests"]))
"""


@pytest.mark.slow
def test_the_suite_collects_without_the_extras() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "error" not in result.stdout.lower().split("short test summary")[-1]
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert any("openai SDK" in line for line in skipped), skipped
    assert any("hypothesis" in line for line in skipped), skipped
