"""Conversation affinity (`routing.affinity: prefix`, the default) on the stock proxy.

llama3 runs on three nodes (a, b, c); node d serves another model only. Conversations are sent
as clients send them: each turn repeats the whole history, some with a session id (the header
`x-litellm-session-id`, the header `X-Jarvis-Session`, or `metadata.session_id` in the body),
most without. Later turns must stay on their conversation's node, first turns must spread over
the three nodes, a second proxy on the same files (a replica sharing nothing) must pick the same
nodes, and a frozen node's conversations must move to the node their own ranking names next
within the resilience budget (docs/resilience.md), stay there while it is down, and return
when it is back.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.callback.test_jarvis_router import load_callback
from tests.e2e.harness import Gateway, start_proxy

openai = pytest.importorskip(
    "openai", reason="the end-to-end tests drive the gateway with the openai SDK (the test extra)"
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
NODES = ("a", "b", "c")
MESH = """\
version: 1
gateway: {master_key: "${JARVIS_MASTER_KEY}"}
routing: {cooldown: 10}
nodes:
  a: {address: a.lan, roles: [gpu], memory_gb: 16, runtimes: {ollama: {}}}
  b: {address: b.lan, roles: [gpu], memory_gb: 16, runtimes: {ollama: {}}}
  c: {address: c.lan, roles: [gpu], memory_gb: 16, runtimes: {ollama: {}}}
  d: {address: d.lan, roles: [cpu], memory_gb: 16, runtimes: {ollama: {}}}
models:
  llama3: {runtime: ollama, source: "llama3:8b", memory_gb: 6, placement: {roles: [gpu]}}
  phi3: {runtime: ollama, source: "phi3:mini", memory_gb: 3, placement: {nodes: [d]}}
"""
SYSTEM = {"role": "system", "content": "You are a helpful assistant for a home lab."}
CONVERSATIONS = 30
TURNS = 6
LEFT_ALONE = 30.0  # docs/resilience.md: a frozen node gets no unpinned request after this
PROBE_TIMEOUT = 3.0  # a probe of a frozen node's conversation is given up after this


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    source = tmp_path_factory.mktemp("affinity-src") / "jarvis.yaml"
    source.write_text(MESH, encoding="utf-8")
    with Gateway.start(Path(source), tmp_path_factory.mktemp("affinity")) as gw:
        yield gw


@pytest.fixture(scope="module")
def callback(gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The callback the proxy runs, loaded here too, to ask it how it ranks the nodes."""
    folder = gateway.out / "litellm"
    names = ("routes.json", "jarvis_router.py")
    files = {name: (folder / name).read_text(encoding="utf-8") for name in names}
    return load_callback(tmp_path_factory.mktemp("ranking"), files)


class Conversation:
    """A client's conversation: every turn sends the history so far and appends the answer."""

    def __init__(self, opening: str, **send: Any) -> None:
        self.messages: list[dict[str, str]] = [SYSTEM, {"role": "user", "content": opening}]
        self.send = send  # extra_headers / metadata / extra_body, as the SDK takes them
        self.nodes: list[str] = []

    def turn(self, client: Any) -> str:
        raw = client.chat.completions.with_raw_response.create(
            model="llama3", messages=self.messages, **self.send
        )
        answer = raw.parse().choices[0].message.content
        node = raw.headers.get("x-litellm-model-id", "").removeprefix("llama3@")
        self.messages += [
            {"role": "assistant", "content": answer},
            {"role": "user", "content": f"and then? ({len(self.nodes) + 2})"},
        ]
        self.nodes.append(node)
        return node


def stayed(conversations: list[Conversation]) -> float:
    """The share of later turns answered by the node that answered the conversation's first."""
    later = [node == c.nodes[0] for c in conversations for node in c.nodes[1:]]
    return sum(later) / len(later)


def test_later_turns_stay_and_first_turns_spread(gateway: Gateway) -> None:
    client = gateway.client()
    conversations = [Conversation(f"question number {i}") for i in range(CONVERSATIONS)]
    for _ in range(TURNS):
        for conversation in conversations:
            conversation.turn(client)
    assert stayed(conversations) >= 0.95
    first = Counter(c.nodes[0] for c in conversations)
    assert set(first) == set(NODES), first  # never node d: it does not serve llama3
    assert min(first.values()) >= CONVERSATIONS // 6, first


