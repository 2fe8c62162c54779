"""The collision check of generated identifiers (`model.names`): it names both sources, the
compose target generates exactly the service names it claims, and no example repeats one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jarvis_config import pipeline
from jarvis_config.model.names import Claim, collisions, compose_claims, node_services
from tests.kit import compile_mesh, example_params


def test_collisions_name_both_sources_and_ignore_one_source_claiming_twice() -> None:
    claims = [
        Claim(
            "Swarm service", "a-vllm-b-ollama", "node 'a', service 'vllm-b-ollama'", ("nodes", "a")
        ),
        Claim(
            "Swarm service", "a-vllm-b-ollama", "node 'a-vllm-b', service 'ollama'", ("nodes", "x")
        ),
        Claim("Swarm service", "gateway", "the gateway", ("gateway",)),
        Claim("Swarm service", "gateway", "the gateway", ("gateway",)),
        Claim("output folder", "a-vllm-b-ollama", "node 'z'", ("nodes", "z")),  # another kind
    ]
    [(first, second)] = collisions(claims)
    assert (first.source, second.source) == (claims[0].source, claims[1].source)


def test_case_insensitive_claims_meet() -> None:
    claims = [
        Claim("output folder", "compose/nodes/mini", "node 'mini'", ("nodes", "mini"), True),
        Claim("output folder", "compose/nodes/MINI", "node 'MINI'", ("nodes", "MINI"), True),
    ]
    assert len(collisions(claims)) == 1


@pytest.mark.parametrize("example", example_params())
def test_no_example_repeats_a_generated_identifier(example: Path) -> None:
    mesh = compile_mesh(example)
    assert collisions(compose_claims(mesh)) == []
    stack = yaml.safe_load(pipeline.render(mesh)["compose/swarm/stack.yaml"])
    configs = [c["source"] for s in stack["services"].values() for c in s.get("configs", [])]
    assert len(set(stack.get("configs", {}))) == len(stack.get("configs", {}))
    assert set(configs) <= set(stack.get("configs", {}))


@pytest.mark.parametrize("example", example_params())
def test_the_claimed_services_are_the_rendered_swarm_services(example: Path) -> None:
    mesh = compile_mesh(example)
    stack = yaml.safe_load(pipeline.render(mesh)["compose/swarm/stack.yaml"])
    claimed = {f"{n.name}-{s}" for n in mesh.nodes for s in node_services(mesh, n)}
    fixed = {"gateway", "redis", "postgres"}
    assert set(stack["services"]) - fixed == claimed
