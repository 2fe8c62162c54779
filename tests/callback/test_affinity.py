"""Conversation affinity in the gateway callback (`routing.affinity`): the rendezvous hashing
that keeps a conversation's turns on one node, called as the router calls it.

The router hands `async_filter_deployments` the deployments of a group it still finds healthy;
these tests pass such lists directly (a node left out is a node the router found unhealthy or
cooling down). The stock proxy's part is in tests/e2e/test_e2e_affinity.py.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from jarvis_config.render import litellm as target
from tests.callback.test_jarvis_router import load_callback
from tests.kit import compile_mesh

NODES = ("a", "b", "c")
MESH = """\
version: 1
gateway: {{master_key: "${{JARVIS_MASTER_KEY}}"}}
routing: {{affinity: {affinity}}}
aliases: {{chat: llama3}}
nodes:
  a: {{address: a.lan, roles: [gpu], memory_gb: 16, runtimes: {{ollama: {{}}}}}}
  b: {{address: b.lan, roles: [gpu], memory_gb: 16, runtimes: {{ollama: {{}}}}}}
  c: {{address: c.lan, roles: [gpu, big], memory_gb: 16, runtimes: {{ollama: {{}}}}}}
  d: {{address: d.lan, roles: [big], memory_gb: 16, runtimes: {{ollama: {{}}}}}}
models:
  llama3: {{runtime: ollama, source: "llama3:8b", memory_gb: 6, placement: {{roles: [gpu]}}}}
  phi3: {{runtime: ollama, source: "phi3:mini", memory_gb: 3, placement: {{nodes: [d]}}}}
  mistral: {{runtime: ollama, source: "mistral", memory_gb: 3, placement: {{roles: [big]}}}}
"""
SYSTEM = {"role": "system", "content": "You are a helpful assistant."}


def build_callback(folder: Path, affinity: str) -> ModuleType:
    source = folder / "jarvis.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    source.write_text(MESH.format(affinity=affinity), encoding="utf-8")
    return load_callback(folder / "litellm", target.render(compile_mesh(source)))


@pytest.fixture(scope="module")
def prefix(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return build_callback(tmp_path_factory.mktemp("prefix"), "prefix")


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return build_callback(tmp_path_factory.mktemp("session"), "session")


def deployments(model: str = "llama3", nodes: tuple[str, ...] = NODES) -> list[dict[str, Any]]:
    """Deployments as the router passes them (the parts the callback reads)."""
    return [
        {"model_name": f"{model}@{n}", "model_info": {"id": f"{model}@{n}", "node": n}}
        for n in nodes
    ]


def conversation(opening: str, turns: int) -> list[dict[str, str]]:
    """A conversation's history as its turn `turns` sends it (turn 1: system and question)."""
    messages = [SYSTEM, {"role": "user", "content": opening}]
    for turn in range(2, turns + 1):
        messages += [
            {"role": "assistant", "content": f"answer {turn - 1}"},
            {"role": "user", "content": f"question {turn}"},
        ]
    return messages


def kwargs_with(headers: dict[str, str] | None = None, **metadata: Any) -> dict[str, Any]:
    """The router's request kwargs, as the proxy fills them (headers lower-cased)."""
    return {"proxy_server_request": {"headers": headers or {}}, "metadata": metadata}


def pick(
    module: ModuleType,
    group: str = "llama3",
    messages: Any = None,
    kwargs: dict[str, Any] | None = None,
    nodes: tuple[str, ...] = NODES,
) -> list[str]:
    """The nodes the callback leaves the router for one request."""
    model = group.split("@")[0] if "@" in group else group
    model = "llama3" if model == "chat" else model
    handler = module.proxy_handler_instance
    kept = asyncio.run(
        handler.async_filter_deployments(group, deployments(model, nodes), messages, kwargs or {})
    )
    return [d["model_info"]["node"] for d in kept]


def test_every_turn_of_a_conversation_goes_to_one_node(prefix: ModuleType) -> None:
    for opening in ("plan a trip", "fix this bug", "write a poem"):
        chosen = {tuple(pick(prefix, messages=conversation(opening, t))) for t in range(1, 11)}
        assert len(chosen) == 1 and len(next(iter(chosen))) == 1, chosen


def test_first_turns_spread_evenly_over_the_nodes(prefix: ModuleType) -> None:
    first = Counter(pick(prefix, messages=conversation(f"question {i}", 1))[0] for i in range(3000))
    assert set(first) == set(NODES)
    assert all(900 <= count <= 1100 for count in first.values()), first


def test_another_system_prompt_is_another_conversation(prefix: ModuleType) -> None:
    def node(system: str) -> str:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": "hi"}]
        return pick(prefix, messages=messages)[0]

    assert len({node(f"You are assistant number {i}.") for i in range(30)}) == len(NODES)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param(kwargs_with({"x-jarvis-session": "sess-42"}), id="x-jarvis-session"),
        # the proxy puts the x-litellm-session-id header and the body's metadata.session_id here
        pytest.param(kwargs_with(session_id="sess-42"), id="litellm-session-id"),
    ],
)
def test_a_session_id_outweighs_the_opening(prefix: ModuleType, kwargs: dict[str, Any]) -> None:
    by_session = pick(prefix, messages=conversation("question 0", 1), kwargs=kwargs)
    for i in range(1, 20):
        assert pick(prefix, messages=conversation(f"question {i}", 3), kwargs=kwargs) == by_session


def test_the_three_ways_of_sending_a_session_id_agree(prefix: ModuleType) -> None:
    for i in range(20):
        ways = {
            tuple(pick(prefix, messages=[], kwargs=kwargs_with({"x-jarvis-session": f"s{i}"}))),
            tuple(pick(prefix, messages=[], kwargs=kwargs_with(session_id=f"s{i}"))),
        }
        assert len(ways) == 1