@pytest.mark.parametrize(
    "how",
    [
        pytest.param(lambda s: {"extra_headers": {"x-litellm-session-id": s}}, id="litellm-header"),
        pytest.param(lambda s: {"extra_headers": {"X-Jarvis-Session": s}}, id="jarvis-header"),
        pytest.param(lambda s: {"metadata": {"session_id": s}}, id="body-metadata"),
    ],
)
def test_a_session_id_keeps_requests_together(gateway: Gateway, how: Any) -> None:
    """Each request of a session opens differently (as a client that trims or rewrites its
    history does): the session id alone holds them on one node."""
    client = gateway.client()
    sessions: dict[str, list[str]] = {f"session-{uuid.uuid4().hex[:12]}": [] for _ in range(12)}
    for session, nodes in sessions.items():
        for i in range(4):
            nodes.append(Conversation(f"{session} request {i}", **how(session)).turn(client))
    assert all(len(set(nodes)) == 1 for nodes in sessions.values()), sessions
    assert len({nodes[0] for nodes in sessions.values()}) >= 2, sessions


def test_a_node_pin_outweighs_affinity(gateway: Gateway) -> None:
    client = gateway.client()
    conversation = Conversation("pinned elsewhere")
    home = conversation.turn(client)
    other = next(n for n in NODES if n != home)
    conversation.send = {"extra_body": {"node": other}}
    assert [conversation.turn(client) for _ in range(3)] == [other] * 3


def test_a_replica_sharing_nothing_picks_the_same_nodes(gateway: Gateway) -> None:
    """A second proxy on the same files: each gateway process decides alone, and agrees."""
    config = gateway.out / "litellm" / "config.yaml"
    replica = start_proxy(config, gateway.copy.env)
    try:
        with openai.OpenAI(
            base_url=replica.url, api_key=gateway.copy.master_key, max_retries=0, timeout=60
        ) as other:
            conversations = [Conversation(f"replica question {i}") for i in range(12)]
            for turn in range(4):
                for conversation in conversations:
                    conversation.turn(gateway.client() if turn % 2 == 0 else other)
    finally:
        replica.stop()
    assert stayed(conversations) == 1.0


def expected_next(callback: ModuleType, conversation: Conversation, down: str) -> str:
    """The node the conversation's own ranking names once `down` has dropped out."""
    key = callback.conversation_key("prefix", conversation.messages, {}, "")
    left = [{"model_info": {"id": f"llama3@{n}"}} for n in NODES if n != down]
    return str(callback.first_choice(key, left)["model_info"]["id"]).removeprefix("llama3@")


def probe(gateway: Gateway, conversation: Conversation) -> str | None:
    """The conversation's next turn with a short client timeout: None while it hangs."""
    client = gateway.client().with_options(timeout=PROBE_TIMEOUT)
    with contextlib.suppress(openai.APITimeoutError):
        return conversation.turn(client)
    return None


def test_a_frozen_nodes_conversations_move_stay_moved_and_return(
    gateway: Gateway, callback: ModuleType
) -> None:
    client = gateway.client()
    conversations = [Conversation(f"freeze question {i}") for i in range(24)]
    for conversation in conversations:
        conversation.turn(client)
    down = Counter(c.nodes[0] for c in conversations).most_common(1)[0][0]
    moving = [c for c in conversations if c.nodes[0] == down]
    staying = [c for c in conversations if c.nodes[0] != down]
    for runtime in gateway.fakes.by_name[down]:
        runtime.fault = "freeze"
    frozen_at = time.monotonic()
    try:
        while probe(gateway, moving[0]) in (None, down):
            assert time.monotonic() - frozen_at < LEFT_ALONE + PROBE_TIMEOUT, "never moved"
        moved_after = time.monotonic() - frozen_at
        for _ in range(3):
            for conversation in moving + staying:
                conversation.turn(client)
        for conversation in moving:
            assert conversation.nodes[-3:] == [expected_next(callback, conversation, down)] * 3
        for conversation in staying:
            assert set(conversation.nodes) == {conversation.nodes[0]}
    finally:
        for runtime in gateway.fakes.by_name[down]:
            runtime.fault = None
    print(f"the frozen node's conversations moved after {moved_after:.1f} s")
    assert moved_after < LEFT_ALONE, f"moved after {moved_after:.1f} s"
    # back: once its cooldown is over and a health check passes, its conversations return
    back_by = time.monotonic() + 60
    while moving[0].turn(client) != down:
        assert time.monotonic() < back_by, "the node's conversations did not return"
        time.sleep(1)
