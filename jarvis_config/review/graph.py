"""Review (`graph`): draw the mesh (nodes, providers, models, aliases, fallbacks).

Reads the normalised `Mesh` only. One function per output format in `FORMATS`: Mermaid (renders
in pull requests), Graphviz DOT, and SVG (DOT laid out by Graphviz's `dot` program). Pictures
read left to right: aliases -> models (grouped by category) -> the nodes and providers serving
them; fallbacks are dashed model -> model edges. Every name is escaped for its format, and every
list is sorted, so the output is deterministic.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from jarvis_config.errors import CommandError
from jarvis_config.model.mesh import Mesh, Model, Node, Provider


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # "serves", "alias", "fallback", "context", "both" (fallback and context)


EDGE_LABELS = {
    "fallback": "fallback",
    "context": "context fallback",
    "both": "fallback, context fallback",
}


def model_id(name: str) -> str:
    return f"model:{name}"


def node_id(name: str) -> str:
    return f"node:{name}"


def provider_id(name: str) -> str:
    return f"provider:{name}"


def alias_id(name: str) -> str:
    return f"alias:{name}"


def categories(mesh: Mesh) -> list[tuple[str, list[Model]]]:
    """Models grouped by category, categories and models in name order."""
    names = sorted({m.category for m in mesh.models})
    return [(c, [m for m in mesh.models if m.category == c]) for c in names]


def node_groups(mesh: Mesh) -> list[tuple[str, list[Node]]]:
    """Nodes grouped by their first role (the one operators list first), in name order."""

    def first_role(node: Node) -> str:
        return node.roles[0] if node.roles else "no role"

    names = sorted({first_role(n) for n in mesh.nodes})
    return [(r, [n for n in mesh.nodes if first_role(n) == r]) for r in names]


def edges(mesh: Mesh) -> list[Edge]:
    """Every edge of the picture, in a fixed order."""
    out = [Edge(alias_id(a.name), model_id(a.target), "alias") for a in mesh.aliases]
    for model in mesh.models:
        if model.provider is not None:
            out.append(Edge(model_id(model.name), provider_id(model.provider), "serves"))
        out.extend(Edge(model_id(model.name), node_id(n), "serves") for n in model.nodes)
    return out + fallback_edges(mesh)


def fallback_edges(mesh: Mesh) -> list[Edge]:
    """Model -> model fallbacks; one edge where a pair is both kinds (two would overlap)."""
    on_error = {(s, t) for s, targets in mesh.routing.fallbacks for t in targets}
    on_context = {(s, t) for s, targets in mesh.routing.context_window_fallbacks for t in targets}
    return [
        Edge(
            model_id(s),
            model_id(t),
            "both"
            if (s, t) in on_error and (s, t) in on_context
            else "fallback"
            if (s, t) in on_error
            else "context",
        )
        for s, t in sorted(on_error | on_context)
    ]


def model_lines(model: Model) -> list[str]:
    where = model.runtime if model.provider is None else f"hosted: {model.provider}"
    lines = [model.name, str(where)]
    if model.context_window:
        lines[-1] += f" · {_tokens(model.context_window)} ctx"
    return lines


def node_lines(node: Node) -> list[str]:
    roles = ", ".join(node.roles) or "no roles"
    memory = f" · {node.memory_gb:g} GB" if node.memory_gb is not None else ""
    runtimes = ", ".join(f"{r.kind} :{r.port}" for r in node.runtimes) or "no runtimes"
    return [node.name, f"{roles}{memory}", runtimes]


def provider_lines(provider: Provider) -> list[str]:
    return [provider.name, f"{provider.kind} (hosted)"]


def _tokens(count: int) -> str:
    if count >= 1000 and count % 1000 == 0:
        return f"{count // 1000}k"
    if count >= 1024 and count % 1024 == 0:
        return f"{count // 1024}k"
    return str(count)


# --- Mermaid -------------------------------------------------------------------------------

# Inside a quoted label only these mean something to Mermaid (quotes end it, `#` starts an
# entity code, `<`/`>` are HTML, backticks start markdown strings).
MERMAID_ESCAPES = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "`": "#96;"}


def mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: entity codes for everything Mermaid parses."""
    return "".join(MERMAID_ESCAPES.get(ch, ch) for ch in text.replace("\n", " "))


def mermaid_label(lines: list[str]) -> str:
    return '"' + "<br/>".join(mermaid_text(line) for line in lines) + '"'


class _MermaidIds:
    """Mermaid ids must be plain words; names become short numbered ids."""

    def __init__(self, mesh: Mesh) -> None:
        keys = (
            [alias_id(a.name) for a in mesh.aliases]
            + [model_id(m.name) for m in mesh.models]
            + [node_id(n.name) for n in mesh.nodes]
            + [provider_id(p.name) for p in mesh.providers]
        )
        self.ids = {key: f"{key.split(':')[0][0]}{i}" for i, key in enumerate(keys)}

    def __getitem__(self, key: str) -> str:
        return self.ids[key]


