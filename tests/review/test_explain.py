"""`explain`: golden answers for every model and alias of every example, and the rejections."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from reviewkit import TWELVE_NODES

from jarvis_config.model.mesh import Mesh
from jarvis_config.render import litellm as litellm_target
from jarvis_config.review import explain
from tests.kit import HOMELAB, check_golden, compile_mesh, example_params


def answers(mesh: Mesh, name: str) -> str:
    """The unpinned answer, then the answer pinned to the first node serving the model."""
    first = explain.explain_request(mesh, name)
    assert isinstance(first, explain.Explanation)
    parts = [explain.format_text(first)]
    node = next((c.node for c in first.candidates if c.node), None)
    if node is not None:
        pinned = explain.explain_request(mesh, name, node)
        assert isinstance(pinned, explain.Explanation)
        parts.append(explain.format_text(pinned))
    return "\n\n".join(parts) + "\n"


@pytest.mark.parametrize("example", example_params())
def test_explain_matches_golden(example: Path, update_golden: bool) -> None:
    mesh = compile_mesh(example)
    names = [m.name for m in mesh.models] + [a.name for a in mesh.aliases]
    files = {f"explain-{name}.txt": answers(mesh, name) for name in names}
    check_golden(example.name, files, owns="explain-*.txt", update=update_golden)


HOMELAB_LLAMA3 = (
    "nodes serving 'llama3': ai-max (gpu), mini (cpu); or pin a role: role:cpu, role:gpu"
)
REJECTIONS = [
    pytest.param(
        "lama3",
        None,
        "model 'lama3' is not served by this mesh; did you mean 'llama3'?",
        "models: deepseek-coder, gpt-4o, llama3, mistral, phi3-mini; aliases: chat, code, fast",
        id="unknown-model",
    ),
    pytest.param(
        "chat",
        "laptop",
        f"node 'laptop' does not serve 'chat'; {HOMELAB_LLAMA3}",
        None,
        id="node-not-serving",
    ),
    pytest.param(
        "llama3",
        "mni",
        f"unknown node 'mni' in field 'node' (did you mean 'mini'?); {HOMELAB_LLAMA3}",
        None,
        id="unknown-node",
    ),
    pytest.param(
        "llama3",
        "role:gpx",
        f"unknown role 'gpx' in field 'node' (did you mean 'gpu'?); {HOMELAB_LLAMA3}",
        None,
        id="unknown-role",
    ),
    pytest.param(
        "phi3-mini",
        "role:gpu",
        "role 'gpu' does not serve 'phi3-mini'; nodes serving "
        "'phi3-mini': laptop (cpu, edge); or pin a role: role:cpu, role:edge",
        None,
        id="role-not-serving",
    ),
    pytest.param(
        "gpt-4o",
        "mini",
        "node 'mini' does not serve 'gpt-4o'; 'gpt-4o' is served by "
        "provider 'openai', not by a node; send it without 'node'",
        None,
        id="hosted-pinned",
    ),
]


@pytest.mark.parametrize("name, node, reason, hint", REJECTIONS)
def test_rejections_name_the_reason(
    name: str, node: str | None, reason: str, hint: str | None
) -> None:
    answer = explain.explain_request(compile_mesh(HOMELAB), name, node)
    assert answer == explain.Rejection(name, node, reason, hint)


@pytest.fixture(scope="module")
def gateway_callback(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The jarvis_router callback, loaded from a rendered litellm/ folder as the proxy does."""
    pytest.importorskip("litellm", reason="the callback imports litellm (test extra)")
    folder = tmp_path_factory.mktemp("litellm")
    for relative, text in litellm_target.render(compile_mesh(HOMELAB)).items():
        (folder / Path(relative).name).write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(
        "jarvis_router_explain_test", folder / "jarvis_router.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "name, node",
    [(p.values[0], p.values[1]) for p in REJECTIONS[1:]]
    + [("chat", "mini"), ("llama3", "role:gpu"), ("fast", "laptop")],
)
def test_explain_answers_as_the_gateway_callback_does(
    gateway_callback: ModuleType, name: str, node: str
) -> None:
    """Accepted pins go to the same group; refusals carry the callback's very message."""
    answer = explain.explain_request(compile_mesh(HOMELAB), name, node)
    try:
        group, _ = gateway_callback.proxy_handler_instance.table.pin(name, node)
    except gateway_callback.PinError as refusal:
        assert isinstance(answer, explain.Rejection)
        assert answer.reason == str(refusal)
    else:
        assert isinstance(answer, explain.Explanation)
        assert answer.group == group


