"""The home lab mesh served end to end by the stock LiteLLM proxy (node_pinning: strict).

One proxy for the module, started on the built output of examples/homelab rewritten to
loopback, over fake Ollama / OpenAI-compatible runtimes; the official openai SDK is the client.
Tests that stop nodes come last and bring them back.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e.harness import Gateway, chat, served, stream

openai = pytest.importorskip(
    "openai", reason="the e2e tests drive the gateway through the openai SDK (the test extra)"
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXAMPLE = "homelab"  # served by the gateway fixture (conftest.py)
MANY = 30
DOWN_CAUSES = (
    "it could not be reached (connection refused or lost)",
    "it failed recently and is left alone for up to 30 s (cooldown); try again later",
    "it failed its last health check; try again later",
)
NODES_OF_LLAMA3 = (
    "nodes serving 'llama3': ai-max (gpu), mini (cpu); or pin a role: role:cpu, role:gpu"
)


def test_models_and_aliases_are_listed_but_not_routing_groups(client: openai.OpenAI) -> None:
    listed = {model.id for model in client.models.list().data}
    assert listed == {
        "llama3",
        "mistral",
        "deepseek-coder",
        "phi3-mini",
        "gpt-4o",
        "chat",
        "code",
        "fast",
    }


def test_a_model_is_spread_over_every_node_of_its_group(client: openai.OpenAI) -> None:
    assert set(served(client, "llama3")) == {
        ("hello from ai-max", "llama3@ai-max"),
        ("hello from mini", "llama3@mini"),
    }


@pytest.mark.parametrize(
    ("alias", "answers"),
    [
        pytest.param(
            "chat",
            {("hello from ai-max", "llama3@ai-max"), ("hello from mini", "llama3@mini")},
            id="chat",
        ),
        pytest.param("code", {("hello from ai-max", "deepseek-coder@ai-max")}, id="code"),
        pytest.param("fast", {("hello from laptop", "phi3-mini@laptop")}, id="fast"),
    ],
)
def test_an_alias_is_served_by_its_target(
    client: openai.OpenAI, alias: str, answers: set[tuple[str, str]]
) -> None:
    assert set(served(client, alias)) == answers


def test_a_hosted_model_gets_its_key_and_no_node_ever_does(gateway: Gateway) -> None:
    assert chat(gateway.client(), "gpt-4o") == ("hello from openai", "gpt-4o@openai")
    key = f"Bearer {gateway.copy.env['OPENAI_API_KEY']}"
    provider = [r["authorization"] for f in gateway.fakes.by_name["openai"] for r in f.requests()]
    assert key in provider
    nodes = [
        r["authorization"]
        for name, fakes in gateway.fakes.by_name.items()
        if name != "openai"
        for f in fakes
        for r in f.requests()
    ]
    assert nodes and key not in nodes


@pytest.mark.parametrize(
    ("model", "node", "answer"),
    [
        pytest.param("llama3", "mini", ("hello from mini", "llama3@mini"), id="node"),
        pytest.param("chat", "ai-max", ("hello from ai-max", "llama3@ai-max"), id="alias-node"),
        pytest.param("llama3", "role:cpu", ("hello from mini", "llama3@mini"), id="role"),
        pytest.param(
            "code", "role:gpu", ("hello from ai-max", "deepseek-coder@ai-max"), id="alias-role-vllm"
        ),
    ],
)
def test_node_pins_every_request(
    gateway: Gateway, model: str, node: str, answer: tuple[str, str]
) -> None:
    assert served(gateway.client(), model, node, times=20) == Counter({answer: 20})


@pytest.mark.parametrize(
    ("model", "node", "expected"),
    [
        pytest.param("llama3", "mini", "hello from mini", id="ollama"),
        pytest.param("fast", "laptop", "hello from laptop", id="llamacpp"),
    ],
)
def test_a_pinned_stream_comes_from_the_node_and_ends_with_done(
    client: openai.OpenAI, model: str, node: str, expected: str
) -> None:
    for _ in range(5):
        text, lines = stream(client, model, node)
        assert text == expected
        assert len(lines) > 2 and lines[-1] == "data: [DONE]"


@pytest.mark.parametrize(
    ("model", "node", "message"),
    [
        pytest.param(
            "llama3",
            "ai-mx",
            f"unknown node 'ai-mx' in field 'node' (did you mean 'ai-max'?); {NODES_OF_LLAMA3}",
            id="unknown-node",
        ),
        pytest.param(
            "chat",
            "laptop",
            f"node 'laptop' does not serve 'chat'; {NODES_OF_LLAMA3}",
            id="wrong-node",
        ),
        pytest.param(
            "llama3",
            "role:edge",
            f"role 'edge' does not serve 'llama3'; {NODES_OF_LLAMA3}",
            id="wrong-role",
        ),
        pytest.param(
            "gpt-4o",
            "mini",
            "node 'mini' does not serve 'gpt-4o'; 'gpt-4o' is served by "
            "provider 'openai', not by a node; send it without 'node'",
            id="hosted",
        ),
    ],
)
def test_an_impossible_pin_is_a_400_naming_the_nodes(
    client: openai.OpenAI, model: str, node: str, message: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        chat(client, model, node)
    assert refused.value.status_code == 400
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["message"] == message


def test_a_long_prompt_moves_to_the_context_window_fallback(client: openai.OpenAI) -> None:
    """llama3 holds 8192 tokens; its context-window fallback is mistral (32768)."""
    long_prompt = "hello " * 12_000
    assert chat(client, "llama3", content=long_prompt) == ("hello from ai-max", "mistral@ai-max")
    assert chat(client, "llama3") in {
        ("hello from ai-max", "llama3@ai-max"),
        ("hello from mini", "llama3@mini"),
    }


def test_a_wrong_api_key_is_refused(gateway: Gateway) -> None:
    before = len(gateway.fakes.requests())
    with pytest.raises(openai.APIStatusError) as refused:
        chat(gateway.client(api_key="sk-not-the-master-key"), "llama3")
    # Without a database LiteLLM answers any key but the master key with 400 "No connected db."
    assert refused.value.status_code in (400, 401)
    assert len(gateway.fakes.requests()) == before


def test_the_master_key_comes_from_the_environment(gateway: Gateway) -> None:
    config = (gateway.out / "litellm" / "config.yaml").read_text("utf-8")
    assert "master_key: os.environ/JARVIS_MASTER_KEY" in config
    assert gateway.copy.master_key not in config
    assert chat(gateway.client(api_key=gateway.copy.master_key), "mistral")[1] == "mistral@ai-max"


def test_no_runtime_ever_sees_the_node_field(gateway: Gateway) -> None:
    bodies = [r["body"] for r in gateway.fakes.requests() if isinstance(r["body"], dict)]
    assert len(bodies) > 100
    leaked = {key for body in bodies for key in body} & {
        "node",
        "disable_fallbacks",
        "metadata",
        "tags",
        "jarvis_pin",
    }
    assert not leaked


# --- with nodes down (last: they change the proxy's cooldown state) -----------------------------


def test_strict_pin_to_a_stopped_node_fails_naming_the_cause(gateway: Gateway) -> None:
    client = gateway.client()
    with gateway.fakes.down("mini"):
        for call, where in (
            (lambda: chat(client, "llama3", "mini"), "node 'mini'"),
            (lambda: stream(client, "chat", "role:cpu"), "the nodes with role 'cpu' (mini)"),
        ):
            with pytest.raises(openai.APIStatusError) as failed:
                call()
            assert failed.value.status_code == 503
            assert isinstance(failed.value.body, dict)
            head = (
                f"{where} failed to serve 'llama3' and node_pinning is strict, so the "
                "request was not sent to another node: "
            )
            # in plain words, whichever noticed first: the request, a cooldown, a health check
            assert failed.value.body["message"] in {head + cause for cause in DOWN_CAUSES}
            assert "object at 0x" not in failed.value.body["message"]  # no Python repr
        # the other node keeps answering its pins
        assert chat(client, "llama3", "ai-max") == ("hello from ai-max", "llama3@ai-max")


def test_unpinned_requests_still_succeed_with_one_node_down(gateway: Gateway) -> None:
    client = gateway.client()
    with gateway.fakes.down("mini"):
        for model in ("llama3", "chat"):
            assert served(client, model) == Counter({("hello from ai-max", "llama3@ai-max"): MANY})


def test_a_model_falls_back_to_another_model_when_all_its_nodes_are_down(gateway: Gateway) -> None:
    client = gateway.client()
    with gateway.fakes.down("ai-max", "mini"):
        for model in ("llama3", "chat"):
            assert served(client, model, times=5) == Counter(
                {("hello from openai", "gpt-4o@openai"): 5}
            )
        # a single-node model retries its node first (routing.num_retries), then falls back
        assert chat(client, "code") == ("hello from openai", "gpt-4o@openai")
