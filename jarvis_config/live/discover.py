"""`discover`: ask running runtimes what they serve and write a starter mesh from it.

Each URL is asked, in this order, as Ollama (`/api/tags`), as a llama.cpp server (`/props`)
and as an OpenAI-compatible server (`/v1/models`; vLLM when it reports `max_model_len`). The
result is YAML text with comments wherever the operator must decide (roles, categories,
aliases). Every key and value a runtime or a URL supplies is written by the YAML serializer
(`_yaml`), never spliced in as it stands: a model called `null`, `1.5` or `2024-01-01` stays
text. The text is read back and compared with what was meant (`check_round_trip`), then
validated, before anyone writes it.
"""

from __future__ import annotations

import ipaddress
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import yaml

from jarvis_config.live.http import ProbeFailure, request_json
from jarvis_config.live.probes import ODD_SHAPES, PROBES, Endpoint, Served, in_parallel
from jarvis_config.model.catalog import MODEL_CATEGORIES, SINGLE_MODEL_RUNTIMES
from jarvis_config.model.hosts import host_fault
from jarvis_config.model.mesh import NAME

OVERHEAD = 1.2  # weights plus KV cache and runtime buffers, a rough rule of thumb
GB = 1_000_000_000


class DiscoverError(Exception):
    """A URL could not be read as a runtime; str() says which and why."""


@dataclass(frozen=True)
class Found:
    """One runtime that answered: where it is, its kind, what it serves."""

    node: str
    address: str
    kind: str
    port: int
    models: tuple[Served, ...]


def discover(urls: Sequence[str], timeout: float) -> list[Found | str]:
    """Each URL's runtime, or the reason it could not be asked, in the order given."""
    deadline = time.monotonic() + timeout
    answers = in_parallel([partial(_discover_one, url, deadline) for url in urls], deadline)
    return [
        answer or f"{url}: no answer within the timeout"
        for answer, url in zip(answers, urls, strict=True)
    ]


def _discover_one(url: str, deadline: float) -> Found | str:
    try:
        target = _target(url)
        for kind in ("ollama", "llamacpp", "openai"):
            found = _as_kind(target, kind, deadline)
            if found is not None:
                return found
    except (ProbeFailure, DiscoverError) as exc:
        return f"{url}: {exc}"
    return f"{url}: answers neither as Ollama, llama.cpp nor an OpenAI-compatible server"


def _target(url: str) -> Endpoint:
    split = urlsplit(url if "://" in url else f"http://{url}")
    if split.scheme not in ("http", "https") or not split.hostname:
        raise DiscoverError("not an http URL (e.g. http://ai-max.lan:11434)")
    try:
        port = split.port or (443 if split.scheme == "https" else 80)
    except ValueError:
        raise DiscoverError("the port is not a number from 1 to 65535") from None
    fault = host_fault(split.hostname, in_url=False)
    if fault is not None:  # the mesh would refuse it as a node's address
        raise DiscoverError(f"the host {split.hostname[:100]} {fault}")
    return Endpoint(node_name(split.hostname), "", split.hostname, port)


def _as_kind(target: Endpoint, kind: str, deadline: float) -> Found | None:
    """The runtime at `target` read as `kind`; None when it does not answer like one. A
    refused connection or a timeout ends the whole attempt."""
    probe = Endpoint(target.node, "vllm" if kind == "openai" else kind, target.address, target.port)
    try:
        if kind == "llamacpp":
            request_json(f"{probe.base}/props", deadline=deadline)
        models = PROBES[probe.kind](probe, deadline)
    except ProbeFailure as exc:
        if not exc.answered:
            raise
        return None
    except ODD_SHAPES:  # it answered, but not as this kind does
        return None
    # vLLM reports max_model_len; another OpenAI-compatible server does not.
    vllm = any(m.context_window for m in models)
    final = probe.kind if kind != "openai" or vllm else "openai-compatible"
    return Found(target.node, target.address, final, target.port, tuple(models))


def node_name(host: str) -> str:
    """A node name from a host: a hostname's first label, an IP address with dashes."""
    try:
        ipaddress.ip_address(host)
        raw = "node-" + re.sub(r"[.:]+", "-", host).strip("-")
    except ValueError:
        raw = host.split(".", 1)[0]
    return _name(raw, "node")


def model_name(source: str) -> str:
    """A model name from a runtime's model name: `llama3:8b` -> `llama3-8b`,
    `org/model.gguf` -> `model`."""
    stem = source.rsplit("/", 1)[-1].removesuffix(".gguf").removesuffix(":latest")
    return _name(stem.replace(":", "-"), "model")


