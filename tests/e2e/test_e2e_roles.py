"""The roles mesh served end to end (placement by role, node_pinning: prefer).

mistral and the embedding model nomic-embed run on the two GPU rigs (Ollama), phi3-mini on the
two edge nodes (llama.cpp server), llama3-70b on rig-1 alone (vLLM). One proxy for the module;
tests that stop nodes come last.
"""

from __future__ import annotations

from collections import Counter

import pytest

from jarvis_config.standin import node_vector
from tests.e2e.harness import Gateway, chat, embed, served, stream

openai = pytest.importorskip(
    "openai", reason="the e2e tests drive the gateway through the openai SDK (the test extra)"
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXAMPLE = "roles"  # served by the gateway fixture (conftest.py)
MANY = 30


def test_models_and_aliases_are_listed(client: openai.OpenAI) -> None:
    assert {m.id for m in client.models.list().data} == {
        "llama3-70b",
        "mistral",
        "nomic-embed",
        "phi3-mini",
        "fast",
        "smart",
    }


@pytest.mark.parametrize(
    ("model", "answers"),
    [
        pytest.param(
            "mistral",
            {("hello from rig-1", "mistral@rig-1"), ("hello from rig-2", "mistral@rig-2")},
            id="ollama-on-gpu-role",
        ),
        pytest.param(
            "fast",
            {("hello from edge-1", "phi3-mini@edge-1"), ("hello from edge-2", "phi3-mini@edge-2")},
            id="alias-on-edge-role",
        ),
        pytest.param("smart", {("hello from rig-1", "llama3-70b@rig-1")}, id="alias-single-node"),
    ],
)
def test_role_placement_spreads_over_every_node(
    client: openai.OpenAI, model: str, answers: set[tuple[str, str]]
) -> None:
    assert set(served(client, model)) == answers


@pytest.mark.parametrize(
    ("model", "node", "answers"),
    [
        pytest.param(
            "phi3-mini",
            "role:edge",
            {("hello from edge-1", "phi3-mini@edge-1"), ("hello from edge-2", "phi3-mini@edge-2")},
            id="role-of-two-nodes",
        ),
        pytest.param(
            "mistral",
            "role:big-vram",
            {("hello from rig-1", "mistral@rig-1")},
            id="role-of-one-node",
        ),
        pytest.param("mistral", "rig-2", {("hello from rig-2", "mistral@rig-2")}, id="node"),
        pytest.param(
            "fast", "edge-1", {("hello from edge-1", "phi3-mini@edge-1")}, id="alias-node"
        ),
    ],
)
def test_pins_keep_every_request_on_their_nodes(
    client: openai.OpenAI, model: str, node: str, answers: set[tuple[str, str]]
) -> None:
    assert set(served(client, model, node)) == answers


def embedded_by(client: openai.OpenAI, node: str | None, times: int) -> Counter[tuple[str, str]]:
    """Which node's vector came back, and from which deployment, over `times` requests."""
    by_vector = {node_vector(name)[0]: name for name in ("rig-1", "rig-2")}
    seen: Counter[tuple[str, str]] = Counter()
    for _ in range(times):
        vectors, served_by = embed(client, "nomic-embed", node)
        assert len(vectors) == 2 and vectors[0] == vectors[1]
        seen[by_vector[vectors[0][0]], served_by] += 1
    return seen


def test_unpinned_embeddings_come_from_a_rig_that_serves_them(client: openai.OpenAI) -> None:
    # Embeddings carry no conversation, so the routing strategy alone picks the node (the
    # default least-busy gives an idle mesh's requests to the first node it lists); each
    # answer's vector is the node's own and its deployment is that node's.
    seen = embedded_by(client, None, MANY)
    assert seen and set(seen) <= {
        ("rig-1", "nomic-embed@rig-1"),
        ("rig-2", "nomic-embed@rig-2"),
    }


def test_a_pinned_embeddings_request_stays_on_its_node(
    gateway: Gateway, client: openai.OpenAI
) -> None:
    def embed_bodies() -> list[dict[str, object]]:
        return [r["body"] for r in gateway.fakes.requests() if r["path"] == "/api/embed"]

    before = len(embed_bodies())
    assert embedded_by(client, "rig-2", 10) == Counter({("rig-2", "nomic-embed@rig-2"): 10})
    bodies = embed_bodies()[before:]
    assert len(bodies) == 10
    assert all(b["input"] == ["a", "b"] and "node" not in b for b in bodies)


def test_a_pinned_openai_compatible_stream_ends_with_done(client: openai.OpenAI) -> None:
    text, lines = stream(client, "fast", "edge-2")
    assert text == "hello from edge-2"
    assert lines[-1] == "data: [DONE]"


def test_a_node_without_the_model_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        chat(client, "smart", "edge-1")
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["message"] == (
        "node 'edge-1' does not serve 'smart'; nodes serving 'llama3-70b': rig-1 (gpu, "
        "big-vram); or pin a role: role:big-vram, role:gpu"
    )


def test_no_runtime_ever_sees_the_node_field(gateway: Gateway) -> None:
    bodies = [r["body"] for r in gateway.fakes.requests() if isinstance(r["body"], dict)]
    assert len(bodies) > 100
    assert not {key for body in bodies for key in body} & {"node", "metadata", "jarvis_pin"}


# --- with nodes down ----------------------------------------------------------------------------


def test_prefer_falls_back_to_the_other_node(gateway: Gateway) -> None:
    client = gateway.client()
    with gateway.fakes.down("rig-2"):
        assert served(client, "mistral", "rig-2", times=3) == Counter(
            {("hello from rig-1", "mistral@rig-1"): 3}
        )
        assert served(client, "mistral", "role:gpu", times=10) == Counter(
            {("hello from rig-1", "mistral@rig-1"): 10}
        )
        assert served(client, "mistral") == Counter({("hello from rig-1", "mistral@rig-1"): MANY})


def test_prefer_falls_back_for_a_streamed_role_pin(gateway: Gateway) -> None:
    client = gateway.client()
    with gateway.fakes.down("edge-1"):
        for _ in range(5):
            text, lines = stream(client, "fast", "role:edge")
            assert (text, lines[-1]) == ("hello from edge-2", "data: [DONE]")
        assert served(client, "phi3-mini") == Counter(
            {("hello from edge-2", "phi3-mini@edge-2"): MANY}
        )
