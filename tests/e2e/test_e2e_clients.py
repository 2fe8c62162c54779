"""The clients mesh served end to end: per-client keys without a database, pins from every
client (field, header, pinned model name), the pinned names in /v1/models, capabilities, and
agents' tool calls through the gateway to Ollama, vLLM, llama.cpp and a hosted model.

One proxy for the module (the stock LiteLLM proxy, no database), driven with the openai SDK.
The rate-limit test spends the trial key's three requests a minute, so it runs last.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Gateway, chat, served
from tests.kit import ROOT

openai = pytest.importorskip(
    "openai", reason="the end-to-end tests drive the gateway with the openai SDK (the test extra)"
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXAMPLE = "clients"  # served by the gateway fixture (conftest.py)
MANY = 12
TOOL: Any = {
    "type": "function",
    "function": {
        "name": "where_am_i",
        "description": "Which node the model runs on.",
        "parameters": {"type": "object", "properties": {"node": {"type": "string"}}},
    },
}
PINNED_NAMES = {
    "llama3@mini",
    "llama3@gpu-1",
    "llama3@gpu-2",
    "llama3@role:gpu",
    "qwen-coder@gpu-1",
    "phi3-mini@edge",
    "tinyllama@mini",
}
MODELS_AND_ALIASES = {
    "llama3",
    "qwen-coder",
    "phi3-mini",
    "tinyllama",
    "gpt-4o",
    "chat",
    "fast",
    "code",
}


def key(gateway: Gateway, name: str) -> str:
    return gateway.copy.env[f"JARVIS_KEY_{name.upper()}"]


def client_with(gateway: Gateway, name: str) -> openai.OpenAI:
    return gateway.client(key(gateway, name))  # type: ignore[no-any-return]


def status_of(call: Any) -> tuple[int, str]:
    """(HTTP status, error message) of a call through the SDK; (200, "") when it succeeds."""
    try:
        call()
    except openai.APIStatusError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        return exc.status_code, str(body.get("message", exc.message))
    return 200, ""


def hi(client: openai.OpenAI, model: str, **extra: Any) -> Any:
    """A chat completion to run later (by status_of); `messages` may replace the greeting."""
    fields: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}], **extra}
    return lambda: client.chat.completions.create(model=model, **fields)


# --- keys --------------------------------------------------------------------------------------


def test_master_key_keeps_working(client: openai.OpenAI) -> None:
    assert chat(client, "tinyllama") == ("hello from mini", "tinyllama@mini")


def test_wrong_key_is_401_without_echoing_it(gateway: Gateway) -> None:
    status, message = status_of(hi(gateway.client("sk-not-a-key-123456"), "llama3"))
    assert status == 401
    assert "invalid API key" in message
    assert "sk-not-a-key-123456" not in message


def test_missing_key_is_401(gateway: Gateway) -> None:
    body = json.dumps({"model": "llama3", "messages": [{"role": "user", "content": "hi"}]})
    request = urllib.request.Request(
        f"{gateway.url}/v1/chat/completions",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 401
    assert "missing API key" in caught.value.read().decode()


@pytest.mark.parametrize(
    ("name", "model", "answer"),
    [
        pytest.param("n8n", "chat", "hello from", id="n8n-alias-in-its-list"),
        pytest.param("n8n", "llama3", "hello from", id="n8n-model-of-an-alias-in-its-list"),
        pytest.param("n8n", "llama3@gpu-2", "hello from gpu-2", id="n8n-pinned-name"),
        pytest.param("agents", "qwen-coder", "hello from gpu-1", id="agents-every-model"),
    ],
)
def test_declared_keys_call_their_models(
    gateway: Gateway, name: str, model: str, answer: str
) -> None:
    text, _ = chat(client_with(gateway, name), model)
    assert text.startswith(answer)


def test_model_outside_a_keys_list_is_403_naming_key_and_model(gateway: Gateway) -> None:
    status, message = status_of(hi(client_with(gateway, "n8n"), "qwen-coder"))
    assert (status, message) == (
        403,
        "key 'n8n' may not use model 'qwen-coder'; it may use: chat, fast",
    )
    assert key(gateway, "n8n") not in message


def test_a_key_lists_only_its_models(gateway: Gateway) -> None:
    listed = {m.id for m in client_with(gateway, "n8n").models.list().data}
    assert listed == {
        "chat",
        "fast",
        "llama3",
        "phi3-mini",
        "llama3@mini",
        "llama3@gpu-1",
        "llama3@gpu-2",
        "llama3@role:gpu",
        "phi3-mini@edge",
    }


# --- pins from every client --------------------------------------------------------------------


def test_pinned_names_are_listed(client: openai.OpenAI) -> None:
    assert {m.id for m in client.models.list().data} == MODELS_AND_ALIASES | PINNED_NAMES


def test_model_retrieval_answers_for_groups_with_deployments(client: openai.OpenAI) -> None:
    """GET /v1/models/{id} answers for pinned node names and hosted models; LiteLLM 1.108.7
    answers 404 for routing groups and aliases (documented in docs/clients.md)."""
    one_node = {"llama3@mini", "llama3@gpu-1", "qwen-coder@gpu-1", "phi3-mini@edge", "gpt-4o"}
    for name in sorted(one_node):
        assert client.models.retrieve(name).id == name
    for name in ("llama3", "chat", "llama3@role:gpu"):
        assert status_of(lambda name=name: client.models.retrieve(name))[0] == 404


@pytest.mark.parametrize(
    ("model", "headers", "answers"),
    [
        pytest.param("llama3@mini", {}, {("hello from mini", "llama3@mini")}, id="name-node"),
        pytest.param(
            "chat@gpu-2", {}, {("hello from gpu-2", "llama3@gpu-2")}, id="name-alias-node"
        ),
        pytest.param(
            "llama3@role:gpu",
            {},
            {("hello from gpu-1", "llama3@gpu-1"), ("hello from gpu-2", "llama3@gpu-2")},
            id="name-role",
        ),
        pytest.param(
            "llama3", {"X-Jarvis-Node": "mini"}, {("hello from mini", "llama3@mini")}, id="header"
        ),
        pytest.param(
            "llama3",
            {"X-Jarvis-Node": "role:cpu"},
            {("hello from mini", "llama3@mini")},
            id="header-role",
        ),
    ],
)
def test_pins_by_name_and_header(
    gateway: Gateway, model: str, headers: dict[str, str], answers: set[tuple[str, str]]
) -> None:
    pinned = gateway.client().with_options(default_headers=headers)
    assert set(served(pinned, model, times=MANY)) == answers


def test_a_pinned_name_is_refused_as_the_node_field_is(client: openai.OpenAI) -> None:
    by_name = status_of(hi(client, "llama3@edge"))
    by_field = status_of(hi(client, "llama3", extra_body={"node": "edge"}))
    assert by_name == by_field
    assert by_name == (
        400,
        "node 'edge' does not serve 'llama3'; nodes serving 'llama3': gpu-1 (gpu), "
        "gpu-2 (gpu), mini (cpu); or pin a role: role:cpu, role:gpu",
    )


def test_two_different_pins_are_refused(client: openai.OpenAI) -> None:
    call = hi(client, "llama3@gpu-1", extra_headers={"X-Jarvis-Node": "mini"})
    assert status_of(call) == (
        400,
        "the request pins to different places: 'mini' in the header 'x-jarvis-node', "
        "'gpu-1' in the model name; pin one way only",
    )


def test_strict_pinned_name_gets_no_fallback(gateway: Gateway, client: openai.OpenAI) -> None:
    with gateway.fakes.down("gpu-2"):
        status, message = status_of(hi(client, "llama3@gpu-2"))
    assert status == 503
    assert message.startswith("node 'gpu-2' failed to serve 'llama3'")


# --- capabilities ------------------------------------------------------------------------------


def test_a_request_using_a_capability_the_model_lacks_is_400(client: openai.OpenAI) -> None:
    assert status_of(hi(client, "tinyllama", tools=[TOOL])) == (
        400,
        "model 'tinyllama' does not support tools (function calling) (its capabilities: "
        "none); choose a model that does, or leave that part out of the request",
    )
    image: Any = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    status, message = status_of(hi(client, "fast", messages=[{"role": "user", "content": [image]}]))
    assert (status, message.split(" (")[0]) == (
        400,
        "model 'phi3-mini' does not support image input",
    )


def test_capabilities_reach_model_info(gateway: Gateway) -> None:
    request = urllib.request.Request(
        f"{gateway.url}/v1/model/info",
        headers={"Authorization": f"Bearer {gateway.copy.master_key}"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        info = {m["model_info"]["id"]: m["model_info"] for m in json.load(reply)["data"]}
    assert info["gpt-4o@openai"]["supports_vision"] is True
    assert info["llama3@mini"]["supports_function_calling"] is True
    assert info["llama3@mini"]["supports_vision"] is False
    assert info["tinyllama@mini"]["supports_function_calling"] is False


# --- agents: tool call -> tool result -> answer --------------------------------------------------


Turn = tuple[str | None, list[dict[str, Any]], str | None]  # content, tool calls, finish


def agent_turn(client: openai.OpenAI, model: str, messages: list[Any], stream: bool) -> Turn:
    """One turn of an agent: the assistant's content, tool calls and finish reason."""
    return (_streamed_turn if stream else _whole_turn)(client, model, messages)


