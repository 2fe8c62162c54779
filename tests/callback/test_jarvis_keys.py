"""The callback's keys, pins by name and header, and capability checks, called directly.

Loaded from a rendered `litellm/` folder of the clients example, as the proxy loads it. The
end-to-end proof on the stock proxy is tests/e2e/test_e2e_clients.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import HTTPException

from jarvis_config.render import litellm as target
from tests.callback.test_jarvis_router import load_callback, pre_call, refusal, request
from tests.kit import compile_mesh

# Importing LiteLLM's proxy modules (as the auth function does) warns about its own pydantic use.
# Slow: the key checks import the LiteLLM proxy (about 9 s of CPU); CI runs them, and
# tests/e2e/test_e2e_clients.py proves them on the stock proxy.
pytestmark = pytest.mark.slow
LITELLM_IMPORT_WARNINGS = pytest.mark.filterwarnings("ignore::DeprecationWarning")
KEYS = {"JARVIS_KEY_N8N": "sk-n8n-1", "JARVIS_KEY_AGENTS": "sk-agents-1"}


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return load_callback(tmp_path_factory.mktemp("clients"), target.render(compile_mesh("clients")))


class Identity:
    """What the proxy passes the hooks as user_api_key_dict: here, only the metadata."""

    def __init__(self, key: str | None) -> None:
        self.metadata = {"jarvis_key": key} if key else {}


def as_key(module: ModuleType, key: str | None, data: dict[str, Any]) -> dict[str, Any]:
    handler = module.proxy_handler_instance
    result: dict[str, Any] = asyncio.run(
        handler.async_pre_call_hook(Identity(key), None, data, "acompletion")
    )
    return result


def test_find_key_matches_the_variable_and_nothing_else(
    clients: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var, value in KEYS.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("JARVIS_KEY_TRIAL", "")
    keys = clients.proxy_handler_instance.table.keys
    assert clients.find_key(keys, "sk-n8n-1") == "n8n"
    assert clients.find_key(keys, "sk-agents-1") == "agents"
    assert clients.find_key(keys, "sk-n8n-") is None
    assert clients.find_key(keys, "") is None  # an unset or empty variable matches nothing


@LITELLM_IMPORT_WARNINGS
def test_a_declared_key_gets_its_name_and_limits(
    clients: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JARVIS_KEY_N8N", "sk-n8n-1")
    identity = asyncio.run(clients.user_api_key_auth(None, "sk-n8n-1"))
    # The key's rpm is the callback's to count (KeyWindows), with a truthful Retry-After.
    assert (identity.key_alias, identity.rpm_limit, identity.metadata) == (
        "n8n",
        None,
        {"jarvis_key": "n8n"},
    )
    assert "sk-n8n-1" not in identity.api_key


@LITELLM_IMPORT_WARNINGS
def test_a_missing_key_is_a_401(clients: ModuleType) -> None:
    class Request:
        class url:  # shaped like starlette's request.url
            path = "/v1/chat/completions"

    with pytest.raises(HTTPException) as caught:
        asyncio.run(clients.user_api_key_auth(Request(), ""))
    assert caught.value.status_code == 401
    assert str(caught.value.detail).startswith("missing API key:")


@pytest.mark.parametrize(
    ("key", "model", "allowed"),
    [
        pytest.param("n8n", "chat", True, id="alias-in-list"),
        pytest.param("n8n", "llama3", True, id="model-of-an-alias"),
        pytest.param("n8n", "llama3@role:gpu", True, id="pinned-group"),
        pytest.param("n8n", "qwen-coder", False, id="outside-list"),
        pytest.param("n8n", "no-such-model", False, id="unknown"),
        pytest.param("agents", "qwen-coder", True, id="no-list"),
        pytest.param(None, "qwen-coder", True, id="master-or-virtual-key"),
    ],
)
def test_key_model_lists(clients: ModuleType, key: str | None, model: str, allowed: bool) -> None:
    if allowed:
        as_key(clients, key, request(model))
        return
    with pytest.raises(HTTPException) as caught:
        as_key(clients, key, request(model))
    assert (caught.value.status_code, caught.value.detail) == (
        403,
        f"key 'n8n' may not use model '{model}'; it may use: chat, fast",
    )


@pytest.mark.parametrize(
    ("data", "group"),
    [
        pytest.param(request("llama3@mini"), "llama3@mini", id="name"),
        pytest.param(request("chat@role:gpu"), "llama3@role:gpu", id="alias-role-name"),
        pytest.param(
            request("llama3", proxy_server_request={"headers": {"x-jarvis-node": "gpu-2"}}),
            "llama3@gpu-2",
            id="header",
        ),
        pytest.param(request("llama3@mini", node="mini"), "llama3@mini", id="same-pin-twice"),
    ],
)
def test_pins_by_name_and_header(clients: ModuleType, data: dict[str, Any], group: str) -> None:
    out = pre_call(clients, data)
    assert (out["model"], out["metadata"]["jarvis_pin"]["model"]) == (group, "llama3")


def test_a_field_and_a_name_naming_different_nodes_are_refused(clients: ModuleType) -> None:
    assert refusal(clients, request("llama3@mini", node="gpu-1")) == (
        400,
        "the request pins to different places: 'gpu-1' in the field 'node', 'mini' in the "
        "model name; pin one way only",
    )


@pytest.mark.parametrize(
    ("model", "fields", "message"),
    [
        pytest.param(
            "tinyllama",
            {"tools": [{"type": "function", "function": {"name": "f"}}]},
            "model 'tinyllama' does not support tools (function calling) (its capabilities: "
            "none); choose a model that does, or leave that part out of the request",
            id="tools",
        ),
        pytest.param(
            "llama3@mini",
            {"response_format": {"type": "json_object"}, "reasoning_effort": "low"},
            "model 'llama3' does not support reasoning_effort (its capabilities: json_mode, "
            "tools); choose a model that does, or leave that part out of the request",
            id="reasoning-on-a-pinned-name",
        ),
    ],
)
def test_capabilities_a_model_lacks_are_a_400(
    clients: ModuleType, model: str, fields: dict[str, Any], message: str
) -> None:
    assert refusal(clients, request(model, **fields)) == (400, message)


def test_undeclared_capabilities_are_not_checked(tmp_path: Path) -> None:
    homelab = load_callback(tmp_path, target.render(compile_mesh("homelab")))
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert pre_call(homelab, request("llama3", tools=tools))["tools"] == tools


def test_listing_shows_pinned_names_and_a_keys_own_models(clients: ModuleType) -> None:
    handler = clients.proxy_handler_instance
    names = ["chat", "llama3", "llama3@mini", "qwen-coder", "qwen-coder@gpu-1", "gpt-4o"]
    assert asyncio.run(handler.async_filter_listed_models(Identity(None), names)) == names
    assert asyncio.run(handler.async_filter_listed_models(Identity("n8n"), names)) == [
        "chat",
        "llama3",
        "llama3@mini",
    ]


@LITELLM_IMPORT_WARNINGS
def test_with_a_database_other_keys_go_to_litellms_virtual_keys(
    clients: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a database, a key that is not declared is handed back to LiteLLM (None), which
    checks it as a virtual key; without one it is a 401 here."""
    from litellm.proxy import proxy_server

    monkeypatch.setattr(proxy_server, "master_key", "sk-master-1")
    monkeypatch.setattr(proxy_server, "prisma_client", None)
    with pytest.raises(HTTPException) as caught:
        asyncio.run(clients.user_api_key_auth(None, "sk-virtual-1"))
    assert caught.value.status_code == 401
    assert asyncio.run(clients.user_api_key_auth(None, "sk-master-1")) is None
    monkeypatch.setattr(proxy_server, "prisma_client", object())
    assert asyncio.run(clients.user_api_key_auth(None, "sk-virtual-1")) is None
