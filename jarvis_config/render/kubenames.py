"""Stage 4, render, part of target `kubernetes`: object names that Kubernetes accepts.

Mesh names allow capitals, dots and underscores and run to 63 characters; a Service name must
be a DNS-1035 label (lowercase letters, digits and '-', a letter first, 63 at most) and a label
value may not end in '-' or '.'. Each object of a node gets `<node>-<server>` (or
`<node>-pull-<model>`) made lowercase with every other character turned into '-'. When that
changed the name, cut it short, or gave two sources the same name (node `a-pull-b` running
Ollama and node `a` pulling model `b-ollama` both read `a-pull-b-ollama`), the name gets a
short digest of its source, so generated names cannot collide.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from jarvis_config.errors import RenderError
from jarvis_config.model.mesh import Mesh
from jarvis_config.model.servers import Server, node_servers

MAX_LENGTH = 63
DIGEST_LENGTH = 8
Source = tuple[str, ...]  # ("server", node, server) / ("pull", node, model) / ("node", node)


@dataclass(frozen=True)
class KubeNames:
    names: dict[Source, str]

    @classmethod
    def for_mesh(
        cls,
        mesh: Mesh,
        fixed: tuple[str, ...],
        servers: Mapping[str, tuple[Server, ...]] | None = None,
    ) -> KubeNames:
        """Names for every node and every object of a node; `fixed` are the target's own
        object names (the gateway's), which no generated name may take. `servers` holds each
        node's servers when the caller has them already."""
        labels: list[Source] = []  # node label values: a namespace of their own
        objects: list[Source] = []
        for node in mesh.nodes:
            labels.append(("node", node.name))
            on_node = servers[node.name] if servers is not None else node_servers(mesh, node)
            for server in on_node:
                objects.append(("server", node.name, server.name))
                objects.extend(("pull", node.name, model) for model, _ in server.pulls)
        return cls({**allocate(labels, ()), **allocate(objects, fixed)})

    def node(self, node: str) -> str:
        """The value of the node label that pins workloads to the machine."""
        return self.names["node", node]

    def server(self, node: str, server: str) -> str:
        return self.names["server", node, server]

    def pull(self, node: str, model: str) -> str:
        return self.names["pull", node, model]


def spelled(source: Source) -> str:
    """The name as the mesh spells it: `<node>`, `<node>-<server>` or `<node>-pull-<model>`."""
    kind, node, *rest = source
    return "-".join([node, *(["pull"] if kind == "pull" else []), *rest])


def readable(source: Source) -> str:
    name = re.sub(r"[^a-z0-9-]", "-", spelled(source).lower())
    return name if name[:1].isalpha() else f"n-{name}"


def allocate(sources: list[Source], fixed: tuple[str, ...]) -> dict[Source, str]:
    plain = {source: readable(source) for source in sources}
    counts = Counter([*plain.values(), *fixed])
    names: dict[Source, str] = {}
    for source, name in plain.items():
        if name != spelled(source) or counts[name] > 1 or not _valid(name):
            name = _digested(name, source)
        names[source] = name
    _refuse_duplicates(names, fixed)
    return names


def _digested(name: str, source: Source) -> str:
    digest = hashlib.sha256("\0".join(source).encode("utf-8")).hexdigest()[:DIGEST_LENGTH]
    return f"{name[: MAX_LENGTH - DIGEST_LENGTH - 1].rstrip('-')}-{digest}"


def _valid(name: str) -> bool:
    return len(name) <= MAX_LENGTH and not name.endswith("-")


def _refuse_duplicates(names: dict[Source, str], fixed: tuple[str, ...]) -> None:
    """Digests make a clash next to impossible; should one happen, say which two sources."""
    seen: dict[str, Source] = {name: ("target", name) for name in fixed}
    for source, name in names.items():
        if name in seen:
            raise RenderError(
                f"Kubernetes name {name!r} would be used by both {_describe(seen[name])} "
                f"and {_describe(source)}; rename one of them"
            )
        seen[name] = source


def _describe(source: Source) -> str:
    kind, *rest = source
    if kind == "server":
        return f"server {rest[1]!r} of node {rest[0]!r}"
    if kind == "pull":
        return f"the pull of model {rest[1]!r} on node {rest[0]!r}"
    if kind == "node":
        return f"node {rest[0]!r}"
    return f"the gateway's {rest[0]!r}"