def _whole_turn(client: openai.OpenAI, model: str, messages: list[Any]) -> Turn:
    choice = client.chat.completions.create(
        model=model, messages=messages, tools=[TOOL], tool_choice="auto"
    ).choices[0]
    calls = [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
        for c in choice.message.tool_calls or []
        if c.type == "function"
    ]
    return choice.message.content, calls, choice.finish_reason


def _streamed_turn(client: openai.OpenAI, model: str, messages: list[Any]) -> Turn:
    """The streamed turn, assembled from its deltas as agent frameworks do."""
    text, finish = "", None
    calls: dict[int, dict[str, Any]] = {}
    for chunk in client.chat.completions.create(
        model=model, messages=messages, tools=[TOOL], tool_choice="auto", stream=True
    ):
        if not chunk.choices:
            continue
        delta, finish = chunk.choices[0].delta, chunk.choices[0].finish_reason or finish
        text += delta.content or ""
        for part in delta.tool_calls or []:
            call = calls.setdefault(part.index, {"id": None, "name": "", "arguments": ""})
            call["id"] = part.id or call["id"]
            call["name"] += (part.function.name or "") if part.function else ""
            call["arguments"] += (part.function.arguments or "") if part.function else ""
    return text or None, list(calls.values()), finish


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize(
    ("model", "node"),
    [
        pytest.param("llama3", None, id="ollama"),
        pytest.param("llama3@gpu-2", "gpu-2", id="ollama-pinned"),
        pytest.param("qwen-coder", "gpu-1", id="vllm"),
        pytest.param("qwen-coder@gpu-1", "gpu-1", id="vllm-pinned"),
        pytest.param("fast", "edge", id="llamacpp"),
        pytest.param("phi3-mini@edge", "edge", id="llamacpp-pinned"),
        pytest.param("gpt-4o", "openai", id="hosted"),
    ],
)
def test_two_step_agent_loop(gateway: Gateway, model: str, node: str | None, stream: bool) -> None:
    client = client_with(gateway, "agents")
    messages: list[Any] = [{"role": "user", "content": "where do you run?"}]
    content, calls, finish = agent_turn(client, model, messages, stream)
    assert finish == "tool_calls" and len(calls) == 1 and not content
    call = calls[0]
    assert call["name"] == "where_am_i" and call["id"]
    where = json.loads(call["arguments"])["node"]
    assert node is None or where == node
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call["id"], "content": f"you run on {where}"},
    ]
    content, calls, finish = agent_turn(client, model, messages, stream)
    assert (calls, finish) == ([], "stop")
    assert content is not None and content.endswith(f"; tool said: you run on {where}")
    assert node is None or content.startswith(f"hello from {node};")