def to_mermaid(mesh: Mesh) -> str:
    ids = _MermaidIds(mesh)
    lines = ["flowchart LR"]
    lines += _mermaid_group(
        "aliases",
        "Aliases",
        [f'{ids[alias_id(a.name)]}("{mermaid_text(a.name)}")' for a in mesh.aliases],
    )
    lines += _mermaid_nested(
        "models",
        "Models",
        "category",
        [
            (
                category,
                [f"{ids[model_id(m.name)]}[{mermaid_label(model_lines(m))}]" for m in models],
            )
            for category, models in categories(mesh)
        ],
    )
    lines += _mermaid_nested(
        "nodes",
        "Nodes",
        "role",
        [
            (role, [f"{ids[node_id(n.name)]}[{mermaid_label(node_lines(n))}]" for n in nodes])
            for role, nodes in node_groups(mesh)
        ],
    )
    lines += _mermaid_group(
        "providers",
        "Hosted providers",
        [f"{ids[provider_id(p.name)]}[{mermaid_label(provider_lines(p))}]" for p in mesh.providers],
    )
    lines += [_mermaid_edge(e, ids) for e in edges(mesh)]
    lines += _mermaid_styles(mesh, ids)
    return "\n".join(lines) + "\n"


def _mermaid_group(key: str, title: str, items: list[str], indent: str = "  ") -> list[str]:
    if not items:
        return []
    return [
        f'{indent}subgraph {key}["{mermaid_text(title)}"]',
        *(f"{indent}  {item}" for item in items),
        f"{indent}end",
    ]


def _mermaid_nested(
    key: str, title: str, group_key: str, groups: list[tuple[str, list[str]]]
) -> list[str]:
    """A subgraph holding one subgraph per (title, items) group; nothing when all are empty."""
    inner = [
        line
        for index, (name, items) in enumerate(groups)
        for line in _mermaid_group(f"{group_key}{index}", name, items, indent="    ")
    ]
    return [f'  subgraph {key}["{title}"]', *inner, "  end"] if inner else []


def _mermaid_edge(edge: Edge, ids: _MermaidIds) -> str:
    source, target = ids[edge.source], ids[edge.target]
    if edge.kind in EDGE_LABELS:
        return f'  {source} -.->|"{EDGE_LABELS[edge.kind]}"| {target}'
    return f"  {source} --> {target}"


def _mermaid_styles(mesh: Mesh, ids: _MermaidIds) -> list[str]:
    lines = [
        "  classDef alias fill:#fff7e6,stroke:#d48806",
        "  classDef model fill:#e6f4ff,stroke:#1677ff",
        "  classDef node fill:#f6ffed,stroke:#389e0d",
        "  classDef provider fill:#f9f0ff,stroke:#722ed1",
    ]
    for kind, keys in (
        ("alias", [alias_id(a.name) for a in mesh.aliases]),
        ("model", [model_id(m.name) for m in mesh.models]),
        ("node", [node_id(n.name) for n in mesh.nodes]),
        ("provider", [provider_id(p.name) for p in mesh.providers]),
    ):
        if keys:
            lines.append(f"  class {','.join(ids[k] for k in keys)} {kind}")
    return lines


# --- Graphviz DOT ---------------------------------------------------------------------------

DOT_COLORS = {
    "alias": ("#fff7e6", "#d48806"),
    "model": ("#e6f4ff", "#1677ff"),
    "node": ("#f6ffed", "#389e0d"),
    "provider": ("#f9f0ff", "#722ed1"),
}
# Edges carry no text: Graphviz places the labels of unconstrained edges over cluster titles.
# The legend says what each style means instead.
DOT_EDGES = {
    "serves": 'color="#595959"',
    "alias": 'color="#d48806"',
    "fallback": 'style=dashed, color="#cf1322", constraint=false',
    "context": 'style=dotted, color="#d46b08", constraint=false',
    "both": 'style=dashed, color="#d46b08:#cf1322", constraint=false',
}
LEGEND = {  # edge kind -> (a drawn sample, its colour, what it means)
    "alias": ("───▶", "#d48806", "alias → the model it names"),
    "serves": ("───▶", "#595959", "model → the node or provider serving it"),
    "fallback": ("─ ─ ▶", "#cf1322", "fallback on errors"),
    "context": ("· · · ▶", "#d46b08", "fallback for a prompt over the context window"),
    "both": ("─ ─ ▶", "#d46b08", "fallback on errors and for long prompts"),
}


def dot_quote(text: str) -> str:
    """A DOT quoted string; only backslash and double quote are special inside one."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def dot_label(lines: list[str]) -> str:
    r"""Multi-line label: DOT's `\n` escape between escaped lines."""
    return '"' + "\\n".join(dot_quote(line)[1:-1] for line in lines) + '"'


