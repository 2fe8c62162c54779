"""Safe rendering: values with YAML, Jinja, JSON or shell meaning in every free-text field are
either refused by the schema with a clear message at that field, or rendered into files that
parse back (yaml.safe_load, json.loads) to exactly the values the mesh model holds.

The model (jarvis_config.model.build_mesh) is the source of truth: these tests check that the
renderers carry its values into the files faithfully, whatever characters they contain.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hardkit import assert_no_traceback, problem_lines, rename_model, rename_node, tree

from jarvis_config.model.mesh import Mesh, build_mesh
from jarvis_config.problems import json_path

NASTY = [
    pytest.param("{{ 7 * 7 }}", id="jinja-expr"),
    pytest.param("{% if true %}x{% endif %}", id="jinja-stmt"),
    pytest.param("{# c #}", id="jinja-comment"),
    pytest.param("}}{{", id="jinja-braces"),
    pytest.param("# not a comment", id="hash"),
    pytest.param("a #b", id="inline-hash"),
    pytest.param("key: value", id="colon-space"),
    pytest.param("x\nmaster_key: leaked", id="newline-key"),
    pytest.param("line1\nline2\n", id="newlines"),
    pytest.param("'single'", id="single-quotes"),
    pytest.param('"double"', id="double-quotes"),
    pytest.param('it\'s "both"', id="mixed-quotes"),
    pytest.param("*anchor", id="alias"),
    pytest.param("&x", id="anchor"),
    pytest.param("!!python/object/apply:os.system ['id']", id="python-tag"),
    pytest.param("!custom", id="tag"),
    pytest.param("- item", id="dash"),
    pytest.param("[a, b]", id="flow-seq"),
    pytest.param("{a: b}", id="flow-map"),
    pytest.param("| block", id="pipe"),
    pytest.param("> folded", id="gt"),
    pytest.param("@at `tick` %pct", id="reserved"),
    pytest.param("~", id="tilde"),
    pytest.param("null", id="null-word"),
    pytest.param("yes", id="yes-word"),
    pytest.param("0x1F", id="hex"),
    pytest.param("1e3", id="float-like"),
    pytest.param("  padded  ", id="spaces"),
    pytest.param("tab\there", id="tab"),
    pytest.param("é 日本語 🦙", id="unicode"),
    pytest.param("\u2028\u2029\x85", id="unicode-breaks"),
    pytest.param("\u202eRTL\ufeff", id="bidi-bom"),
    pytest.param("back\\slash", id="backslash"),
    pytest.param("$(id); `id` | x && y", id="shell"),
    pytest.param("${OTHER_SECRET}", id="env-ref"),
    pytest.param("os.environ/OTHER_SECRET", id="litellm-env"),
    pytest.param("x" * 5000, id="long"),
]


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = data
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


FIELDS: dict[str, tuple[tuple[str, ...], Callable[[str], Any]]] = {
    "description": (("models", "llama3", "description"), lambda v: v),
    "source": (("models", "llama3", "source"), lambda v: v),
    "hosted-source": (("models", "gpt-4o", "source"), lambda v: v),
    "quantization": (("models", "phi3-mini", "quantization"), lambda v: v),
    "stop": (("models", "llama3", "params", "stop"), lambda v: v),
    "stop-list": (("models", "llama3", "params", "stop"), lambda v: [v, "END"]),
    "address": (("nodes", "mini", "address"), lambda v: v),
    "api_base": (("providers", "openai", "api_base"), lambda v: f"https://api.example/{v}"),
    "api_version": (("providers", "openai", "api_version"), lambda v: v),
    "image": (("gateway", "image"), lambda v: f"registry.example/litellm:{v}"),
}


def strings_in(value: Any) -> Iterator[str]:
    """Every string in parsed data, mapping keys included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, str):
        yield value


def parse_all(files: dict[str, bytes]) -> dict[str, Any]:
    """Every YAML and JSON output parsed; a file that does not parse fails the test."""
    parsed = {}
    for name, content in files.items():
        if name.startswith("kubernetes/"):  # one document per Kubernetes object
            parsed[name] = list(yaml.safe_load_all(content.decode("utf-8")))
        elif name.endswith((".yaml", ".yml")):
            parsed[name] = yaml.safe_load(content.decode("utf-8"))
        elif name.endswith(".json"):
            parsed[name] = json.loads(content.decode("utf-8"), parse_constant=_not_json)
    return parsed


