"""Review (`explain`): the path one request takes through the mesh, and why.

Reads the normalised `Mesh` and the routing table derived from it (`render.routes`, the
routes.json the gateway's callback reads): the name's alias resolution, the model group the
request lands in and its deployments (node, api base), what the request field `node` does under
the configured pinning policy, the group's fallbacks (ordinary and context-window) and the
limits, timeouts and health checks that apply. A request the gateway would refuse (unknown
model, unknown node or role, a node that does not serve the model) is answered as a `Rejection`
worded as the gateway words it.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from jarvis_config.model.mesh import Deployment, Limits, Mesh
from jarvis_config.model.processes import MODEL_LIMITS, processes, queue_seconds, shared_limits
from jarvis_config.model.routing import ROLE_PIN_PREFIX
from jarvis_config.render.routes import REQUEST_FIELD, routing_table
from jarvis_config.wording import closest, did_you_mean

Table = dict[str, Any]  # the routing table (routes.json) the gateway's callback reads

MAX_FALLBACK_HOPS = 5  # LiteLLM's ROUTER_MAX_FALLBACKS default
NESTED_NOTE = (
    "+ = a fallback that fails falls back along its own chain in turn (LiteLLM tries "
    f"each group once, nesting at most {MAX_FALLBACK_HOPS} levels)"
)
WIDTH = 100


@dataclass(frozen=True)
class Candidate:
    id: str
    node: str | None
    provider: str | None
    litellm_model: str
    api_base: str | None
    selected: bool  # in the group the request is sent to


@dataclass(frozen=True)
class Hop:
    """One fallback the router may try: a model group and where it runs."""

    group: str
    runs_on: str
    chained: bool  # the group has fallbacks of its own, which LiteLLM follows in turn
    same_model: bool = False  # one of the requested model's own per-node groups


@dataclass(frozen=True)
class Faults:
    """How long the gateway waits for a node, and how it leaves a failing one alone."""

    timeout: float  # a whole non-streamed answer (the model's limits.timeout, if set)
    stream_timeout: float  # first token, then between tokens
    health_check_interval: int  # 0: no background health checks
    health_check_timeout: float
    cooldown: float
    allowed_fails: int


@dataclass(frozen=True)
class Explanation:
    requested: str
    node: str | None
    alias_of: str | None  # the model an alias resolves to, when `requested` is an alias
    model: str
    category: str
    description: str | None
    context_window: int | None
    strategy: str
    group: str  # the LiteLLM model group the request is sent to
    candidates: tuple[Candidate, ...]
    pinning: str
    pinning_effect: str
    affinity: str  # "prefix", "session" or "off": how the request's conversation sticks
    affinity_effect: str
    fallbacks: tuple[Hop, ...]  # the group's fallbacks on errors, in order
    context_fallbacks: tuple[Hop, ...]  # ... when the prompt is over the context window
    limits: dict[str, float | int]
    num_retries: int
    faults: Faults
    # How the gateway's processes (workers x replicas) share the limits: each enforces
    # `per_process` of them (model.processes); one process enforces them whole.
    processes: int = 1
    per_process: dict[str, float | int] | None = None


@dataclass(frozen=True)
class Rejection:
    requested: str
    node: str | None
    reason: str
    hint: str | None


def explain_request(mesh: Mesh, requested: str, node: str | None = None) -> Explanation | Rejection:
    model_name = mesh.resolve(requested)
    if model_name is None:
        return _unknown_model(mesh, requested, node)
    table = routing_table(mesh)
    target = pin_target(table, requested, model_name, node)
    if isinstance(target, Rejection):
        return target
    model = mesh.model(model_name)
    group = table["groups"][target]
    # A strict pin switches fallbacks off for the request (the callback's disable_fallbacks).
    cut = node is not None and mesh.routing.node_pinning == "strict"
    return Explanation(
        requested=requested,
        node=node,
        alias_of=model_name if model_name != requested else None,
        model=model_name,
        category=model.category,
        description=model.description,
        context_window=model.context_window,
        strategy=mesh.routing.strategy,
        group=target,
        candidates=tuple(
            _candidate(d, d.id in group["members"]) for d in mesh.deployments_of(model_name)
        ),
        pinning=mesh.routing.node_pinning,
        pinning_effect=pinning_effect(table, target, node),
        affinity=sticks(table, target),
        affinity_effect=affinity_effect(table, target),
        fallbacks=() if cut else _hops(table, group["fallbacks"], model_name),
        context_fallbacks=()
        if cut
        else _hops(table, group["context_window_fallbacks"], model_name),
        limits=limits_dict(model.limits),
        num_retries=mesh.routing.num_retries,
        faults=_faults(mesh, model.limits),
        **_sharing(mesh, model.limits),
    )


def _sharing(mesh: Mesh, limits: Limits) -> dict[str, Any]:
    """Explanation fields on how several gateway processes divide the model's limits."""
    count = processes(mesh.gateway)
    if count == 1:
        return {}
    shared = replace(shared_limits(limits, count), queue_seconds=queue_seconds(limits))
    return {"processes": count, "per_process": limits_dict(shared)}


