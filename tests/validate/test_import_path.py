"""What `validate` imports, checked without timing it: its start-up is a pre-commit hook's speed.

Each command imports what it needs when it runs: `validate` (valid mesh or not) loads no Jinja2,
renderers, writer or review modules, and nothing of the gateway (LiteLLM) or Docker. `--help`,
`--version` and `schema` import no pipeline stage at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
from jarvis_config.cli import main
try:
    main(sys.argv[1:], "jarvis-config")
except SystemExit:
    pass
print("MODULES=" + json.dumps(sorted(sys.modules)))
"""
NEVER = ("jinja2", "jarvis_config.render.", "jarvis_config.review", "jarvis_config.write")
NEVER_EVEN_ON_ERRORS = (*NEVER, "litellm", "docker", "openai", "click.testing")


def imported(*args: str) -> list[str]:
    env = {"JARVIS_MASTER_KEY": "sk-x", "OPENAI_API_KEY": "sk-y", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("MODULES="))
    modules: list[str] = json.loads(line.removeprefix("MODULES="))
    return modules


def offending(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    """Modules under any prefix: "a" is a and its submodules, "a." its submodules only."""
    return [
        m
        for m in modules
        if any(
            m.startswith(p) if p.endswith(".") else m == p or m.startswith(p + ".")
            for p in prefixes
        )
    ]


def test_validate_of_a_valid_mesh_imports_no_renderers() -> None:
    modules = imported("validate", "examples/homelab", "--format", "github")
    assert "jarvis_config.validate.semantics" in modules  # the probe did validate
    assert offending(modules, NEVER_EVEN_ON_ERRORS) == []


def test_validate_of_an_invalid_mesh_imports_no_renderers() -> None:
    modules = imported("validate", "tests/cases/invalid/bad-category")
    assert "jsonschema" in modules
    assert offending(modules, NEVER_EVEN_ON_ERRORS) == []


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["schema"]], ids=" ".join)
def test_help_version_and_schema_import_no_pipeline(args: list[str]) -> None:
    modules = imported(*args)
    pipeline = ("jarvis_config.pipeline", "jarvis_config.validate.", "yaml", "jsonschema")
    assert offending(modules, (*NEVER_EVEN_ON_ERRORS, *pipeline)) == []
