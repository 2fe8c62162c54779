"""The routing plan on its own: groups, pins and fallback chains under each pinning policy,
from a mesh built in the test (no rendering, no proxy)."""

from __future__ import annotations

from typing import Any

from jarvis_config.model.mesh import build_mesh
from jarvis_config.model.routing import RoutingPlan, plan


def routing_plan(pinning: str, **routing: Any) -> RoutingPlan:
    node = {"runtimes": {"ollama": {}}}
    return plan(
        build_mesh(
            {
                "version": 1,
                "nodes": {
                    "a": {**node, "address": "a.lan", "roles": ["gpu"]},
                    "b": {**node, "address": "b.lan", "roles": ["gpu"]},
                    "c": {**node, "address": "c.lan", "roles": ["cpu"]},
                },
                "providers": {"openai": {"kind": "openai", "api_key": "${K}"}},
                "models": {
                    "llama3": {
                        "runtime": "ollama",
                        "source": "llama3",
                        "placement": {"nodes": ["a", "b", "c"]},
                    },
                    "gpt-4o": {"provider": "openai", "source": "gpt-4o"},
                },
                "aliases": {"chat": "llama3"},
                "routing": {
                    "node_pinning": pinning,
                    "fallbacks": {"llama3": ["gpt-4o"]},
                    **routing,
                },
            }
        )
    )


def test_each_node_is_a_group_and_a_shared_role_a_priority_group() -> None:
    (llama3, _) = sorted(routing_plan("strict").models, key=lambda m: m.model != "llama3")
    assert llama3.node_groups == ("llama3@a", "llama3@b", "llama3@c")
    assert [(g.name, g.members) for g in llama3.role_groups] == [
        ("llama3@role:gpu", ("llama3@a", "llama3@b"))
    ]
    # A role only one node has pins straight to that node's group.
    assert dict(llama3.role_pins) == {"cpu": "llama3@c", "gpu": "llama3@role:gpu"}


def test_unpinned_requests_walk_every_node_then_the_declared_fallbacks() -> None:
    chains = dict(routing_plan("strict").fallbacks)
    expected = ("llama3@a", "llama3@b", "llama3@c", "gpt-4o")
    assert chains["llama3"] == expected
    assert chains["chat"] == expected  # an alias falls back as its model does


def test_strict_pins_never_leave_their_node() -> None:
    chains = dict(routing_plan("strict").fallbacks)
    assert "llama3@a" not in chains
    assert chains["llama3@role:gpu"] == ("llama3@a", "llama3@b")


def test_prefer_pins_fall_back_to_the_other_nodes_then_the_declared_fallbacks() -> None:
    chains = dict(routing_plan("prefer").fallbacks)
    assert chains["llama3@a"] == ("llama3@b", "llama3@c", "gpt-4o")
    assert chains["llama3@role:gpu"] == ("llama3@a", "llama3@b", "llama3@c", "gpt-4o")


def test_context_window_fallbacks_skip_the_other_nodes() -> None:
    routed = routing_plan("prefer", context_window_fallbacks={"llama3": ["gpt-4o"]})
    chains = dict(routed.context_window_fallbacks)
    assert chains["llama3"] == ("gpt-4o",)
    assert chains["llama3@a"] == ("gpt-4o",)


def test_hidden_groups_are_the_per_node_and_role_groups() -> None:
    assert routing_plan("strict").hidden_groups == (
        "llama3@a",
        "llama3@b",
        "llama3@c",
        "llama3@role:gpu",
    )
