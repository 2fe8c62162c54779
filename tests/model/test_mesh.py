"""The model on its own: build_mesh normalises validated data into deployments, and the
catalogue's tables and maths, without rendering anything."""

from __future__ import annotations

from typing import Any

import pytest

from jarvis_config.model.catalog import runtime_image
from jarvis_config.model.mesh import EnvRef, build_mesh
from jarvis_config.model.servers import gpu_memory_share


def mesh_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "gateway": {"master_key": "${JARVIS_MASTER_KEY}"},
        "nodes": {
            "big": {
                "address": "fd00::2",
                "roles": ["gpu"],
                "memory_gb": 48,
                "runtimes": {"vllm": {"port": 9000}, "ollama": {}},
            },
            "small": {"address": "small.lan", "roles": ["cpu"], "runtimes": {"ollama": None}},
        },
        "providers": {"openai": {"kind": "openai", "api_key": "${OPENAI_API_KEY}"}},
        "models": {
            "coder": {"runtime": "vllm", "source": "org/coder", "memory_gb": 12,
                      "placement": {"nodes": ["big"]}},
            "llama3": {"runtime": "ollama", "source": "llama3:8b",
                       "placement": {"roles": ["cpu", "gpu"]}},
            "writer": {"runtime": "vllm", "source": "org/writer", "placement": {"roles": ["gpu"]}},
            "gpt-4o": {"provider": "openai", "source": "gpt-4o"},
        },
    }  # fmt: skip
    data.update(overrides)
    return data


def test_deployments_have_ids_prefixes_and_api_bases() -> None:
    mesh = build_mesh(mesh_data())
    got = {d.id: (d.litellm_model, d.api_base) for d in mesh.deployments}
    assert got == {
        "coder@big": ("hosted_vllm/org/coder", "http://[fd00::2]:9000/v1"),
        "gpt-4o@openai": ("openai/gpt-4o", None),
        "llama3@big": ("ollama_chat/llama3:8b", "http://[fd00::2]:11434"),
        "llama3@small": ("ollama_chat/llama3:8b", "http://small.lan:11434"),
        "writer@big": ("hosted_vllm/org/writer", "http://[fd00::2]:9001/v1"),
    }
    tags = {d.id: d.tags for d in mesh.deployments}
    assert tags["llama3@small"] == ("node:small", "role:cpu")
    assert tags["gpt-4o@openai"] == ("provider:openai",)


def test_one_model_per_vllm_server_on_consecutive_ports_in_name_order() -> None:
    mesh = build_mesh(mesh_data())
    assert [(d.model, d.port) for d in mesh.deployments_on("big") if d.runtime == "vllm"] == [
        ("coder", 9000),
        ("writer", 9001),
    ]


def test_a_placement_by_roles_resolves_to_sorted_node_names() -> None:
    assert build_mesh(mesh_data()).model("llama3").nodes == ("big", "small")


def test_secrets_stay_references_and_are_listed_sorted() -> None:
    mesh = build_mesh(mesh_data())
    assert mesh.gateway.master_key == EnvRef("JARVIS_MASTER_KEY")
    assert mesh.gateway.master_key.litellm == "os.environ/JARVIS_MASTER_KEY"
    assert mesh.gateway.master_key.compose == "${JARVIS_MASTER_KEY}"
    assert mesh.referenced_env_vars == ("JARVIS_MASTER_KEY", "OPENAI_API_KEY")


def test_an_openai_compatible_runtime_with_a_key_uses_the_openai_prefix() -> None:
    nodes = {"n": {"address": "n.lan", "runtimes": {"openai-compatible": {"api_key": "${K}"}}}}
    models = {"m": {"runtime": "openai-compatible", "source": "x", "placement": {"nodes": ["n"]}}}
    mesh = build_mesh(mesh_data(nodes=nodes, models=models, providers={}))
    (deployment,) = mesh.deployments
    assert deployment.litellm_model == "openai/x"
    assert deployment.api_key == EnvRef("K")


@pytest.mark.parametrize(
    "model_gb, node_gb, share",
    [
        pytest.param(12, 48, 0.25, id="quarter"),
        pytest.param(10, 30, 0.33, id="rounded-down"),
        pytest.param(48, 48, 0.95, id="capped"),
        pytest.param(0.001, 48, 0.01, id="floored"),
        pytest.param(None, 48, 0.9, id="unknown-size"),
    ],
)
def test_gpu_memory_share(model_gb: float | None, node_gb: float, share: float) -> None:
    models = {"m": {"runtime": "vllm", "source": "x", "placement": {"nodes": ["big"]}}}
    if model_gb is not None:
        models["m"]["memory_gb"] = model_gb
    nodes = mesh_data()["nodes"]
    nodes["big"]["memory_gb"] = node_gb
    mesh = build_mesh(mesh_data(models=models, nodes=nodes))
    assert gpu_memory_share(mesh.model("m"), mesh.node("big")) == share


def test_gpu_images_only_where_a_runtime_has_one() -> None:
    assert runtime_image("llamacpp", gpu=True) != runtime_image("llamacpp", gpu=False)
    assert runtime_image("ollama", gpu=True) == runtime_image("ollama", gpu=False)