def _name(raw: str, fallback: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-._")[:63]
    return cleaned if NAME.match(cleaned) else fallback


def memory_estimate(size_bytes: int | None) -> float | None:
    """GB to budget for a model of this size: the weights plus OVERHEAD, in half GBs."""
    if not size_bytes:
        return None
    return math.ceil(size_bytes * OVERHEAD / GB * 2) / 2


def guess_category(served: Served) -> str | None:
    """Only the obvious case: embedding models say so in their name."""
    return "embedding" if "embed" in served.name.lower() else None


# --- the starter mesh ----------------------------------------------------------------------------

HEADER = """\
# A starter mesh written by `jarvis-config discover` from what the runtimes serve.
# Lines marked "decide" need a person: roles, categories, aliases, memory budgets.
# Then: jarvis-config validate FILE && jarvis-config build FILE -o out/
version: 1
gateway:
  port: 4000
  master_key: ${JARVIS_MASTER_KEY}   # the gateway's key, read from the environment
"""
ALIASES = """\
# aliases:                  # decide: the names clients use, e.g.
#   chat: MODEL
# routing:
#   fallbacks: {MODEL: [OTHER_MODEL]}
"""


@dataclass
class _Model:
    name: str
    kind: str
    served: Served
    nodes: list[str]
    contexts: list[int]


def starter_yaml(found: Sequence[Found], skip: frozenset[str] = frozenset()) -> str:
    """The mesh as commented YAML; strings are JSON-quoted, which YAML reads as written.
    Models named in `skip` are left out with a comment (their runtime names are not usable)."""
    lines = [HEADER.rstrip("\n"), "nodes:"]
    every = _models(found)
    names = {(m.kind, m.served.name): m.name for m in every}
    for node, address in sorted({(f.node, f.address) for f in found}):
        lines += _node_lines(node, address, [f for f in found if f.node == node], names)
    models = [m for m in every if m.name not in skip]
    lines.append("models:" if models else "models: {}")
    for model in models:
        lines += _model_lines(model)
    if skip:
        lines.append(
            f"# skipped {len(skip)} served model(s) whose names cannot be a source "
            "(empty, or an env reference or secret look-alike); add them by hand"
        )
    text = "\n".join(lines) + "\n" + ALIASES
    check_round_trip(text, found, skip)
    return text


def _node_lines(
    node: str, address: str, found: list[Found], names: Mapping[tuple[str, str], str]
) -> list[str]:
    lines = [
        f"  {_yaml(node)}:",
        f"    address: {_yaml(address)}",
        "    # roles: [gpu]           # decide: labels that requests and placements can target",
        f"    # memory_gb: {_memory_hint(found)}   # decide: the memory budget for its models",
        "    runtimes:",
    ]
    for kind in sorted({f.kind for f in found}):
        ports = sorted({f.port for f in found if f.kind == kind})
        lines.append(f"      {kind}: {{port: {ports[0]}}}")
        same_kind = [f for f in found if f.kind == kind]
        if kind in SINGLE_MODEL_RUNTIMES and not _ports_in_build_order(same_kind, names):
            lines.append(
                f"      # check: {kind} serves one model per port; the build gives this node's "
                f"{kind} models consecutive ports from {ports[0]} in model-name order "
                f"(found: {', '.join(map(str, ports))})"
            )
    return lines


def _ports_in_build_order(found: list[Found], names: Mapping[tuple[str, str], str]) -> bool:
    """Whether `build` will give these one-model servers the ports they run on: consecutive
    ports from the lowest, in model-name order."""
    placed = sorted((names[f.kind, m.name], f.port) for f in found for m in f.models)
    first = min(f.port for f in found)
    return all(port == first + i for i, (_, port) in enumerate(placed))


def _memory_hint(found: list[Found]) -> str:
    """What the node's models need by the estimate, when every one reports its size."""
    sizes = [memory_estimate(m.size_bytes) for f in found for m in f.models]
    known = [s for s in sizes if s is not None]
    return f"{sum(known):g}" if known and len(known) == len(sizes) else "24"


def _models(found: Iterable[Found]) -> list[_Model]:
    by_key: dict[tuple[str, str], _Model] = {}
    for item in sorted(found, key=lambda f: (f.node, f.kind, f.port)):
        for served in item.models:
            key = (item.kind, served.name)
            model = by_key.setdefault(key, _Model("", item.kind, served, [], []))
            if item.node not in model.nodes:
                model.nodes.append(item.node)
            if served.context_window:
                model.contexts.append(served.context_window)
    taken: set[str] = set()
    for key in sorted(by_key):
        by_key[key].name = _unique(model_name(key[1]), taken)
    return sorted(by_key.values(), key=lambda m: m.name)


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name[:60]}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _model_lines(model: _Model) -> list[str]:
    served = model.served
    category = guess_category(served)
    choices = " | ".join(MODEL_CATEGORIES)
    lines = [
        f"  {_yaml(model.name)}:",
        f"    category: {category or 'general'}" + ("" if category else f"   # decide: {choices}"),
        f"    runtime: {model.kind}",
        f"    source: {_yaml(served.name)}",
    ]
    if model.contexts:
        note = "   # the smallest served on its nodes" if len(set(model.contexts)) > 1 else ""
        lines.append(f"    context_window: {min(model.contexts)}{note}")
    if served.quantization:
        lines.append(f"    quantization: {_yaml(served.quantization)}")
    memory = memory_estimate(served.size_bytes)
    if memory is not None:
        size = served.size_bytes or 0
        lines.append(
            f"    memory_gb: {memory:g}   # estimate: {size / GB:.1f} GB of weights + 20 %"
        )
    else:
        lines.append("    # memory_gb: 8           # decide: the runtime does not report a size")
    lines.append(f"    placement: {_yaml({'nodes': model.nodes})}")
    return lines


def _yaml(value: Any) -> str:
    """One value as YAML on one line, as the serializer writes it (quoted where YAML would
    read it as another type; non-ASCII characters as escapes)."""
    text: str = yaml.safe_dump(value, default_flow_style=True, width=math.inf)
    return text.removesuffix("\n...\n").removesuffix("\n")


def check_round_trip(text: str, found: Sequence[Found], skip: frozenset[str]) -> None:
    """Read the starter back: every node's address and every model's source must be what
    the runtimes said, under names that are text. A difference is this writer's fault."""
    data = yaml.safe_load(text)
    nodes, models = data.get("nodes") or {}, data.get("models") or {}
    meant_nodes = {f.node: f.address for f in found}
    read_nodes = {name: spec.get("address") for name, spec in nodes.items()}
    meant_models = {m.name: m.served.name for m in _models(found) if m.name not in skip}
    read_models = {name: spec.get("source") for name, spec in models.items()}
    if read_nodes != meant_nodes or read_models != meant_models:
        raise RuntimeError("the starter mesh does not read back as written")
