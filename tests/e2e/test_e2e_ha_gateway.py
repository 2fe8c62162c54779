"""The ha-gateway mesh end to end (least-busy routing, strict pinning, two vLLM nodes sharing
the role gpu). Redis and Postgres belong to the compose stacks; the harness runs one replica
without them. What this adds to the other modules: a strict pin to a role that several nodes
share stays within the role and survives one of them going down.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.harness import Gateway, chat, served

openai = pytest.importorskip(
    "openai", reason="the e2e tests drive the gateway through the openai SDK (the test extra)"
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXAMPLE = "ha-gateway"  # served by the gateway fixture (conftest.py)
BOTH = {
    ("hello from inference-1", "llama3-8b@inference-1"),
    ("hello from inference-2", "llama3-8b@inference-2"),
}


def test_least_busy_routing_uses_both_nodes_under_concurrent_load(gateway: Gateway) -> None:
    """least-busy picks the node with the fewest requests in flight, so one client asking in
    turn always gets the first node; concurrent clients spread."""
    client = gateway.client()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = set(pool.map(lambda i: chat(client, "chat", content=f"hi {i}"), range(64)))
    assert answers == BOTH


def test_a_role_pin_spreads_over_the_role(gateway: Gateway) -> None:
    assert set(served(gateway.client(), "llama3-8b", "role:gpu")) == BOTH


def test_a_strict_role_pin_survives_one_node_of_the_role(gateway: Gateway) -> None:
    client = gateway.client()
    with gateway.fakes.down("inference-2"):
        assert served(client, "chat", "role:gpu") == Counter(
            {("hello from inference-1", "llama3-8b@inference-1"): 30}
        )
        with pytest.raises(openai.APIStatusError) as failed:
            chat(client, "chat", "inference-2")
        assert failed.value.status_code == 503
        assert isinstance(failed.value.body, dict)
        assert failed.value.body["message"].startswith(
            "node 'inference-2' failed to serve 'llama3-8b' and node_pinning is strict"
        )
