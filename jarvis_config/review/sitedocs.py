"""Review (`docs`): the mesh's own user-facing pages, generated so they never drift.

Reads the normalised `Mesh` only and writes three Markdown pages (README.md, models.md,
nodes.md) through the atomic writer. Python prepares plain view values; the templates under
`templates/docs/` hold the layout. Every value reaches the page through an escaping filter
(`md` for prose, `code` for inline names, `cell` for table cells, `sh`/`py`/`json_inline`
inside the fenced examples; all filters live in `render.templating`), so no name or
description can break the Markdown or the example commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jarvis_config.model.mesh import Limits, Mesh, Model, Node
from jarvis_config.render.templating import render_template

PAGES = ("README.md", "models.md", "nodes.md")
PIN_HEADER_SHOWN = "X-Jarvis-Node"  # render.routes.PIN_HEADER as clients write it

# When to pick a category: the guidance the Models page gives next to each one.
CATEGORY_GUIDE: dict[str, str] = {
    "general": "Everyday chat, writing, summarising and question answering.",
    "code": "Writing, completing, explaining and reviewing code.",
    "fast": "High-volume or latency-sensitive work (pipelines, classification, short replies); "
    "trades quality for speed.",
    "embedding": "Turning text into vectors for search and retrieval (the embeddings endpoint, "
    "not chat).",
    "vision": "Prompts that include images.",
    "reasoning": "Multi-step problems where a slower, more careful answer pays off.",
}
PINNING_GUIDE: dict[str, str] = {
    "strict": "the request runs on that node only; if the node fails, the error comes back to "
    "you and no other node is tried.",
    "prefer": "the request runs on that node first; if the node fails, the gateway retries it "
    "on the model's other nodes.",
}


@dataclass(frozen=True)
class ModelView:
    model: Model
    aliases: tuple[str, ...]
    served_by: tuple[str, ...]  # node names
    fallbacks: tuple[str, ...]
    context_fallbacks: tuple[str, ...]
    limits: str
    guide: str


@dataclass(frozen=True)
class KeyView:
    """A client key as the docs show it: its name, models and limits, never its value."""

    name: str
    models: tuple[str, ...]
    limits: str


@dataclass(frozen=True)
class NodeView:
    node: Node
    models: tuple[Model, ...]


@dataclass(frozen=True)
class GatewayView:
    url: str  # base URL without /v1
    key_var: str | None


# --- views ------------------------------------------------------------------------------------


def limits_sentence(limits: Limits) -> str:
    parts = [
        (limits.rpm, "{:,} requests/minute"),
        (limits.tpm, "{:,} tokens/minute"),
        (limits.max_parallel_requests, "{:,} requests at once"),
        (limits.timeout, "{:g} s timeout"),
    ]
    return "; ".join(form.format(value) for value, form in parts if value is not None)


def model_views(mesh: Mesh) -> list[ModelView]:
    fallbacks, context = dict(mesh.routing.fallbacks), dict(mesh.routing.context_window_fallbacks)
    return [
        ModelView(
            model=m,
            aliases=tuple(a.name for a in mesh.aliases if a.target == m.name),
            served_by=m.nodes,
            fallbacks=fallbacks.get(m.name, ()),
            context_fallbacks=context.get(m.name, ()),
            limits=limits_sentence(m.limits),
            guide=CATEGORY_GUIDE.get(m.category, ""),
        )
        for m in mesh.models
    ]


def node_views(mesh: Mesh) -> list[NodeView]:
    return [NodeView(n, tuple(m for m in mesh.models if n.name in m.nodes)) for n in mesh.nodes]


def example_model(mesh: Mesh) -> str:
    """The name the examples call: a chat model's first alias, else the first chat model."""
    chat = [m for m in mesh.models if m.category != "embedding"] or list(mesh.models)
    if not chat:
        return "MODEL"
    names = {m.name for m in chat}
    alias = next((a.name for a in mesh.aliases if a.target in names), None)
    return alias or chat[0].name


def context(mesh: Mesh, gateway_url: str | None) -> dict[str, Any]:
    key = mesh.gateway.master_key
    views = model_views(mesh)
    return {
        "mesh": mesh,
        "gateway": GatewayView(
            url=(gateway_url or f"http://localhost:{mesh.gateway.port}").rstrip("/"),
            key_var=key.var if key else None,
        ),
        "models": views,
        "categories": [
            (c, CATEGORY_GUIDE.get(c, ""), [v for v in views if v.model.category == c])
            for c in sorted({v.model.category for v in views})
        ],
        "nodes": node_views(mesh),
        "hosted": [v for v in views if v.model.hosted],
        "example_model": example_model(mesh),
        "embedding_model": next((m.name for m in mesh.models if m.category == "embedding"), None),
        "keys": [
            KeyView(
                k.name, k.models, limits_sentence(Limits(k.rpm, k.tpm, k.max_parallel_requests))
            )
            for k in mesh.gateway.keys
        ],
        "pin_header": PIN_HEADER_SHOWN,
        "list_pinned": mesh.routing.list_pinned_models,
        "pinning": mesh.routing.node_pinning,
        "pinning_guide": PINNING_GUIDE.get(mesh.routing.node_pinning, ""),
        "routing": mesh.routing,
        "pages": PAGES,
    }


def render_docs(mesh: Mesh, *, gateway_url: str | None = None) -> dict[str, bytes]:
    """Every page, file name -> bytes."""
    values = context(mesh, gateway_url)
    return {page: render_template(f"docs/{page}.j2", **values).encode("utf-8") for page in PAGES}
