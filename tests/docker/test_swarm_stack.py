"""The rendered Swarm stack deployed for real: `docker stack deploy` on a single-node swarm.

The homelab example is built with its nodes pointed at fake runtimes and its runtime ports moved
to free ones; the machine is labelled as the gateway and as mesh node `mini`. Then: every
service of the stack runs (placement constraints met by the labels, healthchecks passing, the
gateway reading its config, routing table and callback from swarm configs), `mini`'s own rendered
Ollama service answers on its host-mode port on 127.0.0.1, and chat completions through the
gateway's published port, with the official openai SDK, reach exactly the pinned node, while
unpinned ones reach the model's nodes. Everything is removed afterwards, failed or not.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from jarvis_config.model.servers import MODELS_DIR_VAR
from tests.docker.stack import ContainerCopy, container_copy, write_env
from tests.docker.swarm import SwarmStack, node_labels, single_node_swarm
from tests.docker.test_gateway_stack import PINNED_REQUESTS, gateway_client, pinned_answers
from tests.e2e.harness import build
from tests.kit import EXAMPLES_DIR as EXAMPLES

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MODEL = "llama3"
HERE = "mini"  # the mesh node this machine stands in for
UNPINNED_REQUESTS = 8


def swarm_copy(tmp_path: Path) -> tuple[ContainerCopy, Path]:
    """The homelab example pointed at fakes, built, with its env file."""
    copy = container_copy(EXAMPLES / "homelab", tmp_path / "mesh", free_runtime_ports=True)
    out = build(copy.path, tmp_path / "out", copy.env)
    models = tmp_path / "models"  # llama.cpp's GGUF folder: a bind mount needs a real path
    models.mkdir()
    write_env(out, {**copy.env, MODELS_DIR_VAR: str(models)})
    return copy, out


def answers_through_the_gateway(copy: ContainerCopy, nodes: list[str]) -> None:
    """Pinned requests reach exactly their node; unpinned ones reach the model's nodes."""
    with gateway_client(copy.port, copy.master_key) as client:
        for node in nodes:
            assert pinned_answers(client, MODEL, node) == [f"hello from {node}"] * PINNED_REQUESTS
        unpinned = {
            client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": f"hi {i}"}]
            )
            .choices[0]
            .message.content
            for i in range(UNPINNED_REQUESTS)
        }
    assert unpinned and unpinned <= {f"hello from {node}" for node in nodes}


@pytest.mark.usefixtures("local_images")
def test_homelab_swarm_stack_serves_pinned_and_unpinned_requests_and_leaves_nothing(
    engine: Any, tmp_path: Path
) -> None:
    copy, out = swarm_copy(tmp_path)
    here = copy.mesh.node(HERE)
    ollama = here.runtime("ollama")
    assert ollama is not None
    nodes = [d.node for d in copy.mesh.deployments_of(MODEL) if d.node]
    with single_node_swarm(engine) as swarm, node_labels(swarm, here):
        with SwarmStack.deploy(engine, out, copy.mesh, here) as stack:
            states = stack.wait_running()
            assert states["gateway"] == "running" and states[f"{HERE}-ollama"] == "running"
            assert states["ai-max-ollama"] == "scaled to 0"
            # mini's own rendered service, published in host mode on this machine
            url = f"http://127.0.0.1:{ollama.port}/api/tags"
            with urllib.request.urlopen(url, timeout=10) as answer:
                assert answer.status == 200 and isinstance(json.load(answer), dict)
            answers_through_the_gateway(copy, nodes)
        empty: dict[str, list[str]] = {
            "services": [],
            "containers": [],
            "networks": [],
            "configs": [],
        }
        assert stack.leftovers() == empty