def to_dot(mesh: Mesh, *, columns: bool = True) -> str:
    """The DOT source; `columns` pins aliases, models and nodes to three ranks."""
    lines = [
        "digraph mesh {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.25, '
        "ranksep=1.1, newrank=true, labeljust=l];",
        '  node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled"];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
    ]
    lines += _dot_cluster(
        "aliases",
        "Aliases",
        [_dot_node(alias_id(a.name), [a.name], "alias", "ellipse") for a in mesh.aliases],
    )
    lines += _dot_nested(
        "models",
        "Models",
        "category",
        [
            (category, [_dot_node(model_id(m.name), model_lines(m), "model") for m in models])
            for category, models in categories(mesh)
        ],
    )
    lines += _dot_nested(
        "nodes",
        "Nodes",
        "role",
        [
            (role, [_dot_node(node_id(n.name), node_lines(n), "node") for n in nodes])
            for role, nodes in node_groups(mesh)
        ],
    )
    lines += _dot_cluster(
        "providers",
        "Hosted providers",
        [
            _dot_node(provider_id(p.name), provider_lines(p), "provider", "cylinder")
            for p in mesh.providers
        ],
    )
    lines += _dot_columns(mesh) if columns else []
    drawn = edges(mesh)
    lines += [
        f"  {dot_quote(e.source)} -> {dot_quote(e.target)} [{DOT_EDGES[e.kind]}];" for e in drawn
    ]
    lines += _dot_legend({e.kind for e in drawn})
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_legend(kinds: set[str]) -> list[str]:
    """What each edge style the picture uses means: a small table, drawn lines in the edges'
    colours (sample edges would be laid out as part of the graph)."""
    rows = "".join(
        f'<tr><td align="left"><font color="{color}">{sample}</font></td>'
        f'<td align="left">{html.escape(meaning)}</td></tr>'
        for kind, (sample, color, meaning) in LEGEND.items()
        if kind in kinds
    )
    table = f'<table border="0" cellborder="0" cellspacing="1">{rows}</table>'
    legend = f'"legend" [shape=plaintext, style="", fontsize=9, label=<{table}>];'
    return _dot_cluster("legend", "Legend", [legend] if rows else [])


def _dot_columns(mesh: Mesh) -> list[str]:
    """Three columns whatever the edges say: aliases, models, then nodes and providers."""
    columns = [
        [alias_id(a.name) for a in mesh.aliases],
        [model_id(m.name) for m in mesh.models],
        [node_id(n.name) for n in mesh.nodes] + [provider_id(p.name) for p in mesh.providers],
    ]
    return [
        "  { rank=same; " + " ".join(f"{dot_quote(key)};" for key in column) + " }"
        for column in columns
        if column
    ]


def _dot_node(key: str, label: list[str], kind: str, shape: str = "box") -> str:
    fill, stroke = DOT_COLORS[kind]
    return (
        f"{dot_quote(key)} [label={dot_label(label)}, shape={shape}, "
        f'fillcolor="{fill}", color="{stroke}"];'
    )


def _dot_cluster(key: str, title: str, items: list[str], indent: str = "  ") -> list[str]:
    if not items:
        return []
    return [
        f"{indent}subgraph {dot_quote('cluster_' + key)} {{",
        f'{indent}  label={dot_quote(title)}; style="rounded,dashed"; color="#bfbfbf";',
        *(f"{indent}  {item}" for item in items),
        f"{indent}}}",
    ]


def _dot_nested(
    key: str, title: str, group_key: str, groups: list[tuple[str, list[str]]]
) -> list[str]:
    """A cluster holding one cluster per (title, items) group; nothing when all are empty."""
    inner = [
        line
        for name, items in groups
        for line in _dot_cluster(f"{group_key}:{name}", name, items, indent="    ")
    ]
    return _dot_outer(key, title, inner)


def _dot_outer(key: str, title: str, groups: list[str]) -> list[str]:
    if not groups:
        return []
    return [
        f"  subgraph {dot_quote('cluster_' + key)} {{",
        f'    label={dot_quote(title)}; style="rounded"; color="#bfbfbf";',
        *groups,
        "  }",
    ]


# --- SVG through Graphviz -------------------------------------------------------------------


class GraphvizCrash(CommandError):
    """`dot` died on a signal: some Graphviz releases abort on cluster layouts they dislike."""


def to_svg(mesh: Mesh) -> str:
    try:
        return dot_to("svg", to_dot(mesh))
    except GraphvizCrash:
        # Graphviz 2.43 asserts on some rank constraints across clusters; the picture without
        # them is less tidy but complete.
        return dot_to("svg", to_dot(mesh, columns=False))


def dot_to(output: str, source: str) -> str:
    """Lay out DOT source with Graphviz's `dot` program."""
    program = shutil.which("dot")
    if program is None:
        raise CommandError(
            "Graphviz's `dot` program is not installed (needed for --format "
            "svg); install graphviz (e.g. `apt-get install graphviz`) or use "
            "--format dot or --format mermaid"
        )
    result = subprocess.run(
        [program, f"-T{output}"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        error = GraphvizCrash if result.returncode < 0 else CommandError
        raise error(f"Graphviz `dot` failed (exit {result.returncode}): {result.stderr.strip()}")
    return result.stdout


FORMATS: dict[str, Callable[[Mesh], str]] = {"mermaid": to_mermaid, "dot": to_dot, "svg": to_svg}


def render_graph(mesh: Mesh, fmt: str) -> str:
    return FORMATS[fmt](mesh)