def _not_json(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON (Python's json writes it, others refuse it)")


def check_gateway_config(config: dict[str, Any], mesh: Mesh) -> None:
    entries = {e["model_info"]["id"]: e for e in config["model_list"]}
    assert set(entries) >= {d.id for d in mesh.deployments}
    for dep in mesh.deployments:
        params, info = entries[dep.id]["litellm_params"], entries[dep.id]["model_info"]
        assert params["model"] == dep.litellm_model
        assert params.get("api_base") == dep.api_base
        if dep.api_version is not None:
            assert params["api_version"] == dep.api_version
        for key, value in dep.params:
            assert params[key] == value, key
        model = mesh.model(dep.model)
        for key in ("description", "quantization"):
            if key in info:
                assert info[key] == getattr(model, key), key


COMPOSE_DOLLAR = re.compile(r"\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))?")


def check_compose_interpolation(name: str, compose: Any, allowed: set[str]) -> None:
    """docker compose expands `$VAR` and `${VAR}` in every string: a `$` from the mesh must
    reach the file as `$$`, and only the declared references may be left to expand."""
    for text in strings_in(compose):
        for match in COMPOSE_DOLLAR.finditer(text):
            escaped, braced, bare = match.groups()
            if escaped:
                continue
            var = (braced or bare or "").split(":", 1)[0].split("-", 1)[0].split("?", 1)[0]
            # docker-compose refuses a lone `$` ("Invalid interpolation format") and expands
            # `$NAME`: a `$` from the mesh must be written `$$`.
            assert var in allowed, f"{name}: unescaped {match[0]!r} in {text[:80]!r}"


def check_shell_quoting(name: str, compose: Any, mesh: Mesh) -> None:
    """A model's source inside a shell script must be one quoted word, never shell syntax."""
    services = (compose or {}).get("services", {}) if isinstance(compose, dict) else {}
    for service in services.values():
        for key in ("command", "entrypoint"):
            script = service.get(key)
            if not isinstance(script, list) or len(script) < 3 or script[-2] != "-c":
                continue
            for model in mesh.models:
                if model.source in script[-1]:
                    assert model.source in shlex.split(script[-1]), (
                        f"{name}: source {model.source!r} pasted unquoted into {script[-1]!r}"
                    )


def check_kubernetes_config(files: dict[str, bytes], manifests: list[Any]) -> None:
    """The gateway's ConfigMap carries the litellm files exactly, but for the api_bases."""
    data = manifests[0]["data"]
    for name in ("routes.json", "jarvis_router.py"):
        assert data[name].encode("utf-8") == files[f"litellm/{name}"]
    shipped = yaml.safe_load(data["config.yaml"])
    local = yaml.safe_load(files["litellm/config.yaml"].decode("utf-8"))
    for config in (shipped, local):
        for entry in config["model_list"]:
            if "node" in entry["model_info"]:
                entry["litellm_params"].pop("api_base")
    assert shipped == local


def check_build(out: Path, data: dict[str, Any]) -> None:
    files = tree(out)
    parsed = parse_all(files)
    mesh = build_mesh(data)
    check_gateway_config(parsed["litellm/config.yaml"], mesh)
    check_kubernetes_config(files, parsed["kubernetes/gateway.yaml"])
    routed = set(strings_in(parsed["litellm/routes.json"]))
    assert {d.id for d in mesh.deployments} <= routed
    assert {m.name for m in mesh.models} <= routed
    env_example = files.get(".env.example", b"").decode("utf-8")
    allowed = set(mesh.referenced_env_vars) | set(
        re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", env_example, re.MULTILINE)
    )
    for name, content in parsed.items():
        if name.startswith("compose/"):
            check_compose_interpolation(name, content, allowed)
            check_shell_quoting(name, content, mesh)


@pytest.mark.parametrize("value", NASTY)
@pytest.mark.parametrize("field", sorted(FIELDS))
def test_free_text_is_refused_clearly_or_rendered_exactly(
    cli: Callable[..., Any],
    homelab: dict[str, Any],
    write_config: Callable[..., Path],
    tmp_path: Path,
    field: str,
    value: str,
) -> None:
    path, shape = FIELDS[field]
    _set(homelab, path, shape(value))
    config = write_config(homelab)
    out = tmp_path / "out"
    result = cli("build", config, "-o", out)
    assert_no_traceback(result)
    if result.exit_code != 0:
        errors = [m for m in problem_lines(result.stderr) if m["severity"] == "error"]
        at_field = json_path(path)[1:]
        assert any(m["path"].startswith(at_field) for m in errors), (
            f"refused, but not with a problem at {at_field}:\n{result.stderr}"
        )
        return
    check_build(out, homelab)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "path",
    [
        pytest.param(("models", "llama3", "params", "temperature"), id="temperature"),
        pytest.param(("models", "llama3", "params", "top_p"), id="top_p"),
        pytest.param(("models", "llama3", "memory_gb"), id="model-memory"),
        pytest.param(("nodes", "mini", "memory_gb"), id="node-memory"),
        pytest.param(("models", "llama3", "limits", "timeout"), id="timeout"),
        pytest.param(("routing", "timeout"), id="routing-timeout"),
    ],
)
def test_nan_and_infinity_are_refused_in_numbers(
    cli: Callable[..., Any],
    homelab: dict[str, Any],
    write_config: Callable[..., Path],
    path: tuple[str, ...],
    value: float,
) -> None:
    """.nan passes `minimum`/`maximum` checks (every comparison with NaN is false), and NaN
    or Infinity in routes.json is not JSON: both must be refused at the field."""
    _set(homelab, path, value)
    result = cli("validate", write_config(homelab))
    assert_no_traceback(result)
    assert result.exit_code == 1, f"{path} = {value} was accepted"
    errors = [m for m in problem_lines(result.stderr) if m["severity"] == "error"]
    assert any(m["path"].startswith(json_path(path)[1:]) for m in errors), result.stderr


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a.b_c-9", id="dots-dashes"),
        pytest.param("A" * 63, id="longest"),
        pytest.param("9lives", id="digit-first"),
    ],
)
def test_unusual_but_valid_names_render_exactly(
    cli: Callable[..., Any],
    homelab: dict[str, Any],
    write_config: Callable[..., Path],
    tmp_path: Path,
    name: str,
) -> None:
    rename_node(homelab, "mini", name)
    rename_model(homelab, "mistral", name)
    homelab["aliases"][f"al-{name}"[:63]] = name
    out = tmp_path / "out"
    result = cli("build", write_config(homelab), "-o", out)
    assert result.exit_code == 0, result.stderr
    check_build(out, homelab)
    routes = json.loads((out / "litellm" / "routes.json").read_text("utf-8"))
    assert f"al-{name}"[:63] in set(strings_in(routes))
