"""prefer on a model with more nodes than a node's fallback list holds, on the stock proxy.

llama3 runs on six nodes; under node_pinning: prefer each node's group falls back to the next
four nodes of the model's ring, then to the declared fallback `spare`. A pin to ring-1 with
ring-1 to ring-5 down must still reach ring-6, which only ring-2's list (and later ones) name:
LiteLLM walks a failed fallback's own fallbacks. With every ring node down, the declared
fallback answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Gateway, served

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
RING = [f"ring-{i}" for i in range(1, 7)]
NODE = (
    "  {name}: {{address: {name}.lan, roles: [{role}], memory_gb: 8, runtimes: {{ollama: {{}}}}}}"
)
MESH = """\
version: 1
gateway: {{master_key: "${{JARVIS_MASTER_KEY}}"}}
routing:
  node_pinning: prefer
  fallbacks: {{llama3: [spare]}}
nodes:
{nodes}
models:
  llama3: {{runtime: ollama, source: "llama3:8b", memory_gb: 6, placement: {{roles: [gpu]}}}}
  spare: {{runtime: ollama, source: "phi3:mini", memory_gb: 3, placement: {{nodes: [spare-1]}}}}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    roles = {**dict.fromkeys(RING, "gpu"), "spare-1": "cpu"}  # llama3 only on the ring
    source = tmp_path_factory.mktemp("ring-src") / "jarvis.yaml"
    nodes = "\n".join(NODE.format(name=name, role=role) for name, role in roles.items())
    source.write_text(MESH.format(nodes=nodes), encoding="utf-8")
    with Gateway.start(Path(source), tmp_path_factory.mktemp("ring")) as gw:
        yield gw


def test_a_node_pin_walks_the_ring_past_its_own_list(gateway: Gateway) -> None:
    client = gateway.client()
    assert served(client, "llama3", "ring-1", times=2) == Counter(
        {("hello from ring-1", "llama3@ring-1"): 2}
    )
    with gateway.fakes.down(*RING[:5]):
        assert served(client, "llama3", "ring-1", times=3) == Counter(
            {("hello from ring-6", "llama3@ring-6"): 3}
        )


def test_with_every_node_down_the_declared_fallback_answers(gateway: Gateway) -> None:
    client = gateway.client()
    with gateway.fakes.down(*RING):
        assert served(client, "llama3", "ring-3", times=2) == Counter(
            {("hello from spare-1", "spare@spare-1"): 2}
        )
