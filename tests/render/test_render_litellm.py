"""The `litellm` target: config.yaml, routes.json and the callback, for every example.

The rendered YAML must parse back to exactly the data the renderer built, the model list and
router settings must load into a real `litellm.Router`, and the rendered files must match the
reviewed golden files (regenerate with `pytest --update-golden`, then read the diff).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from jarvis_config.model.mesh import Mesh
from jarvis_config.model.routing import RING_FALLBACKS, plan
from jarvis_config.render import litellm as target
from jarvis_config.render.routes import routing_table
from tests.kit import ROOT, check_golden, compile_mesh, example_params, mesh_examples

# LiteLLM reads this at import: its bundled cost map instead of a network fetch.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


EXAMPLES = example_params()


@pytest.fixture(scope="module")
def homelab() -> Mesh:
    return compile_mesh(ROOT / "examples" / "homelab")


def test_examples_are_found() -> None:
    assert {"homelab", "roles"} <= {p.name for p in mesh_examples()}


@pytest.mark.parametrize("example", EXAMPLES)
def test_config_yaml_parses_back_to_the_data(example: Path) -> None:
    mesh = compile_mesh(example)
    rendered = target.render(mesh)["litellm/config.yaml"]
    assert yaml.safe_load(rendered) == target.gateway_config(mesh)
    assert rendered.endswith("\n") and not rendered.endswith("\n\n")


@pytest.mark.parametrize("example", EXAMPLES)
def test_routes_json_parses_back_to_the_table(example: Path) -> None:
    mesh = compile_mesh(example)
    rendered = target.render(mesh)["litellm/routes.json"]
    assert json.loads(rendered) == routing_table(mesh)


# pydantic warns about a LiteLLM TypedDict when a Router is first built in some import orders.
@pytest.mark.filterwarnings("ignore:Item .* is using the .ReadOnly. qualifier:UserWarning")
@pytest.mark.slow  # imports LiteLLM and builds its Router per example
@pytest.mark.parametrize("example", EXAMPLES)
def test_every_config_loads_into_a_litellm_router(example: Path) -> None:
    import litellm

    config = yaml.safe_load(target.render(compile_mesh(example))["litellm/config.yaml"])
    settings = config["router_settings"]
    # Redis settings are environment references the proxy resolves; a bare Router does not.
    shared_state = {key: settings.pop(key) for key in list(settings) if key.startswith("redis_")}
    assert all(value.startswith("os.environ/") for value in shared_state.values())
    router = litellm.Router(model_list=config["model_list"], **settings)
    ids = {d["model_info"]["id"] for d in config["model_list"]}
    assert {d["model_info"]["id"] for d in router.get_model_list() or []} == ids
    assert set(router.routing_groups) == {
        g["group_name"] for g in settings.get("routing_groups", [])
    }
    for alias in settings.get("model_group_alias", {}):
        assert router.is_recognized_model(alias), alias


@pytest.mark.parametrize("example", EXAMPLES)
def test_rendered_files_match_the_golden_files(example: Path, update_golden: bool) -> None:
    files = target.render(compile_mesh(example))
    # The callback is the packaged file verbatim (checked below), not a golden copy.
    owns = ("litellm/config.yaml", "litellm/routes.json")
    check_golden(example.name, files, owns=owns, update=update_golden)


def test_the_callback_is_the_packaged_file_verbatim(homelab: Mesh) -> None:
    source = ROOT / "jarvis_config" / "callback" / "jarvis_router.py"
    assert target.render(homelab)["litellm/jarvis_router.py"] == source.read_text("utf-8")


def by_id(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["model_info"]["id"]: d for d in config["model_list"]}


def test_a_node_deployment_is_its_own_group_with_the_runtime_prefix(homelab: Mesh) -> None:
    entry = by_id(target.gateway_config(homelab))["llama3@ai-max"]
    assert entry == {
        "model_name": "llama3@ai-max",
        "litellm_params": {
            "model": "ollama_chat/llama3:8b",
            "api_base": "http://ai-max.lan:11434",
            "temperature": 0.7,
            "rpm": 600,
            "max_parallel_requests": 8,
            "tags": ["node:ai-max", "role:gpu"],
        },
        "model_info": {
            "id": "llama3@ai-max",
            "mode": "chat",
            "jarvis_model": "llama3",
            "category": "general",
            "node": "ai-max",
            "runtime": "ollama",
            "health_check_timeout": 5.0,
            "context_window": 8192,
            "max_input_tokens": 8192,
        },
    }


@pytest.mark.parametrize(
    ("deployment", "prefix", "api_base"),
    [
        pytest.param(
            "deepseek-coder@ai-max", "hosted_vllm/", "http://ai-max.lan:8000/v1", id="vllm"
        ),
        pytest.param(
            "phi3-mini@laptop", "llamafile/", "http://192.168.1.42:8080/v1", id="llamacpp"
        ),
    ],
)
def test_keyless_runtimes_never_get_an_openai_prefix(
    homelab: Mesh, deployment: str, prefix: str, api_base: str
) -> None:
    """`openai/` without an api_key would send the gateway's OPENAI_API_KEY to the node."""
    params = by_id(target.gateway_config(homelab))[deployment]["litellm_params"]
    assert params["model"].startswith(prefix)
    assert params["api_base"] == api_base
    assert "api_key" not in params