def test_cli_rejection_exits_1_with_reason(cli: Callable[..., Any]) -> None:
    result = cli("explain", HOMELAB, "chat", "--node", "laptop")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.endswith(
        "error: the gateway would refuse this request (HTTP 400): node 'laptop' does not serve "
        f"'chat'; {HOMELAB_LLAMA3}\n"
    )


def test_cli_unknown_model_has_a_hint(cli: Callable[..., Any]) -> None:
    result = cli("explain", HOMELAB, "lama3")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "error: the gateway would refuse this request (HTTP 400): model 'lama3' is not served "
        "by this mesh; did you mean 'llama3'?\n  hint: models: deepseek-coder, gpt-4o, llama3, "
        "mistral, phi3-mini; aliases: chat, code, fast\n"
    )


def test_cli_json_answers_both_ways(cli: Callable[..., Any]) -> None:
    ok = cli("explain", HOMELAB, "chat", "--node", "mini", "--format", "json")
    assert ok.exit_code == 0
    data = json.loads(ok.stdout)
    assert data["accepted"] is True and data["alias_of"] == "llama3"
    assert [c["id"] for c in data["candidates"] if c["selected"]] == ["llama3@mini"]
    assert data["group"] == "llama3@mini" and data["fallbacks"] == []
    assert data["limits"] == {"rpm": 600, "max_parallel_requests": 8}
    refused = cli("explain", HOMELAB, "lama3", "--format", "json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["accepted"] is False


def test_prefer_policy_says_the_other_nodes_take_over() -> None:
    answer = explain.explain_request(compile_mesh(TWELVE_NODES), "chat", "cpu-1")
    assert isinstance(answer, explain.Explanation)
    assert answer.pinning == "prefer"
    assert [c.id for c in answer.candidates if c.selected] == ["llama3@cpu-1"]
    assert answer.pinning_effect == (
        "prefer: sent to group llama3@cpu-1, on node cpu-1 first; "
        "on errors the fallbacks below take over"
    )
    # The next four nodes of the model's ring; the last one's own chain leads on to gpu-b2.
    assert [(h.group, h.chained) for h in answer.fallbacks] == [
        ("llama3@cpu-2", True),
        ("llama3@gpu-a1", True),
        ("llama3@gpu-a2", True),
        ("llama3@gpu-b1", True),
    ]


def test_strict_pin_has_no_fallbacks() -> None:
    answer = explain.explain_request(compile_mesh(HOMELAB), "chat", "mini")
    assert isinstance(answer, explain.Explanation)
    assert answer.group == "llama3@mini" and answer.fallbacks == ()
    assert answer.pinning_effect == (
        "strict: sent to group llama3@mini, on node mini only, with fallbacks switched off; an "
        "error there goes back to the client, never to another node"
    )


def test_unpinned_request_falls_back_over_each_node_then_the_declared_model() -> None:
    answer = explain.explain_request(compile_mesh(HOMELAB), "chat")
    assert isinstance(answer, explain.Explanation)
    assert [(h.group, h.runs_on) for h in answer.fallbacks] == [
        ("llama3@ai-max", "node ai-max"),
        ("llama3@mini", "node mini"),
        ("gpt-4o", "provider openai"),
    ]
    assert [h.group for h in answer.context_fallbacks] == ["mistral"]


def test_role_pin_selects_every_node_with_the_role() -> None:
    answer = explain.explain_request(compile_mesh(TWELVE_NODES), "llama3", "role:rack-a")
    assert isinstance(answer, explain.Explanation)
    assert answer.group == "llama3@role:rack-a"
    assert [c.id for c in answer.candidates if c.selected] == ["llama3@gpu-a1", "llama3@gpu-a2"]


def test_the_models_own_node_groups_are_labelled_as_the_same_model() -> None:
    answer = explain.explain_request(compile_mesh(HOMELAB), "llama3")
    assert isinstance(answer, explain.Explanation)
    assert [(h.group, h.same_model) for h in answer.fallbacks] == [
        ("llama3@ai-max", True),
        ("llama3@mini", True),
        ("gpt-4o", False),
    ]
    assert "1. llama3@ai-max (node ai-max: the same model, on that node alone)" in (
        explain.format_text(answer)
    )
