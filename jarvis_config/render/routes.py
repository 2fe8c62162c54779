"""Stage 4, render (routing table): routes.json for the gateway callback, and its text form.

`routing_table` lays the routing plan out as the versioned document `jarvis-routes/1`
(described in docs/routes-format.md); the `jarvis_router` callback reads it beside the proxy's
config, and `jarvis-config routes` prints it with `format_table`.
"""

from __future__ import annotations

from typing import Any

from jarvis_config.model.mesh import API_KEY_LIMITS, ApiKey, Mesh
from jarvis_config.model.processes import (
    hold_seconds,
    processes,
    queue_seconds,
    share,
    shared_key,
)
from jarvis_config.model.routing import (
    ROLE_PIN_PREFIX,
    ModelRoute,
    RoutingPlan,
    StreamBudget,
    plan,
    stream_budget,
)

FORMAT = "jarvis-routes/1"
REQUEST_FIELD = "node"
PIN_HEADER = "x-jarvis-node"  # the same pin as the field, for clients that only set headers
SESSION_HEADER = "x-jarvis-session"  # a session id, beside LiteLLM's own x-litellm-session-id
PINNING_MEANING = {
    "strict": "a pinned request is served by that node (or role) or fails",
    "prefer": "a pinned request falls back to the model's other nodes when its node fails",
}
AFFINITY_MEANING = {
    "prefix": "a conversation stays on one node, known by its session id or its opening",
    "session": "a conversation with a session id stays on one node",
    "off": "every request is spread by the routing strategy",
}


def routing_table(mesh: Mesh, routing: RoutingPlan | None = None) -> dict[str, Any]:
    """The routing table of `mesh`; `routing` is its routing plan when already made."""
    routing = plan(mesh) if routing is None else routing
    return {
        "format": FORMAT,
        "request_field": REQUEST_FIELD,
        "role_prefix": ROLE_PIN_PREFIX,
        "pinning": routing.pinning,
        "strategy": routing.strategy,
        "nodes": {n.name: {"roles": list(n.roles)} for n in mesh.nodes},
        "roles": {
            role: [n.name for n in mesh.nodes if role in n.roles]
            for role in sorted({r for n in mesh.nodes for r in n.roles})
        },
        "models": {m.model: _model_entry(m) for m in routing.models},
        "aliases": dict(routing.aliases),
        "groups": _groups(routing),
        "pin_header": PIN_HEADER,
        "list_pinned_models": mesh.routing.list_pinned_models,
        "capabilities": {
            m.name: list(m.capabilities) for m in mesh.models if m.capabilities is not None
        },
        "keys": {
            key.name: _key_entry(shared_key(key, processes(mesh.gateway)))
            for key in mesh.gateway.keys
        },
        "affinity": routing.affinity,
        "session_header": SESSION_HEADER,
        **parallel_queues(mesh),
        "streams": _stream_entry(stream_budget(mesh)),
    }


def _stream_entry(budget: StreamBudget) -> dict[str, Any]:
    return {
        "max_seconds": budget.max_seconds,
        "gap_seconds": budget.gap_seconds,
        "chunk_slack": budget.chunk_slack,
        "max_chunks": {model: chunks for model, chunks in budget.max_chunks if chunks},
    }


def parallel_queues(mesh: Mesh) -> dict[str, Any]:
    """`queues`: for each model with a parallel limit, each process's share of it per
    deployment and how long a request over it waits for a free slot (the callback's queue).
    Absent when no model has one, so tables without limits stay as they were."""
    count = processes(mesh.gateway)
    queues = {
        model.name: {
            "slots": share(model.limits.max_parallel_requests, count),
            "seconds": queue_seconds(model.limits),
            "hold_seconds": hold_seconds(model.limits, mesh.routing),
        }
        for model in mesh.models
        if model.limits.max_parallel_requests is not None
    }
    return {"queues": queues} if queues else {}


def _key_entry(key: ApiKey) -> dict[str, Any]:
    """A key by the variable holding it (never its value), with its models and limits."""
    limits = {name: getattr(key, name) for name in API_KEY_LIMITS}
    return {
        "env": key.key.var,
        "models": list(key.models) or None,
        **{name: value for name, value in limits.items() if value is not None},
    }


def _model_entry(route: ModelRoute) -> dict[str, Any]:
    return {
        "provider": route.provider,
        "deployments": list(route.deployments),
        "nodes": {n.node: n.group for n in route.nodes},
        "roles": dict(route.role_pins),
        "fallbacks": list(route.fallbacks),
        "context_window_fallbacks": list(route.context_window_fallbacks),
        "aliases": list(route.aliases),
        "affinity": route.affinity,
    }


def _groups(routing: RoutingPlan) -> dict[str, Any]:
    """Every model group the gateway serves, with the fallback chain it was given."""
    chains, cw_chains = dict(routing.fallbacks), dict(routing.context_window_fallbacks)
    groups: dict[str, dict[str, Any]] = {}
    for route in routing.models:
        members = list(route.node_groups) if route.nodes else list(route.deployments)
        groups[route.model] = {
            "kind": "model" if route.nodes else "hosted",
            "model": route.model,
            "members": members,
        }
        for node in route.nodes:
            groups[node.group] = {
                "kind": "node",
                "model": route.model,
                "node": node.node,
                "members": [node.group],
            }
        for role in route.role_groups:
            groups[role.name] = {
                "kind": "role",
                "model": route.model,
                "role": role.role,
                "members": list(role.members),
            }
    for name, group in groups.items():
        group["fallbacks"] = list(chains.get(name, ()))
        group["context_window_fallbacks"] = list(cw_chains.get(name, ()))
    return dict(sorted(groups.items()))


def format_table(table: dict[str, Any]) -> str:
    """The routing table as aligned text: one row per model and per alias."""
    header = ("MODEL / ALIAS", "SERVED BY", "DEPLOYMENT IDS", "FALLBACKS", "CONTEXT FALLBACKS")
    rows = [header]
    for name in sorted([*table["models"], *table["aliases"]]):
        model = table["aliases"].get(name, name)
        label = name if model == name else f"{name} -> {model}"
        rows.append((label, *_cells(table, table["models"][model])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    policy, affinity = table["pinning"], table.get("affinity", "off")
    intro = [
        f"node pinning: {policy} ({PINNING_MEANING.get(policy, policy)})",
        f"routing strategy: {table['strategy']}",
        f"conversation affinity: {affinity} ({AFFINITY_MEANING.get(affinity, affinity)})",
        f'pin with the request field "{table["request_field"]}": a node name, or '
        f"{table['role_prefix']}ROLE",
        "",
    ]
    return "\n".join(intro + lines)


def _cells(table: dict[str, Any], entry: dict[str, Any]) -> tuple[str, str, str, str]:
    if entry["nodes"]:
        served = ", ".join(
            f"{node} ({', '.join(table['nodes'][node]['roles']) or '-'})" for node in entry["nodes"]
        )
    else:
        served = f"provider {entry['provider']}"
    return (
        served,
        ", ".join(entry["deployments"]),
        ", ".join(entry["fallbacks"]) or "-",
        ", ".join(entry["context_window_fallbacks"]) or "-",
    )