def test_secrets_are_environment_references(homelab: Mesh) -> None:
    config = target.gateway_config(homelab)
    assert (
        by_id(config)["gpt-4o@openai"]["litellm_params"]["api_key"] == "os.environ/OPENAI_API_KEY"
    )
    assert config["general_settings"]["master_key"] == "os.environ/JARVIS_MASTER_KEY"
    assert config["general_settings"]["custom_auth"] == "jarvis_router.user_api_key_auth"
    assert config["litellm_settings"]["callbacks"] == ["jarvis_router.proxy_handler_instance"]


def test_token_counting_never_waits_for_the_network(homelab: Mesh) -> None:
    """Offline, the proxy held each stream's end ~25 s trying to fetch a Llama 3 tokenizer."""
    assert target.gateway_config(homelab)["litellm_settings"]["disable_hf_tokenizer_download"]


def hop(group: str) -> dict[str, Any]:
    """A fallback to one node's group: made once, without retries."""
    return {"model": group, "num_retries": 0}


def test_model_names_aliases_and_fallbacks_of_the_homelab(homelab: Mesh) -> None:
    settings = target.gateway_config(homelab)["router_settings"]
    groups = {g["group_name"]: g["models"] for g in settings["routing_groups"]}
    assert groups["llama3"] == ["llama3@ai-max", "llama3@mini"]
    assert settings["model_group_alias"] == {
        "chat": "llama3",
        "code": "deepseek-coder",
        "fast": "phi3-mini",
    }
    fallbacks = dict(kv for item in settings["fallbacks"] for kv in item.items())
    walk = [hop("llama3@ai-max"), hop("llama3@mini"), "gpt-4o"]
    # strict pinning: no per-node group may fall back anywhere
    assert fallbacks == {
        "llama3": walk,
        "chat": walk,
        "deepseek-coder": ["gpt-4o"],
        "code": ["gpt-4o"],
    }
    assert settings["context_window_fallbacks"] == [{"llama3": ["mistral"]}, {"chat": ["mistral"]}]
    assert settings["enable_pre_call_checks"] is True


def test_prefer_pinning_lets_pinned_groups_fall_back() -> None:
    settings = target.gateway_config(compile_mesh(ROOT / "examples" / "roles"))["router_settings"]
    fallbacks = dict(kv for item in settings["fallbacks"] for kv in item.items())
    assert fallbacks["mistral@rig-1"] == [hop("mistral@rig-2")]
    assert fallbacks["mistral"] == [hop("mistral@rig-1"), hop("mistral@rig-2")]
    # Both of mistral's nodes have role gpu: a role group would repeat the model's group.
    groups = [g["group_name"] for g in settings["routing_groups"]]
    assert "mistral" in groups and "mistral@role:gpu" not in groups


def test_a_prefer_role_group_tries_its_own_nodes_then_a_few_others() -> None:
    mesh = compile_mesh(ROOT / "tests" / "review" / "twelve-nodes.yaml")
    settings = target.gateway_config(mesh)["router_settings"]
    fallbacks = dict(kv for item in settings["fallbacks"] for kv in item.items())
    rack_b = ["llama3@gpu-b1", "llama3@gpu-b2"]
    assert fallbacks["llama3@role:rack-b"] == [
        hop(g) for g in [*rack_b, "llama3@cpu-1", "llama3@cpu-2", "llama3@gpu-a1", "llama3@gpu-a2"]
    ]
    role_group = next(
        g for g in settings["routing_groups"] if g["group_name"] == "llama3@role:rack-b"
    )
    assert role_group == {
        "group_name": "llama3@role:rack-b",
        "models": rack_b,
        "routing_strategy": "priority",
        "model_priorities": dict.fromkeys(rack_b, 1),
    }


