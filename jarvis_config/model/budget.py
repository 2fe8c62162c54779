"""Stage 3, model: how much a mesh makes its renderers write, counted before they write it.

Some outputs grow with a product of the input rather than with its size: every deployment
carries a tag per role of its node (in the proxy's config, its Kubernetes copy and the Swarm
placement constraints), and every model and alias falls back over each of its nodes. A few
kilobytes of shared roles or aliases would otherwise render hundreds of megabytes. `validate`
and `build` both check the same counts on the same mesh (`budget_fault`), so what validates
builds; validation also counts the tags on the raw document before the mesh is built
(`validate.outputs.output_budget`), since building it is already that large.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from jarvis_config.model.mesh import Mesh

if TYPE_CHECKING:
    from jarvis_config.model.routing import RoutingPlan

# Each entry is a line or two of YAML (about 40 to 160 bytes) in several files: 250,000 keep
# a build under about 100 MB of output and a few seconds. The largest benchmark mesh (50,000
# deployments, two roles per node) counts 150,000 tags.
MAX_ENTRIES = 250_000
# The text of a model's params is written again for each of its deployments. The gateway's
# files must fit 1,000 ConfigMaps of 192 KiB (render.kubernetes); with every other entry at
# its budget, 8 million characters, even escaped to several bytes each, leave room.
MAX_REPEATED_TEXT = 8_000_000
# One string of the config is at most this long: the kubernetes target cuts the gateway's files
# at line ends into ConfigMaps of 192 KiB, and a string escaped for YAML and then for JSON (up
# to 11 bytes a character) must fit on one such line.
MAX_TEXT = 8_192
# routing.RING_FALLBACKS: how many other nodes a pinned group falls back over (kept equal by a
# test; routing is not imported here, so that `validate` of an ordinary mesh needs no plan).
RING = 4


class Product(NamedTuple):
    """One count the renderers' output grows with, what it multiplies, and its budget."""

    what: str
    entries: int
    limit: int = MAX_ENTRIES


def products(mesh: Mesh, routing: RoutingPlan | None = None) -> tuple[Product, ...]:
    if routing is None:
        from jarvis_config.model.routing import plan  # only for meshes near the budget

        routing = plan(mesh)
    chains = (*routing.fallbacks, *routing.context_window_fallbacks)
    return (
        Product(
            "deployment tags (models placed on nodes x the roles of each node)",
            tags(mesh),
        ),
        Product(
            "fallback entries (models and their aliases x the nodes and fallbacks they try)",
            sum(len(targets) for _, targets in chains),
        ),
        Product(
            "role group members (models x the roles their nodes share x those nodes)",
            sum(len(g.members) for m in routing.models for g in m.role_groups),
        ),
        Product(
            "characters of params written once per deployment (models x nodes x params)",
            sum(_text_length(d.params) for d in mesh.deployments),
            MAX_REPEATED_TEXT,
        ),
    )


def _text_length(value: object) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(_text_length(item) for item in value)
    if isinstance(value, dict):
        return sum(_text_length(k) + _text_length(v) for k, v in value.items())
    return 0


def budget_fault(mesh: Mesh, routing: RoutingPlan | None = None) -> Product | None:
    """The first product over its budget, or None. A mesh whose upper bound stays within the
    budget is not planned: `validate` of an ordinary mesh needs no routing plan."""
    if routing is None and chain_bound(mesh) <= MAX_ENTRIES and tags(mesh) <= MAX_ENTRIES:
        text = sum(_text_length(d.params) for d in mesh.deployments)
        return None if text <= MAX_REPEATED_TEXT else products(mesh)[3]
    return next((p for p in products(mesh, routing) if p.entries > p.limit), None)


def tags(mesh: Mesh) -> int:
    return sum(1 + len(d.tags) for d in mesh.deployments)


def chain_bound(mesh: Mesh) -> int:
    """At most how many fallback entries and role group members `routing.plan` makes, from
    the mesh alone (linear in its size): for each model, its name and each alias fall back
    over its nodes and its declared fallbacks; each node's group over a few of the others
    (prefer pinning); each role group holds the role's nodes and falls back over a few more.
    `tests/fuzz/test_fuzz_outputs.py` checks that it bounds the plan's counts."""
    aliases: dict[str, int] = {}
    for alias in mesh.aliases:
        aliases[alias.target] = aliases.get(alias.target, 0) + 1
    declared = {m: len(f) for m, f in mesh.routing.fallbacks}
    declared_cw = {m: len(f) for m, f in mesh.routing.context_window_fallbacks}
    prefer = mesh.routing.node_pinning != "strict"
    bound = 0
    for model in mesh.models:
        placed = [d for d in mesh.deployments_of(model.name) if d.node is not None]
        nodes, tried = len(placed), declared.get(model.name, 0) + declared_cw.get(model.name, 0)
        shared = sum(len(d.tags) - 1 for d in placed)  # (node, role) pairs: role group members
        roles = len({tag for d in placed for tag in d.tags[1:]})
        bound += (1 + aliases.get(model.name, 0)) * (nodes + tried) + 2 * shared
        if prefer:
            bound += nodes * (RING + tried) + shared + roles * (RING + tried)
    return bound


def too_large(product: Product) -> str:
    return f"the build would write {product.entries:,} {product.what}, more than {product.limit:,}"
