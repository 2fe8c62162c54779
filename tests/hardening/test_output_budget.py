"""Output that grows faster than input: shared roles, many aliases and fallbacks multiply
what the renderers write. `validate` and `build` refuse the same meshes with a problem naming
the product (`output-too-large`), and the renderers refuse an unvalidated one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from jarvis_config import pipeline
from jarvis_config.errors import RenderError
from jarvis_config.load import load_text
from jarvis_config.model.budget import MAX_ENTRIES, MAX_TEXT, budget_fault, products
from jarvis_config.model.mesh import build_mesh


def shared_roles(nodes: int, models: int, roles: int) -> dict[str, Any]:
    """Every node with the same `roles` roles; every model placed by the first."""
    every = [f"r{j}" for j in range(roles)]
    return {
        "version": 1,
        "nodes": {
            f"n{i}": {"address": f"n{i}.lan", "runtimes": {"ollama": {}}, "roles": every}
            for i in range(nodes)
        },
        "models": {
            f"m{k}": {"runtime": "ollama", "source": f"m{k}", "placement": {"roles": ["r0"]}}
            for k in range(models)
        },
    }


def many_aliases(nodes: int, aliases: int) -> dict[str, Any]:
    data = shared_roles(nodes, 1, 1)
    data["aliases"] = {f"a{i}": "m0" for i in range(aliases)}
    return data


def many_fallbacks(nodes: int, models: int) -> dict[str, Any]:
    data = shared_roles(nodes, models, 1)
    names = list(data["models"])
    # prefer: each node's group falls back over the model's other nodes, then its fallbacks.
    fallbacks = {m: [n for n in names if n != m] for m in names}
    data["routing"] = {"node_pinning": "prefer", "fallbacks": fallbacks}
    return data


SHAPES = [
    pytest.param(
        shared_roles(100, 100, 1500),
        "deployment tags",
        id="shared-roles-memory-error",
        marks=pytest.mark.slow,  # 1.7 MB of YAML to load, twice
    ),
    pytest.param(shared_roles(20, 20, 700), "deployment tags", id="shared-roles"),
    pytest.param(many_aliases(501, 501), "fallback entries", id="aliases-x-nodes"),
    pytest.param(many_fallbacks(30, 100), "fallback entries", id="fallbacks-x-nodes"),
]


def run(cli: Callable[..., Any], tmp_path: Path, data: dict[str, Any], *args: str) -> Any:
    config = tmp_path / "jarvis.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return cli(*args[:1], config, *args[1:])


@pytest.mark.parametrize(("data", "what"), SHAPES)
def test_validate_and_build_refuse_the_same_product(
    cli: Callable[..., Any], tmp_path: Path, data: dict[str, Any], what: str
) -> None:
    for command in (("validate",), ("build", "-o", str(tmp_path / "out"))):
        result = run(cli, tmp_path, data, *command)
        assert result.exit_code == 1, result.stderr[-2000:]
        lines = [line for line in result.stderr.splitlines() if "error[" in line]
        assert len(lines) == 1 and "error[output-too-large]" in lines[0], lines
        assert what in lines[0] and f"{MAX_ENTRIES:,}" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(shared_roles(20, 20, 300), id="shared-roles-under"),
        pytest.param(many_aliases(200, 200), id="aliases-under"),
    ],
)
def test_meshes_under_the_budget_build(data: dict[str, Any]) -> None:
    mesh = build_mesh(data)
    assert budget_fault(mesh) is None
    assert all(p.entries <= MAX_ENTRIES for p in products(mesh))


def test_the_renderers_refuse_an_unvalidated_mesh_over_the_budget() -> None:
    with pytest.raises(RenderError, match="fallback entries"):
        pipeline.render(build_mesh(many_aliases(501, 501)), ["litellm"])


ANNOTATION_LIMIT = 256 * 1024  # what an object's annotations may hold together


def last_applied(obj: dict[str, Any]) -> bytes:
    """kubectl's `last-applied-configuration` of an object: Go's json.Marshal, which escapes
    `<`, `>`, `&`, U+2028 and U+2029 besides what Python's encoder escapes."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text.encode()


@pytest.mark.parametrize("char", ['"', "<", "\\", "é"])
def test_config_maps_fit_kubectls_annotation_whatever_their_escapes(char: str) -> None:
    """Stop strings of characters JSON escapes at two or six bytes: each ConfigMap's
    last-applied JSON stays within 256 KiB, and the parts join back into the files."""
    data = shared_roles(4, 60, 1)
    for spec in data["models"].values():
        spec["params"] = {"stop": [char * 1000, char * 999 + "x"]}
    files = pipeline.render(build_mesh(data), ["kubernetes", "litellm"])
    maps = [
        doc
        for doc in yaml.safe_load_all(files["kubernetes/gateway.yaml"])
        if doc and doc["kind"] == "ConfigMap"
    ]
    assert len(maps) > 1  # the premise: the files need several ConfigMaps
    for config_map in maps:
        assert len(last_applied(config_map)) < ANNOTATION_LIMIT, config_map["metadata"]["name"]
    chunks = sorted((k, v) for m in maps for k, v in m["data"].items() if "config.yaml" in k)
    config = yaml.safe_load("".join(v for _, v in chunks))
    assert len(config["model_list"]) == 240
    assert all(e["litellm_params"]["stop"][0] == char * 1000 for e in config["model_list"])


def test_the_longest_text_of_the_worst_escapes_fits_one_config_map_line() -> None:
    """MAX_TEXT characters that the YAML writer escapes at 10 bytes each (and JSON's escape of
    the backslash at 11) still build: validate's limit is below what the renderer can cut."""
    data = shared_roles(1, 1, 1)
    data["models"]["m0"]["params"] = {"stop": ["\U0001f600" * MAX_TEXT]}
    doc, problems = load_text(yaml.safe_dump(data), "jarvis.yaml")
    assert doc is not None and not problems
    compiled = pipeline.compile_document(doc, environ={})
    assert compiled.mesh is not None, [str(p) for p in compiled.problems]
    files = pipeline.render(compiled.mesh, ["kubernetes"])
    for config_map in yaml.safe_load_all(files["kubernetes/gateway.yaml"]):
        if config_map and config_map["kind"] == "ConfigMap":
            assert len(last_applied(config_map)) < ANNOTATION_LIMIT


@pytest.mark.parametrize("command", ["validate", "build"])
def test_a_text_over_the_limit_fails_validate_and_build_alike(
    cli: Callable[..., Any], tmp_path: Path, command: str
) -> None:
    data = shared_roles(1, 1, 1)
    data["models"]["m0"]["params"] = {"stop": ["x" * 250_000]}
    args = ("build", "-o", str(tmp_path / "out")) if command == "build" else (command,)
    result = run(cli, tmp_path, data, *args)
    assert result.exit_code == 1
    assert (
        "error[text-too-long]" in result.stderr
        and "ConfigMap" not in result.stderr.split("hint")[0]
    )


def test_params_repeated_over_many_deployments_are_bounded(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """8,000-character stop strings on 1,001 nodes: each is short, the product is not."""
    data = shared_roles(1001, 1, 1)
    data["models"]["m0"]["params"] = {"stop": ["x" * 8000]}
    for command in (("validate",), ("build", "-o", str(tmp_path / "out"))):
        result = run(cli, tmp_path, data, *command)
        assert result.exit_code == 1
        assert "error[output-too-large]" in result.stderr and "characters of params" in (
            result.stderr
        )


def test_the_bound_knows_how_far_a_pinned_group_falls_back() -> None:
    from jarvis_config.model import budget, routing

    assert budget.RING == routing.RING_FALLBACKS
