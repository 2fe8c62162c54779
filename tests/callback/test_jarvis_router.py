"""The gateway callback, called directly with request dictionaries as the proxy passes them.

The module is loaded exactly as the proxy loads it: from a rendered `litellm/` folder, by file
path, reading routes.json beside itself. Messages are asserted verbatim.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from jarvis_config.render import litellm as target
from tests.kit import ROOT, compile_mesh

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HOMELAB_NODES = (
    "nodes serving 'llama3': ai-max (gpu), mini (cpu); or pin a role: role:cpu, role:gpu"
)


def load_callback(folder: Path, files: dict[str, str]) -> ModuleType:
    """Write a rendered litellm/ folder and import its callback by path, as the proxy does."""
    folder.mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        (folder / Path(relative).name).write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(
        f"jarvis_router_{uuid.uuid4().hex}", folder / "jarvis_router.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def homelab(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return load_callback(tmp_path_factory.mktemp("homelab"), target.render(compile_mesh("homelab")))


@pytest.fixture(scope="module")
def roles(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return load_callback(tmp_path_factory.mktemp("roles"), target.render(compile_mesh("roles")))


def request(model: str, **fields: Any) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"user_api_key": "hashed"},
        **fields,
    }


def pre_call(module: ModuleType, data: dict[str, Any]) -> dict[str, Any]:
    handler = module.proxy_handler_instance
    result: dict[str, Any] = asyncio.run(
        handler.async_pre_call_hook(None, None, data, "acompletion")
    )
    handler.slots.leave(result)  # the parallel slot a request takes: as if it was answered
    return result


def refusal(module: ModuleType, data: dict[str, Any]) -> tuple[int, str]:
    from fastapi import HTTPException

    with pytest.raises(HTTPException) as caught:
        pre_call(module, data)
    return caught.value.status_code, str(caught.value.detail)


def test_a_request_without_node_is_left_alone(homelab: ModuleType) -> None:
    data = request("llama3", temperature=0.2)
    assert pre_call(homelab, dict(data)) == data


@pytest.mark.parametrize(
    ("model", "node", "group"),
    [
        pytest.param("llama3", "mini", "llama3@mini", id="model"),
        pytest.param("chat", "ai-max", "llama3@ai-max", id="alias"),
        pytest.param("chat", "role:cpu", "llama3@mini", id="role-with-one-node"),
        pytest.param("fast", "laptop", "phi3-mini@laptop", id="alias-single-node"),
    ],
)
def test_node_pins_to_the_group_of_that_node(
    homelab: ModuleType, model: str, node: str, group: str
) -> None:
    out = pre_call(homelab, request(model, node=node))
    assert out["model"] == group
    assert "node" not in out
    assert out["disable_fallbacks"] is True  # homelab pins strictly
    pin = out["metadata"]["jarvis_pin"]
    assert (pin["node"], pin["model"], pin["strict"]) == (node, out["model"].split("@")[0], True)
    assert out["metadata"]["user_api_key"] == "hashed"


def test_a_role_every_node_shares_pins_to_the_model_group_under_prefer(roles: ModuleType) -> None:
    out = pre_call(roles, request("mistral", node="role:gpu"))
    assert out["model"] == "mistral"  # both of mistral's nodes have role gpu
    assert "disable_fallbacks" not in out  # roles pins with prefer: fallbacks stay on
    assert out["metadata"]["jarvis_pin"]["strict"] is False


def test_a_strict_role_pin_keeps_the_fallbacks_within_its_role(tmp_path: Path) -> None:
    module = load_callback(tmp_path, target.render(compile_mesh("ha-gateway")))
    out = pre_call(module, request("chat", node="role:gpu"))
    assert out["model"] == "llama3-8b@role:gpu"
    assert "disable_fallbacks" not in out
    assert out["metadata"]["jarvis_pin"]["strict"] is True


def test_node_null_means_no_pin_and_is_removed(homelab: ModuleType) -> None:
    out = pre_call(homelab, request("llama3", node=None))
    assert out == request("llama3")


@pytest.mark.parametrize(
    ("model", "node", "message"),
    [
        pytest.param(
            "llama3",
            "ai-mx",
            f"unknown node 'ai-mx' in field 'node' (did you mean 'ai-max'?); {HOMELAB_NODES}",
            id="unknown-node",
        ),
        pytest.param(
            "llama3",
            "laptop",
            f"node 'laptop' does not serve 'llama3'; {HOMELAB_NODES}",
            id="wrong-node",
        ),
        pytest.param(
            "chat",
            "laptop",
            f"node 'laptop' does not serve 'chat'; {HOMELAB_NODES}",
            id="wrong-node-for-alias",
        ),
        pytest.param(
            "llama3",
            "role:edge",
            f"role 'edge' does not serve 'llama3'; {HOMELAB_NODES}",
            id="wrong-role",
        ),
        pytest.param(
            "llama3",
            "role:tpu",
            f"unknown role 'tpu' in field 'node' (did you mean 'gpu'?); {HOMELAB_NODES}",
            id="unknown-role",
        ),
        pytest.param(
            "llama3",
            "role:storage",
            f"unknown role 'storage' in field 'node'; {HOMELAB_NODES}",
            id="unknown-role-no-hint",
        ),
        pytest.param(
            "gpt-4o",
            "ai-max",
            "node 'ai-max' does not serve 'gpt-4o'; 'gpt-4o' is served by provider "
            "'openai', not by a node; send it without 'node'",
            id="hosted-model",
        ),
        pytest.param(
            "llama4",
            "ai-max",
            "cannot pin 'llama4' to a node: no such model or alias; known: chat, code, "
            "deepseek-coder, fast, gpt-4o, llama3, mistral, phi3-mini",
            id="unknown-model",
        ),
        pytest.param(
            "llama3", 7, "field 'node' must be a node name or 'role:ROLE', not 7", id="not-a-string"
        ),
    ],
)
def test_a_pin_that_cannot_be_honoured_is_a_400_naming_the_nodes(
    homelab: ModuleType, model: str, node: Any, message: str
) -> None:
    assert refusal(homelab, request(model, node=node)) == (400, message)


def failure(module: ModuleType, data: dict[str, Any], exc: Exception) -> Any:
    handler = module.proxy_handler_instance
    return asyncio.run(handler.async_post_call_failure_hook(data, exc, None))


def _exceptions() -> dict[str, Exception]:
    """LiteLLM's exceptions as a failing node raises them, with the texts seen on 1.108.7."""
    import litellm
    from litellm.types.router import RouterRateLimitError

    where = {"llm_provider": "ollama_chat", "model": "llama3:8b"}
    return {
        "refused": litellm.APIConnectionError(
            message="Cannot connect to host mini:11434 ssl:<ssl.SSLContext object at 0x7f01>",
            **where,
        ),
        "timeout": litellm.Timeout(message="Connection timed out. Timeout passed=45.0", **where),
        "cut": litellm.APIConnectionError(
            message="Response payload is not completed: <TransferEncodingError: 400>", **where
        ),
        "malformed": litellm.APIConnectionError(
            message="Expecting value: line 1 column 1 (char 0)", **where
        ),
        "error": litellm.InternalServerError(
            message='{"error": "boom at http://10.0.0.5:11434/api/chat"}', **where
        ),
        "cooldown": RouterRateLimitError(
            model="llama3@mini",
            cooldown_time=30.0,
            enable_pre_call_checks=True,
            cooldown_list=["llama3@mini"],
            model_ids=["llama3@mini"],
        ),
    }


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        pytest.param(
            "refused", "it could not be reached (connection refused or lost)", id="refused"
        ),
        pytest.param("timeout", "it did not answer in time (timed out)", id="timeout"),
        pytest.param("cut", "the connection was lost before its answer was complete", id="cut"),
        pytest.param(
            "malformed",
            "it sent an answer the gateway could not read (malformed response)",
            id="malformed",
        ),
        pytest.param("error", "its runtime answered with an error (HTTP 500)", id="error"),
        pytest.param(
            "cooldown",
            "it failed recently and is left alone for up to 30 s (cooldown); try again later",
            id="cooldown",
        ),
    ],
)
def test_a_strict_pin_failure_is_a_503_naming_node_model_and_cause(
    homelab: ModuleType, kind: str, words: str
) -> None:
    data = pre_call(homelab, request("chat", node="role:cpu"))
    exc = _exceptions()[kind]
    answer = failure(homelab, data, exc)
    detail = (
        "the nodes with role 'cpu' (mini) failed to serve 'llama3' and node_pinning is "
        f"strict, so the request was not sent to another node: {words}"
    )
    assert (answer.status_code, answer.detail) == (503, detail)
    assert exc.message == detail  # type: ignore[attr-defined]  # what a broken stream ends with