# --- the TypeScript snippet of docs/clients.md, with Node's openai package ----------------------

CLIENTS_DIR = ROOT / "tests" / "clients"  # package.json + package-lock.json + chat.ts


def npm_project() -> Path:
    """tests/clients with its node_modules (installed from package-lock.json when missing)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the TypeScript snippet cannot be checked")
    if not (CLIENTS_DIR / "node_modules").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=CLIENTS_DIR, check=True, timeout=300
        )
    return CLIENTS_DIR


def test_typescript_snippet_type_checks_and_runs(gateway: Gateway) -> None:
    project = npm_project()
    tsc = project / "node_modules" / ".bin" / "tsc"
    checked = subprocess.run(
        [str(tsc), "-p", "."], cwd=project, capture_output=True, text=True, timeout=300
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    env = {
        **os.environ,
        "JARVIS_GATEWAY_URL": f"{gateway.url}/v1",
        "JARVIS_API_KEY": key(gateway, "agents"),
        "NO_PROXY": "127.0.0.1",
    }
    ran = subprocess.run(
        ["node", "build/chat.js"], cwd=project, capture_output=True, text=True, env=env, timeout=120
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = [json.loads(line) for line in ran.stdout.splitlines()]
    assert lines[:3] == [
        {"pinned": "hello from mini", "servedBy": "llama3@mini"},
        {"byHeader": "hello from gpu-2"},
        {"agent": 'hello from gpu-1; tool said: arguments were {"node": "gpu-1"}'},
    ]
    assert set(lines[3]["models"]) == MODELS_AND_ALIASES | PINNED_NAMES


# --- limits (last: spends the trial key's requests for this minute) ------------------------------


def test_a_key_over_its_rpm_gets_429(gateway: Gateway) -> None:
    trial = client_with(gateway, "trial")
    statuses = [status_of(hi(trial, "fast")) for _ in range(5)]
    assert [s for s, _ in statuses[:3]] == [200, 200, 200]
    assert {s for s, _ in statuses[3:]} == {429}
    assert key(gateway, "trial") not in statuses[-1][1]
