"""The node routing table: routes.json's content and the `jarvis-config routes` text."""

from __future__ import annotations

from typing import Any

import pytest

from jarvis_config.commands.routes import DEPRECATED_JSON
from jarvis_config.render.routes import FORMAT, format_table, routing_table
from tests.kit import ROOT, check_golden, compile_mesh


def test_the_homelab_table() -> None:
    table = routing_table(compile_mesh("homelab"))
    assert table["format"] == FORMAT == "jarvis-routes/1"
    assert (table["pinning"], table["request_field"], table["role_prefix"]) == (
        "strict",
        "node",
        "role:",
    )
    assert table["nodes"]["laptop"] == {"roles": ["cpu", "edge"]}
    assert table["roles"] == {"cpu": ["laptop", "mini"], "edge": ["laptop"], "gpu": ["ai-max"]}
    assert table["aliases"] == {"chat": "llama3", "code": "deepseek-coder", "fast": "phi3-mini"}
    assert table["models"]["llama3"] == {
        "provider": None,
        "deployments": ["llama3@ai-max", "llama3@mini"],
        "nodes": {"ai-max": "llama3@ai-max", "mini": "llama3@mini"},
        "roles": {"cpu": "llama3@mini", "gpu": "llama3@ai-max"},
        "fallbacks": ["gpt-4o"],
        "context_window_fallbacks": ["mistral"],
        "aliases": ["chat"],
        "affinity": "prefix",
    }
    assert table["models"]["gpt-4o"]["nodes"] == {}
    assert table["models"]["gpt-4o"]["provider"] == "openai"


def test_affinity_is_off_where_there_is_no_node_to_choose() -> None:
    table = routing_table(compile_mesh("homelab"))
    assert (table["affinity"], table["session_header"]) == ("prefix", "x-jarvis-session")
    sticky = {name: entry["affinity"] for name, entry in table["models"].items()}
    # llama3 runs on two nodes; the others on one node or at a hosted provider
    assert sticky == {
        "deepseek-coder": "off",
        "gpt-4o": "off",
        "llama3": "prefix",
        "mistral": "off",
        "phi3-mini": "off",
    }


def test_groups_record_every_chain_the_gateway_was_given() -> None:
    groups = routing_table(compile_mesh("homelab"))["groups"]
    assert groups["llama3"] == {
        "kind": "model",
        "model": "llama3",
        "members": ["llama3@ai-max", "llama3@mini"],
        "fallbacks": ["llama3@ai-max", "llama3@mini", "gpt-4o"],
        "context_window_fallbacks": ["mistral"],
    }
    # strict: a pinned group never falls back
    assert groups["llama3@mini"] == {
        "kind": "node",
        "model": "llama3",
        "node": "mini",
        "members": ["llama3@mini"],
        "fallbacks": [],
        "context_window_fallbacks": [],
    }
    assert groups["gpt-4o"]["kind"] == "hosted"


def test_prefer_chains_go_to_the_other_nodes_first() -> None:
    groups = routing_table(compile_mesh("roles"))["groups"]
    assert groups["phi3-mini@edge-2"]["fallbacks"] == ["phi3-mini@edge-1"]
    # Every node of mistral has role gpu: under prefer the pin goes to the model's own group,
    # which has the same members and fallbacks; no group of its own.
    assert "mistral@role:gpu" not in groups
    assert routing_table(compile_mesh("roles"))["models"]["mistral"]["roles"] == {
        "big-vram": "mistral@rig-1",
        "gpu": "mistral",
    }
    assert groups["mistral"]["fallbacks"] == ["mistral@rig-1", "mistral@rig-2"]


@pytest.mark.parametrize("example", ["homelab", "roles", "providers"])
def test_routes_command_prints_the_golden_table(
    example: str, cli: Any, update_golden: bool
) -> None:
    result = cli("routes", ROOT / "examples" / example)
    text = format_table(routing_table(compile_mesh(example))) + "\n"
    assert result.exit_code == 0
    assert result.stdout == text
    check_golden(example, {"routes.txt": text}, owns="routes.txt", update=update_golden)


@pytest.mark.parametrize(
    ("option", "note"),
    [
        pytest.param(("--format", "json"), "", id="format-json"),
        pytest.param(("--json",), DEPRECATED_JSON + "\n", id="deprecated-json"),
    ],
)
def test_routes_format_json_prints_the_document(
    cli: Any, option: tuple[str, ...], note: str
) -> None:
    import json

    result = cli("routes", ROOT / "examples" / "homelab", *option)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == routing_table(compile_mesh("homelab"))
    assert result.stderr == note
