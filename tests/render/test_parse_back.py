"""Every rendered YAML and JSON file of every valid corpus case and every example parses back.

A mesh missing an optional section (no gateway.master_key, say) once rendered a
`general_settings:` followed by `{}` at column 1, which no YAML reader accepts; this test
builds every valid input and reads every output file back, so no section's absence or shape
can break a file again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from jarvis_config import pipeline
from jarvis_config.review.sitedocs import render_docs
from tests.kit import ROOT, TEST_ENV, mesh_examples

VALID = sorted(p for p in (ROOT / "tests" / "cases" / "valid").iterdir() if p.is_dir())
INPUTS = [pytest.param(p, id=f"case-{p.name}") for p in VALID] + [
    pytest.param(p, id=f"example-{p.name}") for p in mesh_examples()
]


def _config(folder: Path) -> Path:
    return folder / "jarvis.yaml" if (folder / "jarvis.yaml").exists() else folder


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def parse(name: str, content: bytes) -> Any:
    """The parsed content of one rendered file; raises on a file that does not parse."""
    text = content.decode("utf-8")
    if name.endswith((".yaml", ".yml")):
        if name.startswith("kubernetes/"):  # manifests hold several documents
            return {"documents": list(yaml.safe_load_all(text))}
        return yaml.safe_load(text)
    if name.endswith(".json"):
        return json.loads(text, parse_constant=_refuse_constant)
    return None


@pytest.mark.parametrize("folder", INPUTS)
def test_every_rendered_yaml_and_json_file_parses_back(folder: Path) -> None:
    compiled = pipeline.compile_config(_config(folder), environ=TEST_ENV)
    assert compiled.mesh is not None, [str(p) for p in compiled.problems]
    files = pipeline.render(compiled.mesh)
    structured = [name for name in files if name.endswith((".yaml", ".yml", ".json"))]
    assert "litellm/config.yaml" in structured and "litellm/routes.json" in structured
    for name in structured:
        parsed = parse(name, files[name])
        assert isinstance(parsed, dict), f"{name} is not a mapping: {parsed!r:.200}"
    config = parse("config.yaml", files["litellm/config.yaml"])
    assert isinstance(config.get("general_settings", {}), dict)
    # The user pages are Markdown; their machine-readable parts are checked where they render.
    assert render_docs(compiled.mesh, gateway_url=None)


def test_a_mesh_without_master_key_renders_empty_general_settings() -> None:
    compiled = pipeline.compile_config(_config(ROOT / "tests/cases/valid/no-master-key"))
    assert compiled.mesh is not None
    config = parse("config.yaml", pipeline.render(compiled.mesh)["litellm/config.yaml"])
    # Nothing about keys (the background health checks stay)
    assert not {"master_key", "custom_auth"} & set(config["general_settings"])