def test_an_unpinned_failure_on_a_node_names_it_in_plain_words(homelab: ModuleType) -> None:
    exc = _exceptions()["cut"]
    data = request("llama3")
    data["metadata"] = {"model_info": {"node": "mini", "jarvis_model": "llama3"}}
    answer = failure(homelab, data, exc)
    detail = (
        "node 'mini' failed to serve 'llama3': "
        "the connection was lost before its answer was complete"
    )
    assert (answer.status_code, answer.detail, exc.message) == (503, detail, detail)  # type: ignore[attr-defined]


def test_every_node_cooling_down_is_a_503_not_a_429(homelab: ModuleType) -> None:
    answer = failure(homelab, request("llama3"), _exceptions()["cooldown"])
    assert (answer.status_code, answer.detail) == (
        503,
        "no node can serve 'llama3' right now: it failed recently and is left alone for up to "
        "30 s (cooldown); try again later",
    )


def test_a_strict_pin_failure_drops_python_reprs_from_the_cause(homelab: ModuleType) -> None:
    """aiohttp words a refused connection with the repr of its SSL context (seen through the
    swarm stack); the client gets the words around it."""
    import litellm

    data = pre_call(homelab, request("chat", node="mini"))
    cause = litellm.APIConnectionError(
        message="Cannot connect to host mini:11434 ssl:<ssl.SSLContext object at 0x7efeb4ac3ad0>"
        " [Connect call failed ('10.0.1.11', 11434)]",
        llm_provider="ollama_chat",
        model="llama3:8b",
    )
    detail = failure(homelab, data, cause).detail
    assert detail.endswith("it could not be reached (connection refused or lost)")
    assert "object at 0x" not in detail and "<" not in detail and "10.0.1.11" not in detail