def replicated_mesh(tmp_path: Path, replicas: int, pinning: str) -> Mesh:
    """benchmarks/synth.py's role-placed shape: 4 models, each on `replicas` gpu nodes."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import synth

    data = synth.replicated(4 * replicas, replicas, pinning=pinning)
    return compile_mesh(synth.write_data(tmp_path / f"{pinning}-{replicas}.yaml", data))


@pytest.mark.parametrize("pinning", ["strict", "prefer"])
def test_gateway_files_grow_linearly_with_replicas(tmp_path: Path, pinning: str) -> None:
    per_deployment = {}
    for replicas in (10, 60):
        mesh = replicated_mesh(tmp_path, replicas, pinning)
        files = target.render(mesh)
        size = sum(len(files[f"litellm/{name}"]) for name in ("config.yaml", "routes.json"))
        per_deployment[replicas] = size / len(mesh.deployments)
    assert max(per_deployment.values()) <= 2048, per_deployment
    # Quadratic lists would make a deployment of the 60-replica mesh about 6x as large.
    assert per_deployment[60] < 1.25 * per_deployment[10], per_deployment


def test_prefer_pin_reaches_every_node_of_its_model_before_the_declared_fallback(
    tmp_path: Path,
) -> None:
    routing = plan(replicated_mesh(tmp_path, 12, "prefer"))
    chains = dict(routing.fallbacks)
    route = routing.models[0]
    assert route.fallbacks == ("model-001",)
    for start in route.node_groups:
        chain = chains[start]
        assert len(chain) == RING_FALLBACKS + 1 and chain[-1] == "model-001", chain
        # Nested fallbacks, as LiteLLM walks them: each node's chain leads on to the rest.
        seen, frontier = {start}, [start]
        while frontier:
            frontier = [g for group in frontier for g in chains.get(group, ()) if g not in seen]
            seen.update(frontier)
        assert set(route.node_groups) <= seen


def test_fault_settings_have_measured_defaults(homelab: Mesh) -> None:
    config = target.gateway_config(homelab)
    router = config["router_settings"]
    assert {
        k: router[k] for k in ("timeout", "stream_timeout", "allowed_fails", "cooldown_time")
    } == {
        "timeout": 45.0,
        "stream_timeout": 20.0,
        "allowed_fails": 1,
        "cooldown_time": 30.0,
    }
    # a frozen or stalled node is not asked again: its timeout (or the connection error of a
    # stream stalled after its headers) goes straight to the fallbacks; a runtime's own
    # error answers keep the configured retries
    assert router["retry_policy"] == {
        "TimeoutErrorRetries": 0,
        "DefaultRetries": 0,
        "InternalServerErrorRetries": 2,
        "ServiceUnavailableErrorRetries": 2,
        "RateLimitErrorRetries": 2,
    }
    general = config["general_settings"]
    assert {k: v for k, v in general.items() if k not in ("master_key", "custom_auth")} == {
        "background_health_checks": True,
        "health_check_interval": 10,
        "enable_health_check_routing": True,
    }
    # health checks are real requests: nodes only, never a hosted provider's quota
    assert by_id(config)["gpt-4o@openai"]["model_info"]["disable_background_health_check"]


def test_fault_settings_follow_the_routing_section(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "homelab" / "jarvis.yaml").read_text(encoding="utf-8")
    (tmp_path / "jarvis.yaml").write_text(
        text.replace(
            "  node_pinning: strict",
            "  node_pinning: strict\n  timeout: 300\n  stream_timeout: 60\n"
            "  health_check_interval: 0\n  health_check_timeout: 9\n  cooldown: 5\n"
            "  allowed_fails: 4",
        ),
        encoding="utf-8",
    )
    mesh = compile_mesh(tmp_path)
    config = target.gateway_config(mesh)
    router = config["router_settings"]
    assert (router["timeout"], router["stream_timeout"]) == (300.0, 60.0)
    assert (router["cooldown_time"], router["allowed_fails"]) == (5.0, 4)
    assert "background_health_checks" not in config["general_settings"]  # 0 turns them off
    assert by_id(config)["llama3@mini"]["model_info"]["health_check_timeout"] == 9.0