def test_a_session_id_litellm_generated_is_no_session(session: ModuleType) -> None:
    generated = kwargs_with(session_id="made-up", litellm_session_id_generated=True)
    assert pick(session, messages=conversation("hi", 1), kwargs=generated) == list(NODES)


def test_session_mode_leaves_requests_without_an_id_to_the_strategy(session: ModuleType) -> None:
    assert pick(session, messages=conversation("hi", 4)) == list(NODES)
    assert len(pick(session, messages=[], kwargs=kwargs_with({"x-jarvis-session": "s"}))) == 1


def test_off_leaves_every_request_to_the_strategy(tmp_path: Path) -> None:
    off = build_callback(tmp_path, "off")
    kwargs = kwargs_with({"x-jarvis-session": "sess-42"})
    assert pick(off, messages=conversation("hi", 4), kwargs=kwargs) == list(NODES)


def test_a_failed_node_hands_on_only_its_own_conversations(prefix: ModuleType) -> None:
    """Rendezvous: with node b out of the healthy list, b's conversations move to the node
    their own ranking names next (spread over a and c), and no other conversation moves."""
    openings = [f"conversation {i}" for i in range(600)]
    before = {o: pick(prefix, messages=conversation(o, 2))[0] for o in openings}
    after = {o: pick(prefix, messages=conversation(o, 2), nodes=("a", "c"))[0] for o in openings}
    moved = {o for o in openings if before[o] != after[o]}
    assert moved == {o for o in openings if before[o] == "b"}
    assert Counter(after[o] for o in moved).keys() == {"a", "c"}
    # back in the list, b gets its conversations back
    assert {o: pick(prefix, messages=conversation(o, 2))[0] for o in openings} == before


def test_the_choice_ignores_the_order_the_router_lists_nodes_in(prefix: ModuleType) -> None:
    for i in range(50):
        messages = conversation(f"question {i}", 2)
        assert pick(prefix, messages=messages) == pick(
            prefix, messages=messages, nodes=tuple(reversed(NODES))
        )


def test_the_choice_is_the_same_in_every_process(prefix: ModuleType, tmp_path: Path) -> None:
    """Each gateway worker and replica is its own process, with its own hash seed."""
    script = tmp_path / "choose.py"
    script.write_text(
        "import hashlib, json, sys\n"
        f"sys.path.insert(0, {str(Path(prefix.__file__).parent)!r})\n"
        "import jarvis_router as cb\n"
        "deployments = [{'model_info': {'id': f'llama3@{n}'}} for n in 'abc']\n"
        "keys = [cb.conversation_key('prefix', [{'role': 'user', 'content': f'q{i}'}], {}, '')\n"
        "        for i in range(40)]\n"
        "print(json.dumps([cb.first_choice(k, deployments)['model_info']['id'] for k in keys]))\n",
        encoding="utf-8",
    )
    runs = {
        subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1
    assert set(json.loads(runs.pop())) == {"llama3@a", "llama3@b", "llama3@c"}


def test_a_role_pin_keeps_conversations_inside_the_role(prefix: ModuleType) -> None:
    chosen = {
        pick(prefix, "mistral@role:big", conversation(f"q{i}", 2), nodes=("c", "d"))[0]
        for i in range(40)
    }
    assert chosen == {"c", "d"}


@pytest.mark.parametrize(
    ("group", "nodes"),
    [
        pytest.param("llama3@b", ("b",), id="node-pin"),
        pytest.param("phi3", ("d",), id="one-node"),
        pytest.param("mistral@c", ("c",), id="fallback-hop-to-a-node"),
    ],
)
def test_a_group_of_one_node_is_left_alone(
    prefix: ModuleType, group: str, nodes: tuple[str, ...]
) -> None:
    assert pick(prefix, group, conversation("hi", 3), nodes=nodes) == list(nodes)


def test_an_alias_sticks_like_its_model(prefix: ModuleType) -> None:
    for i in range(20):
        messages = conversation(f"q{i}", 2)
        assert pick(prefix, "chat", messages) == pick(prefix, "llama3", messages)


def test_the_choice_is_always_one_of_the_nodes_given(prefix: ModuleType) -> None:
    for nodes in (("a",), ("a", "c"), ("c", "b"), NODES):
        for i in range(30):
            kept = pick(prefix, messages=conversation(f"q{i}", 2), nodes=nodes)
            assert len(kept) == (1 if len(nodes) > 1 else len(nodes)) and kept[0] in nodes


def test_deployments_the_router_skips_for_this_request_are_not_chosen(prefix: ModuleType) -> None:
    messages = conversation("q1", 2)
    first = pick(prefix, messages=messages)[0]
    skip = kwargs_with() | {"_excluded_deployment_ids": [f"llama3@{first}"]}
    second = pick(prefix, messages=messages, kwargs=skip)
    assert second and second[0] != first
    assert second == pick(prefix, messages=messages, nodes=tuple(n for n in NODES if n != first))


def test_embeddings_and_odd_messages_are_left_to_the_strategy(prefix: ModuleType) -> None:
    assert pick(prefix, messages=None) == list(NODES)  # embeddings: no messages
    assert pick(prefix, messages=[{"role": "system", "content": "x"}]) == list(NODES)
    assert pick(prefix, messages=["not a message"]) == list(NODES)
    parts = [{"role": "user", "content": [{"type": "text", "text": "look"}]}]
    assert len(pick(prefix, messages=parts)) == 1