def _faults(mesh: Mesh, limits: Limits) -> Faults:
    routing = mesh.routing
    return Faults(
        timeout=limits.timeout if limits.timeout is not None else routing.timeout,
        stream_timeout=routing.stream_timeout,
        health_check_interval=routing.health_check_interval,
        health_check_timeout=routing.health_check_timeout,
        cooldown=routing.cooldown,
        allowed_fails=routing.allowed_fails,
    )


def _candidate(deployment: Deployment, selected: bool) -> Candidate:
    return Candidate(
        id=deployment.id,
        node=deployment.node,
        provider=deployment.provider,
        litellm_model=deployment.litellm_model,
        api_base=deployment.api_base,
        selected=selected,
    )


def _unknown_model(mesh: Mesh, requested: str, node: str | None) -> Rejection:
    names = [m.name for m in mesh.models] + [a.name for a in mesh.aliases]
    hint = did_you_mean(requested, names)
    return Rejection(
        requested,
        node,
        f"model {requested!r} is not served by this mesh{hint}",
        f"models: {', '.join(m.name for m in mesh.models) or 'none'}; "
        f"aliases: {', '.join(a.name for a in mesh.aliases) or 'none'}",
    )


def pin_target(table: Table, requested: str, model: str, node: str | None) -> str | Rejection:
    """The model group a request is sent to: the model's own group unpinned (an alias is
    resolved to it), else the group of the pinned node or role, or the gateway's refusal. The
    refusal reads as the jarvis_router callback words its HTTP 400, from the same table."""
    if node is None:
        return model
    route = table["models"][model]
    if node.startswith(ROLE_PIN_PREFIX):
        kind, name, pins, names = (
            "role",
            node[len(ROLE_PIN_PREFIX) :],
            route["roles"],
            table["roles"],
        )
    else:
        kind, name, pins, names = "node", node, route["nodes"], table["nodes"]
    group = pins.get(name)
    if group is not None:
        return str(group)
    if name in names:
        head = f"{kind} {name!r} does not serve {requested!r}"
    else:
        close = closest(name, names)
        hint = f" (did you mean {close!r}?)" if close else ""
        head = f"unknown {kind} {name!r} in field {REQUEST_FIELD!r}{hint}"
    return Rejection(requested, node, f"{head}; {served_by(table, model)}", None)


def served_by(table: Table, model: str) -> str:
    """'nodes serving 'llama3': ai-max (gpu), mini (cpu); or pin a role: role:cpu, role:gpu'."""
    route = table["models"][model]
    if not route["nodes"]:
        return (
            f"{model!r} is served by provider {route['provider']!r}, not by a node; "
            f"send it without {REQUEST_FIELD!r}"
        )
    nodes = ", ".join(
        f"{n} ({', '.join(table['nodes'][n]['roles']) or 'no roles'})"
        for n in sorted(route["nodes"])
    )
    roles = ", ".join(ROLE_PIN_PREFIX + role for role in sorted(route["roles"]))
    return f"nodes serving {model!r}: {nodes}" + (f"; or pin a role: {roles}" if roles else "")