def test_other_failures_keep_the_proxys_own_error(homelab: ModuleType, roles: ModuleType) -> None:
    boom = RuntimeError("boom")
    assert failure(homelab, request("llama3"), boom) is None  # not pinned, no node named
    assert failure(roles, pre_call(roles, request("mistral", node="rig-1")), boom) is None


def test_routing_groups_are_hidden_from_the_model_list(homelab: ModuleType) -> None:
    handler = homelab.proxy_handler_instance
    names = ["chat", "llama3", "llama3@ai-max", "llama3@mini", "gpt-4o", "mistral@ai-max"]
    listed = asyncio.run(handler.async_filter_listed_models(None, names))
    assert listed == ["chat", "llama3", "gpt-4o"]


def test_the_table_is_read_once_at_import(homelab: ModuleType) -> None:
    table = homelab.proxy_handler_instance.table
    assert table.pinning == "strict" and table.aliases["chat"] == "llama3"


def test_a_missing_routing_table_stops_the_proxy_at_start(tmp_path: Path) -> None:
    files = target.render(compile_mesh("homelab"))
    del files["litellm/routes.json"]
    with pytest.raises(FileNotFoundError, match=r"routes\.json is missing"):
        load_callback(tmp_path, files)


def test_a_routing_table_of_another_format_is_refused(tmp_path: Path) -> None:
    files = target.render(compile_mesh("homelab"))
    table = json.loads(files["litellm/routes.json"])
    files["litellm/routes.json"] = json.dumps({**table, "format": "jarvis-routes/2"})
    with pytest.raises(ValueError, match=r"routes\.json has format 'jarvis-routes/2'"):
        load_callback(tmp_path, files)


class _HealthState:
    """The part of LiteLLM's DeploymentHealthCache the callback reads."""

    def __init__(self, unhealthy: set[str]) -> None:
        self.unhealthy = unhealthy

    async def async_get_unhealthy_deployment_ids(self) -> set[str]:
        return self.unhealthy


@pytest.fixture
def mini_failed_its_health_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy's router as the callback finds it, with `llama3@mini` marked unhealthy."""
    proxy = ModuleType("litellm.proxy.proxy_server")
    proxy.llm_router = type("Router", (), {"health_state_cache": _HealthState({"llama3@mini"})})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "litellm.proxy.proxy_server", proxy)


@pytest.mark.usefixtures("mini_failed_its_health_check")
def test_a_strict_pin_to_a_node_that_failed_its_health_check_is_a_503_at_once(
    homelab: ModuleType,
) -> None:
    assert refusal(homelab, request("llama3", node="mini")) == (
        503,
        "node 'mini' failed to serve 'llama3' and node_pinning is strict, so the request was "
        "not sent to another node: it failed its last health check; try again later",
    )
    assert refusal(homelab, request("llama3", node="role:cpu"))[0] == 503  # mini alone
    # the other node is not affected
    assert pre_call(homelab, request("llama3", node="ai-max"))["model"] == "llama3@ai-max"
    assert pre_call(homelab, request("llama3", node="role:gpu"))["model"] == "llama3@ai-max"


@pytest.mark.usefixtures("mini_failed_its_health_check")
def test_a_prefer_pin_to_a_node_that_failed_its_health_check_goes_unpinned(
    tmp_path: Path,
) -> None:
    text = (ROOT / "examples" / "homelab" / "jarvis.yaml").read_text(encoding="utf-8")
    (tmp_path / "mesh").mkdir()
    (tmp_path / "mesh" / "jarvis.yaml").write_text(
        text.replace("node_pinning: strict", "node_pinning: prefer"), encoding="utf-8"
    )
    module = load_callback(tmp_path / "out", target.render(compile_mesh(tmp_path / "mesh")))
    data = pre_call(module, request("chat", node="mini"))
    assert data["model"] == "chat" and "node" not in data


def test_a_real_rate_limit_keeps_its_429_in_plain_words(homelab: ModuleType) -> None:
    from litellm.types.router import RouterRateLimitErrorBasic

    data = pre_call(homelab, request("llama3", node="mini"))
    answer = failure(homelab, data, RouterRateLimitErrorBasic(model="llama3@mini"))
    assert (answer.status_code, answer.detail) == (
        429,
        "node 'mini' failed to serve 'llama3' and node_pinning is strict, so the request was "
        "not sent to another node: it is rate limited",
    )
