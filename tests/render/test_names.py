"""The collision check renderers share (`render.names`), and the identifiers of every example.

A Kubernetes renderer will call `collisions` with its own claims and `fold=str.lower`; these
tests pin that contract, and check that no example's generated identifiers repeat.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kit import compile_mesh, example_params

from jarvis_config import pipeline
from jarvis_config.render.names import Claim, collisions, compose_claims


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


def test_a_renderer_with_stricter_names_folds_them() -> None:
    """Kubernetes object names are lowercase: `Mini` and `mini` meet there."""
    claims = [
        Claim("Deployment", "mini-ollama", "node 'mini'", ("nodes", "mini")),
        Claim("Deployment", "Mini-ollama", "node 'Mini'", ("nodes", "Mini")),
    ]
    assert collisions(claims) == []
    assert len(collisions(claims, fold=str.lower)) == 1


def test_case_insensitive_claims_meet_without_fold() -> None:
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