def pinning_effect(table: Table, group: str, node: str | None) -> str:
    policy = table["pinning"]
    route = table["models"][table["groups"][group]["model"]]
    if node is None:
        if not route["nodes"]:
            return "no node field: the hosted provider answers; a node pin is refused"
        pins = [*route["nodes"], *(ROLE_PIN_PREFIX + role for role in route["roles"])]
        return (
            f"no node field: the strategy picks among all {len(route['deployments'])} "
            f"deployments; pins accepted: {', '.join(pins)} (policy {policy})"
        )
    where = runs_on(table, group)
    if policy == "strict":
        return (
            f"strict: sent to group {group}, on {where} only, with fallbacks switched off; "
            "an error there goes back to the client, never to another node"
        )
    return (
        f"prefer: sent to group {group}, on {where} first; on errors the fallbacks below take over"
    )


# How a conversation is recognised, by routing.affinity.
CONVERSATION_KEYS = {
    "session": "its session id (header x-litellm-session-id or X-Jarvis-Session, or "
    "metadata.session_id in the body); a request without one is left to the strategy",
    "prefix": "its session id (header x-litellm-session-id or X-Jarvis-Session, or "
    "metadata.session_id in the body), else its opening (system prompt and first user message)",
}


def sticks(table: Table, group: str) -> str:
    """How requests sent to `group` stick to a node: the model's affinity for a group of
    several nodes (the model's own or a role's), "off" for one node or a provider."""
    entry = table["groups"][group]
    if entry["kind"] not in ("model", "role") or len(entry["members"]) < 2:
        return "off"
    return str(table["models"][entry["model"]].get("affinity", "off"))


def affinity_effect(table: Table, group: str) -> str:
    mode = sticks(table, group)
    if mode != "off":
        return (
            f"{mode}: each conversation's turns go to one of {runs_on(table, group)}, ranked by "
            f"hashing {CONVERSATION_KEYS[mode]}; a node that fails its health check or cools "
            "down hands its conversations to each one's next node and gets them back once "
            "healthy (every gateway process chooses alike, with no shared state)"
        )
    entry, where = table["groups"][group], runs_on(table, group)
    if entry["kind"] == "node":
        return f"off: {where} serves every turn"
    if len(entry["members"]) < 2:
        return f"off: {where} serves every turn, there is no node to choose"
    return "off (routing.affinity): the strategy picks a node for every request"


def _hops(table: Table, chain: list[str], model: str) -> tuple[Hop, ...]:
    groups = table["groups"]
    return tuple(
        Hop(g, runs_on(table, g), bool(groups[g]["fallbacks"]), groups[g]["model"] == model)
        for g in chain
    )


def runs_on(table: Table, group: str) -> str:
    """'node ai-max', 'nodes ai-max, mini' or 'provider openai' for a model group."""
    entry = table["groups"][group]
    route = table["models"][entry["model"]]
    if not route["nodes"]:
        return f"provider {route['provider']}"
    nodes = [n for n, g in route["nodes"].items() if g in entry["members"]]
    return f"node{'s' if len(nodes) != 1 else ''} {', '.join(nodes)}"


def limits_dict(limits: Limits) -> dict[str, float | int]:
    return {k: v for k, v in asdict(limits).items() if v is not None}


# --- output -------------------------------------------------------------------------------------


def format_text(answer: Explanation) -> str:
    lines = [
        _row(
            "request",
            f"model {answer.requested!r}" + (f", node {answer.node!r}" if answer.node else ""),
        )
    ]
    if answer.alias_of:
        lines.append(_row("alias", f"{answer.requested} -> {answer.alias_of}"))
    about = f": {answer.description}" if answer.description else ""
    lines += _wrapped("model", f"{answer.model} ({answer.category}){about}")
    if answer.context_window:
        lines.append(_row("", f"context window: {answer.context_window:,} tokens"))
    lines += _candidate_rows(answer)
    lines += _wrapped("pinning", answer.pinning_effect)
    lines += _wrapped("affinity", answer.affinity_effect)
    lines += _fallback_rows(answer)
    lines += _limit_rows(answer)
    lines += _fault_rows(answer.faults)
    return "\n".join(lines)


def _row(label: str, text: str) -> str:
    return f"{label:<10}{text}".rstrip()


