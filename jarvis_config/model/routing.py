"""Stage 3, model (routing): the gateway's model groups, node pins and fallback chains.

Derived from the `Mesh` alone; the LiteLLM renderer and the routing table both read this plan,
so the config the proxy runs and the table its callback reads can never disagree.

The shape, chosen because it keeps working with a node down (verified on the stock proxy):
- each deployment of a model on a node is its own model group, named like its id
  (`llama3@ai-max`); a request pinned to that node is rewritten to that group;
- the model's own name (`llama3`) is a LiteLLM routing group over those per-node groups, so
  unpinned requests are balanced by the routing strategy and fall back to the per-node groups
  (a retry inside one group can land on the dead node again; a fallback walks the others);
- a role that several of the model's nodes share gets a priority routing group with equal
  priorities (`llama3@role:gpu`), so a role pin spreads over those nodes;
- hosted-provider models keep their name as an ordinary model group.
Under `node_pinning: prefer` the pinned groups fall back to the model's other nodes and then to
the model's own fallbacks; under `strict` they have no fallbacks at all. A hop to another node's
group is made without retries (see render.litellm.fallbacks).

A per-node group under `prefer` lists only the next `RING_FALLBACKS` nodes of its model (the
model's nodes taken as a ring, in mesh order), not all of them: listing every other node made
the gateway's files quadratic in a model's replicas, and LiteLLM walks fallbacks nested (a
failed fallback target's own fallbacks are tried next, until `max_fallbacks` targets in all),
so each node's successors in the ring lead on to the rest of the model's nodes.

Conversation affinity (`routing.affinity`) adds no group: the callback narrows the deployments
the router still finds healthy in a model's (or role's) group to the one a conversation's key
ranks first (rendezvous hashing), so the group's fallbacks stay as they are. `model_affinity`
says per model whether there is anything to choose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jarvis_config.model.mesh import Deployment, Mesh, Model, role_tag

ROLE_PIN_PREFIX = "role:"
# How many of the model's other nodes a per-node group falls back to directly under `prefer`:
# LiteLLM's default `max_fallbacks` (5) less one hop kept for the model's declared fallbacks.
RING_FALLBACKS = 4
Chain = tuple[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class NodeRoute:
    """Where a model runs on one node: the group a pin to that node is sent to."""

    node: str
    group: str  # the per-node model group; also the deployment id
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoleGroup:
    """A routing group over the nodes of one role that serve a model (two nodes or more)."""

    name: str
    role: str
    members: tuple[str, ...]  # per-node groups


@dataclass(frozen=True, slots=True)
class ModelRoute:
    model: str
    provider: str | None
    deployments: tuple[str, ...]
    nodes: tuple[NodeRoute, ...]
    role_pins: tuple[tuple[str, str], ...]  # role -> the group a pin to that role is sent to
    role_groups: tuple[RoleGroup, ...]
    fallbacks: tuple[str, ...]  # as declared in routing.fallbacks
    context_window_fallbacks: tuple[str, ...]
    aliases: tuple[str, ...]
    affinity: str = "off"  # how its conversations stick to a node: see `model_affinity`

    @property
    def node_groups(self) -> tuple[str, ...]:
        return tuple(route.group for route in self.nodes)


@dataclass(frozen=True, slots=True)
class RoutingPlan:
    pinning: str
    strategy: str
    models: tuple[ModelRoute, ...]
    aliases: tuple[tuple[str, str], ...]  # alias -> model
    fallbacks: tuple[Chain, ...]  # group -> fallback groups, in router_settings order
    context_window_fallbacks: tuple[Chain, ...]
    affinity: str = "off"  # routing.affinity as configured

    @property
    def hidden_groups(self) -> tuple[str, ...]:
        """Groups that exist for routing only: clients pin with `node`, not by these names."""
        return tuple(
            sorted(
                {g for m in self.models for g in m.node_groups}
                | {r.name for m in self.models for r in m.role_groups}
            )
        )


def plan(mesh: Mesh) -> RoutingPlan:
    declared = dict(mesh.routing.fallbacks)
    declared_cw = dict(mesh.routing.context_window_fallbacks)
    models = tuple(_model_route(mesh, m, declared, declared_cw) for m in mesh.models)
    strict = mesh.routing.node_pinning == "strict"
    return RoutingPlan(
        pinning=mesh.routing.node_pinning,
        strategy=mesh.routing.strategy,
        models=models,
        aliases=tuple((a.name, a.target) for a in mesh.aliases),
        fallbacks=_chains(models, strict, context_window=False),
        context_window_fallbacks=_chains(models, strict, context_window=True),
        affinity=mesh.routing.affinity,
    )


def role_group_name(model: str, role: str) -> str:
    return f"{model}@{role_tag(role)}"


def _model_route(
    mesh: Mesh,
    model: Model,
    declared: dict[str, tuple[str, ...]],
    declared_cw: dict[str, tuple[str, ...]],
) -> ModelRoute:
    deployments = mesh.deployments_of(model.name)
    nodes = tuple(_node_route(mesh, d) for d in deployments if d.node is not None)
    role_pins, role_groups = _role_routes(
        model.name, nodes, whole=mesh.routing.node_pinning == "prefer"
    )
    return ModelRoute(
        model=model.name,
        provider=model.provider,
        deployments=tuple(d.id for d in deployments),
        nodes=nodes,
        role_pins=role_pins,
        role_groups=role_groups,
        fallbacks=declared.get(model.name, ()),
        context_window_fallbacks=declared_cw.get(model.name, ()),
        aliases=tuple(a.name for a in mesh.aliases if a.target == model.name),
        affinity=model_affinity(mesh.routing.affinity, len(nodes)),
    )


def model_affinity(policy: str, nodes: int) -> str:
    """How a model's conversations stick to a node: the configured policy when there is a node
    to choose (two or more); "off" for a model on one node or at a hosted provider, where
    every turn reaches the same place anyway."""
    return policy if nodes > 1 else "off"


def _node_route(mesh: Mesh, deployment: Deployment) -> NodeRoute:
    node = mesh.node(str(deployment.node))
    return NodeRoute(node=node.name, group=deployment.id, roles=node.roles)


def _role_routes(
    model: str, nodes: tuple[NodeRoute, ...], *, whole: bool
) -> tuple[tuple[tuple[str, str], ...], tuple[RoleGroup, ...]]:
    """Where each role's pin goes. With `whole` (prefer pinning), a role every node of the model
    has is pinned to the model's own group: a group of its own would have the same members and
    the same fallbacks, one more routing group for the proxy to hold. (Under strict pinning the
    role group differs: it never falls back to the model's declared fallbacks.)"""
    pins: list[tuple[str, str]] = []
    groups: list[RoleGroup] = []
    for role in sorted({role for route in nodes for role in route.roles}):
        members = tuple(route.group for route in nodes if role in route.roles)
        if len(members) == 1 or (whole and len(members) == len(nodes)):
            pins.append((role, members[0] if len(members) == 1 else model))
            continue
        group = RoleGroup(name=role_group_name(model, role), role=role, members=members)
        groups.append(group)
        pins.append((role, group.name))
    return tuple(pins), tuple(groups)


def _chains(
    models: tuple[ModelRoute, ...], strict: bool, *, context_window: bool
) -> tuple[Chain, ...]:
    """Every group's fallback chain; empty chains are left out."""
    aliases = {m.model: m.aliases for m in models}
    chains: list[Chain] = []
    for route in models:
        declared = route.context_window_fallbacks if context_window else route.fallbacks
        unpinned = declared if context_window else _each_node_in_turn(route.node_groups) + declared
        chains.append((route.model, unpinned))
        chains.extend((alias, unpinned) for alias in aliases[route.model])
        chains.extend(_pinned_chains(route, declared, strict, context_window=context_window))
    return tuple(chain for chain in chains if chain[1])


def _each_node_in_turn(node_groups: tuple[str, ...]) -> tuple[str, ...]:
    """A model on several nodes falls back to each node's group in turn (one node down)."""
    return node_groups if len(node_groups) > 1 else ()


def _pinned_chains(
    route: ModelRoute, declared: tuple[str, ...], strict: bool, *, context_window: bool
) -> list[Chain]:
    if strict:  # a strict pin never leaves its node(s); a role group may use each member
        return [] if context_window else [(g.name, g.members) for g in route.role_groups]
    ring = route.node_groups
    chains: list[Chain] = []
    for index, node in enumerate(route.nodes):
        chains.append(
            (node.group, (() if context_window else ring_successors(ring, index)) + declared)
        )
    for group in route.role_groups:
        # The role's own nodes first (each one: a retry inside the group may land on the same
        # dead node), then a few of the model's other nodes, whose own chains lead on.
        others = () if context_window else group.members + _outside(ring, frozenset(group.members))
        chains.append((group.name, others + declared))
    return chains


def ring_successors(ring: tuple[str, ...], index: int) -> tuple[str, ...]:
    """The `RING_FALLBACKS` groups after `ring[index]`, wrapping around (fewer in a small ring)."""
    count = min(RING_FALLBACKS, len(ring) - 1)
    return tuple(ring[(index + step) % len(ring)] for step in range(1, count + 1))


def _outside(ring: tuple[str, ...], members: frozenset[str]) -> tuple[str, ...]:
    """The first `RING_FALLBACKS` groups of the ring that are not among `members`."""
    return tuple(g for g in ring if g not in members)[:RING_FALLBACKS]


# A streamed chunk carries at least one token; a few more chunks than the token budget carry
# none (the role, the finish reason, usage), so a stream is over budget only past this slack.
STREAM_CHUNK_SLACK = 8


@dataclass(frozen=True)
class StreamBudget:
    """How long and how large a stream may grow before the gateway cuts it (the callback
    enforces it): `max_seconds` in all, and per model the most chunks when a request sets no
    `max_tokens` (its context window; None: no chunk bound)."""

    max_seconds: float
    gap_seconds: float  # between two parsed chunks: a stream that drips bytes is cut too
    chunk_slack: int
    max_chunks: tuple[tuple[str, int | None], ...]


def stream_budget(mesh: Mesh) -> StreamBudget:
    return StreamBudget(
        max_seconds=mesh.routing.stream_max_seconds,
        gap_seconds=mesh.routing.stream_timeout,
        chunk_slack=STREAM_CHUNK_SLACK,
        max_chunks=tuple((m.name, m.context_window) for m in mesh.models),
    )


# What a gateway does on SIGTERM (docker stop, a Swarm update, a Kubernetes rollout): the
# proxy closes its listener and lets the requests in flight finish for up to the drain time
# (LiteLLM's GRACEFUL_SHUTDOWN_TIMEOUT, 30 s by default, which would cut longer streams).
DRAIN_MARGIN = 10  # seconds past the longest stream, for the answer's last bytes and the exit
PRE_STOP_SECONDS = 5  # Kubernetes: serve on while the endpoints drop the terminating pod


def drain_seconds(mesh: Mesh) -> int:
    """How long a gateway waits for requests in flight on SIGTERM: the longest stream."""
    return math.ceil(mesh.routing.stream_max_seconds) + DRAIN_MARGIN


def stop_grace_seconds(mesh: Mesh) -> int:
    """How long the orchestrator waits after SIGTERM before SIGKILL: the drain, a pre-stop
    wait and a margin, so a draining gateway is never killed."""
    return PRE_STOP_SECONDS + drain_seconds(mesh) + DRAIN_MARGIN
