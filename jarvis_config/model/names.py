"""Model (shared by validate and render): the identifiers the compose target generates, and a
check that none collide.

Names built by joining user names (`{node}-vllm-{model}` in the Swarm stack, a folder per
node) can coincide for different sources: Docker would keep one of two services with the same
key, a case-insensitive checkout one of two folders. `compose_claims` lists what the compose
target generates as `Claim`s; `collisions` finds pairs that meet, so validation can refuse them
naming both sources. A test holds these names to the rendered Swarm stack's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jarvis_config.model.mesh import Mesh, Node
from jarvis_config.problems import PathParts


@dataclass(frozen=True, slots=True)
class Claim:
    """One generated identifier and what produced it."""

    kind: str  # what the identifier names: "Swarm service", "output folder", ...
    identifier: str
    source: str  # the producer in words: "node 'a', service 'vllm-b'"
    path: PathParts  # where the producer is defined in the config
    case_insensitive: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.identifier.lower() if self.case_insensitive else self.identifier


def collisions(claims: Iterable[Claim]) -> list[tuple[Claim, Claim]]:
    """(first, second) for each claim whose identifier an earlier claim of another source
    already took."""
    taken: dict[tuple[str, str], Claim] = {}
    found: list[tuple[Claim, Claim]] = []
    for claim in claims:
        first = taken.setdefault(claim.key, claim)
        if first is not claim and first.source != claim.source:
            found.append((first, claim))
    return found


def compose_claims(mesh: Mesh) -> list[Claim]:
    """The Swarm stack's service names (all nodes share one namespace) and the per-node
    output folders."""
    claims = [Claim("Swarm service", name, "the gateway", ("gateway",)) for name in FIXED]
    related = _prefix_related([n.name for n in mesh.nodes])
    for node in mesh.nodes:
        if node.name in related:
            claims.extend(_swarm_claims(mesh, node))
        folder = f"compose/nodes/{node.name}"
        claims.append(
            Claim("output folder", folder, f"node {node.name!r}", ("nodes", node.name), True)
        )
    return claims


def _swarm_claims(mesh: Mesh, node: Node) -> list[Claim]:
    return [
        Claim(
            "Swarm service",
            f"{node.name}-{service}",
            f"node {node.name!r}, service {service!r}",
            ("nodes", node.name),
        )
        for service in node_services(mesh, node)
    ]


def node_services(mesh: Mesh, node: Node) -> list[str]:
    """The compose services of a node's stack, unprefixed: a server per runtime (or model),
    and a one-off `pull-<model>` job for each model a server pulls."""
    # Imported here: only prefix-related node names need the servers, and a hook's
    # `validate` of any other mesh need not load them.
    from jarvis_config.model.servers import node_servers

    services: list[str] = []
    for server in node_servers(mesh, node):
        services.append(server.name)
        services.extend(f"pull-{model}" for model, _ in server.pulls)
    return services


def _prefix_related(names: list[str]) -> set[str]:
    """Nodes whose Swarm services could meet another node's: `{a}-{x}` equals `{b}-{y}` only
    when one name is the other followed by `-` and more. Only those are rendered to compare,
    so a large mesh without such names pays nothing."""
    known, related = set(names), set[str]()
    for name in names:
        for index, char in enumerate(name):
            if char == "-" and name[:index] in known:
                related.update((name, name[:index]))
    return related


# The gateway stack's own services in the Swarm stack.
FIXED = ("gateway", "redis", "postgres")