def _wrapped(label: str, text: str) -> list[str]:
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=f"{label:<10}",
        subsequent_indent=" " * 10,
        break_on_hyphens=False,
    ) or [label]


def _candidate_rows(answer: Explanation) -> list[str]:
    chosen = sum(1 for c in answer.candidates if c.selected)
    rows = [
        _row(
            "group",
            f"{answer.group}: {chosen} of the model's {len(answer.candidates)} "
            f"deployment{'s' if len(answer.candidates) != 1 else ''}, "
            f"strategy {answer.strategy}",
        )
    ]
    marked = chosen != len(answer.candidates)
    table = [
        (
            ("* " if marked and c.selected else "  ") + c.id,
            f"node {c.node}" if c.node else f"provider {c.provider}",
            c.litellm_model,
            c.api_base or "(the provider's API)",
        )
        for c in answer.candidates
    ]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        rows.append(_row("", "  ".join([*cells, row[3]])))
    if marked:
        rows.append(_row("", f"(* = in group {answer.group})"))
    return rows


def _fallback_rows(answer: Explanation) -> list[str]:
    retries = f"{answer.num_retries} retr{'ies' if answer.num_retries != 1 else 'y'}"
    rows = [
        _row(
            "fallbacks",
            f"on errors (after {retries} in the group), tried in turn:"
            + ("" if answer.fallbacks else " none"),
        )
    ]
    rows += _hop_rows(answer.fallbacks)
    rows.append(
        _row(
            "",
            "on a prompt over the context window:" + ("" if answer.context_fallbacks else " none"),
        )
    )
    rows += _hop_rows(answer.context_fallbacks)
    if any(h.chained for h in answer.fallbacks + answer.context_fallbacks):
        rows += _wrapped("", NESTED_NOTE)
    return rows


# A model's own per-node groups in its fallback chain are not other models: say so.
SAME_MODEL = ": the same model, on that node alone"


def _hop_rows(hops: tuple[Hop, ...]) -> list[str]:
    return [
        _row(
            "",
            f"  {i}. {h.group} ({h.runs_on}{SAME_MODEL if h.same_model else ''})"
            f"{' +' if h.chained else ''}",
        )
        for i, h in enumerate(hops, 1)
    ]


def _limit_rows(answer: Explanation) -> list[str]:
    own = (
        ", ".join(
            f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in answer.limits.items()
        )
        or "none"
    )
    rows = [_row("limits", f"per deployment: {own}")]
    if answer.per_process is not None:
        rows.extend(_wrapped("", _sharing_text(answer.processes, answer.per_process)))
    return rows


def _sharing_text(count: int, shares: dict[str, float | int]) -> str:
    divided = ", ".join(f"{k} {v}" for k, v in shares.items() if k in MODEL_LIMITS)
    queue = shares["queue_seconds"]
    return (
        f"divided among the gateway's {count} processes (workers x replicas), each enforces "
        f"{divided or 'no limit'}; a request over max_parallel_requests queues up to "
        f"{queue:g} s for a free slot"
    )


def _fault_rows(faults: Faults) -> list[str]:
    fails = f"{faults.allowed_fails} failure{'s' if faults.allowed_fails != 1 else ''}"
    health = (
        f"checked every {faults.health_check_interval} s ({faults.health_check_timeout:g} s "
        "timeout); unpinned requests avoid a node whose last check failed"
        if faults.health_check_interval
        else "no background health checks"
    )
    return [
        *_wrapped(
            "timeouts",
            f"{faults.timeout:g} s for a whole answer, {faults.stream_timeout:g} s for a "
            "stream's first token and between tokens; a node that times out is not retried",
        ),
        *_wrapped("health", health),
        *_wrapped(
            "",
            f"a node with more than {fails} in a minute is left alone for "
            f"{faults.cooldown:g} s (cooldown)",
        ),
    ]


def format_json(answer: Explanation | Rejection) -> str:
    data: dict[str, Any] = asdict(answer)
    data = {"accepted": isinstance(answer, Explanation), **data}
    return json.dumps(data, indent=2, sort_keys=True)


# Output formats of an accepted request (a rejection is text on stderr, or the same JSON).
FORMATS: dict[str, Callable[[Explanation], str]] = {"text": format_text, "json": format_json}
