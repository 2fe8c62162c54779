"""Fuzzing the third round of hostile classes (docs/hardening.md): values built from every
output format's expansion syntax and from control characters, and mesh shapes that multiply
what is rendered (shared roles, many aliases, fallbacks).

Each example is refused with FILE:LINE:COL problems, or built into files where the value reads
back as written through each format's own expansion, and no text output holds a line a CI
runner reads as a command; validate and build always agree.

Profile: JARVIS_FUZZ_PROFILE=ci (default, bounded) | long (by hand) | smoke.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
import yaml
from fuzzkit import assert_clean_answer, fuzz_settings, no_hang
from hypothesis import event, given
from hypothesis import strategies as st

from jarvis_config.model.budget import chain_bound, products
from jarvis_config.model.mesh import build_mesh
from jarvis_config.write import read_tree

pytestmark = pytest.mark.slow
CliRunner = Callable[..., Any]
VARS = ["HF_TOKEN", "VLLM_API_KEY", "OLLAMA_HOST", "JARVIS_MASTER_KEY", "X"]
# Each format's expansion syntax, and what ends a token or a line in one of them.
EXPANSIONS = st.one_of(
    st.sampled_from(VARS).map(lambda v: f"$({v})"),  # Kubernetes
    st.sampled_from(VARS).map(lambda v: f"$$({v})"),
    st.sampled_from(VARS).map(lambda v: f"${{{v}}}"),  # compose, Swarm
    st.sampled_from(VARS).map(lambda v: f"${{{v}:-x}}"),
    st.sampled_from(VARS).map(lambda v: f"${v}"),  # compose bare, nginx, shell
    st.sampled_from(VARS).map(lambda v: f"os.environ/{v}"),  # LiteLLM
    st.sampled_from(["$", "$$", "$(", "${", ")", "}", ";", "{", "'", '"', "`", "#", "\\", " "]),
    st.sampled_from(
        ["::error file=a,line=1::x", "::add-mask::x", "##[error]x", "::stop-commands::t"]
    ),
)
CONTROL = st.sampled_from(
    [chr(c) for c in range(32)] + ["\x7f", "\x85", "\u2028", "\u2029", "\u202e", "\u2066"]
)
VALUES = st.lists(
    st.one_of(EXPANSIONS, CONTROL, st.text("abc/:-.", min_size=1, max_size=4)),
    min_size=1,
    max_size=6,
).map("".join)
FIELDS = [
    ("models", "big", "source"),
    ("models", "small", "source"),
    ("models", "big", "description"),
    ("models", "big", "quantization"),
    ("models", "big", "params", "stop"),
]
BASE: dict[str, Any] = {
    "version": 1,
    "gateway": {"master_key": "${JARVIS_MASTER_KEY}"},
    "nodes": {
        "n1": {
            "address": "10.0.0.1",
            "gpus": 1,
            "runtimes": {"vllm": {"api_key": "${VLLM_API_KEY}"}, "ollama": {}},
        }
    },
    "models": {
        "big": {"runtime": "vllm", "source": "org/big", "placement": {"nodes": ["n1"]}},
        "small": {"runtime": "ollama", "source": "small", "placement": {"nodes": ["n1"]}},
    },
}


def kubelet_expand(text: str) -> str:
    """The kubelet's `$(VAR)` expansion, every variable set to a sentinel (see
    tests/hardening/test_expansion.py for the rules)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            if text[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            if text[i + 1] == "(" and ")" in text[i + 2 :]:
                out.append("SENTINEL")
                i = text.index(")", i + 2) + 1
                continue
            out.append(text[i : i + 2])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _config(scratch: Path, mesh: dict[str, Any]) -> Path:
    config = scratch / "jarvis.yaml"
    config.write_text(yaml.safe_dump(mesh, sort_keys=False, allow_unicode=True), "utf-8")
    return config


def _check_expansions(files: dict[str, bytes], source: str) -> None:
    for name, content in files.items():
        if name.startswith("kubernetes/nodes/"):
            for doc in yaml.safe_load_all(content):
                spec = doc.get("spec", {}).get("template", {}).get("spec", {}) if doc else {}
                for container in spec.get("containers", []):
                    for word in container.get("args", []):
                        assert "SENTINEL" not in kubelet_expand(word), (name, word)
        if name.startswith("compose/") and name.endswith(".yaml"):
            for service in (yaml.safe_load(content).get("services") or {}).values():
                for word in service.get("command") or []:
                    assert "$" not in word.replace("$$", ""), (name, word)
    config = yaml.safe_load(files["litellm/config.yaml"])
    for entry in config["model_list"]:
        for key, value in entry["litellm_params"].items():
            if key != "api_key" and isinstance(value, str):
                assert not value.startswith("os.environ/"), (key, value)
    assert source  # the source itself was checked against each reader above


@given(field=st.sampled_from(FIELDS), value=VALUES)
@fuzz_settings(120)
def test_expansion_syntax_and_control_characters_never_reach_a_reader(
    cli: CliRunner, field: tuple[str, ...], value: str
) -> None:
    mesh = copy.deepcopy(BASE)
    target = mesh
    for part in field[:-1]:
        target = target.setdefault(part, {})
    target[field[-1]] = [value] if field[-1] == "stop" else value
    with tempfile.TemporaryDirectory() as scratch:
        config = _config(Path(scratch), mesh)
        with no_hang():
            result = cli("build", config, "-o", Path(scratch) / "out")
            explained = cli("explain", config, "big")
        assert_clean_answer(result, config)
        event(f"build exit {result.exit_code}")
        for line in (explained.stdout + explained.stderr).split("\n"):
            assert not line.strip().startswith("::") and "##[" not in line, line
        if result.exit_code == 0:
            _check_expansions(read_tree(Path(scratch) / "out"), value)


@st.composite
def amplifying(draw: st.DrawFn) -> dict[str, Any]:
    """Many nodes sharing many roles, models placed by role, aliases and fallbacks."""
    nodes = draw(st.integers(1, 16))
    roles = [f"r{j}" for j in range(draw(st.integers(1, 30)))]
    models = draw(st.integers(1, 12))
    placed_by = st.lists(st.sampled_from(roles), min_size=1, max_size=3)
    mesh: dict[str, Any] = {
        "version": 1,
        "nodes": {
            f"n{i}": {
                "address": f"n{i}.lan",
                "runtimes": {"ollama": {}},
                "roles": draw(st.lists(st.sampled_from(roles), min_size=1, unique=True)),
            }
            for i in range(nodes)
        },
        "models": {
            f"m{k}": {
                "runtime": "ollama",
                "source": f"m{k}",
                "placement": {"roles": draw(placed_by)},
            }
            for k in range(models)
        },
    }
    names = list(mesh["models"])
    aliases = draw(st.integers(0, 40))
    mesh["aliases"] = {f"a{i}": names[i % len(names)] for i in range(aliases)} or None
    fallbacks = {m: [n for n in names if n != m][: draw(st.integers(0, 5))] for m in names}
    mesh["routing"] = {"node_pinning": draw(st.sampled_from(["strict", "prefer"]))}
    mesh["routing"]["fallbacks"] = {m: f for m, f in fallbacks.items() if f}
    if mesh["aliases"] is None:
        del mesh["aliases"]
    return mesh


@given(mesh=amplifying())
@fuzz_settings(30)
def test_amplifying_shapes_validate_and_build_alike(cli: CliRunner, mesh: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        config = _config(Path(scratch), mesh)
        with no_hang():
            validated = cli("validate", config)
            built = cli("build", config, "-o", Path(scratch) / "out")
        assert_clean_answer(validated, config)
        assert_clean_answer(built, config)
        assert validated.exit_code == built.exit_code, (validated.stderr, built.stderr)
        if built.exit_code == 0:
            config_yaml = yaml.safe_load((Path(scratch) / "out/litellm/config.yaml").read_text())
            tags = sum(len(e["litellm_params"]["tags"]) for e in config_yaml["model_list"])
            model = build_mesh(mesh)
            counted = products(model)
            assert counted[0].entries == tags + len(config_yaml["model_list"])
            # The bound that spares validate the routing plan is one.
            assert counted[1].entries + counted[2].entries <= chain_bound(model)
