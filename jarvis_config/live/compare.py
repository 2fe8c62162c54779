"""Compare the mesh with what its runtimes answered: each difference a `Problem` at the YAML
position it is about (the model, its context window, the node's runtime).

Problem codes (one cause each):
  runtime-unreachable      error    a runtime did not answer its listing endpoint
  runtime-bad-answer       error    a server answered there, but not as that runtime does
  model-not-served         error    a model placed on a node is missing from that runtime
  context-window-exceeds-served  error  the declared context_window is larger than served
  quantization-differs     warning  the runtime serves another quantization than declared
  model-unused             note     a runtime serves models that the mesh does not place there
"""

from __future__ import annotations

from collections.abc import Iterable

from jarvis_config.live.probes import (
    Endpoint,
    Listing,
    Served,
    find_served,
    placed_on,
    same_model,
)
from jarvis_config.load import Document
from jarvis_config.model.mesh import Mesh, Model
from jarvis_config.problems import PathParts, Problem, Severity, json_path

MAX_NAMES = 8  # models named in one message; the rest are counted


def problem_at(
    doc: Document,
    path: PathParts,
    code: str,
    message: str,
    hint: str | None = None,
    severity: Severity = Severity.ERROR,
) -> Problem:
    """A problem at the key naming `path` (the value's position when it has no key)."""
    return Problem(doc.locate_key(path), code, message, json_path(path), hint, severity)


def compare(mesh: Mesh, doc: Document, listings: Iterable[Listing]) -> list[Problem]:
    problems: list[Problem] = []
    for listing in listings:
        if listing.error is not None:
            problems.append(_unreachable(doc, listing))
            continue
        placed = placed_on(mesh, listing.target)
        for deployment in placed:
            problems += _check_model(doc, listing, mesh.model(deployment.model))
        problems += _unused(doc, listing, [mesh.model(d.model).source for d in placed])
    return sorted(problems)


def _runtime_path(target: Endpoint) -> PathParts:
    return ("nodes", target.node, "runtimes", target.kind)


def _unreachable(doc: Document, listing: Listing) -> Problem:
    target, where = listing.target, f"node {listing.target.node!r}"
    if listing.answered:
        return problem_at(
            doc,
            _runtime_path(target),
            "runtime-bad-answer",
            f"{where}: {target.endpoint} answers, but not as {target.kind} does: {listing.error}",
            "check the runtime kind and port in the mesh (another server may hold that port), "
            "and the runtime's api_key",
        )
    return problem_at(
        doc,
        _runtime_path(target),
        "runtime-unreachable",
        f"{where}: {target.kind} at {target.endpoint} is unreachable: {listing.error}",
        "start the runtime on that node, or correct the node's address or the runtime's port",
    )


def _check_model(doc: Document, listing: Listing, model: Model) -> list[Problem]:
    target = listing.target
    served = find_served(model.source, listing.models)
    if served is None:
        return [_not_served(doc, listing, model)]
    problems = []
    if (model.context_window or 0) > (served.context_window or model.context_window or 0):
        problems.append(_context(doc, target, model, served))
    declared, actual = (model.quantization or "").lower(), (served.quantization or "").lower()
    if declared and actual and declared != actual:
        problems.append(_quantization(doc, target, model, served))
    return problems


def _not_served(doc: Document, listing: Listing, model: Model) -> Problem:
    target = listing.target
    if target.kind == "ollama":
        fix = f"run `ollama pull {model.source}` on {target.node}"
    else:
        fix = f"start {target.kind} on {target.node} with {model.source}"
    names = _names(m.name for m in listing.models) or "nothing"
    return problem_at(
        doc,
        ("models", model.name),
        "model-not-served",
        f"model {model.name!r} ({model.source}) is placed on node {target.node!r}, "
        f"but {target.kind} at {target.endpoint} does not serve it",
        f"{fix}, or change its source or placement; it serves: {names}",
    )


def _context(doc: Document, target: Endpoint, model: Model, served: Served) -> Problem:
    return problem_at(
        doc,
        ("models", model.name, "context_window"),
        "context-window-exceeds-served",
        f"model {model.name!r} declares context_window {model.context_window}, but "
        f"{target.kind} on node {target.node!r} serves {served.name} with "
        f"{served.context_window} tokens",
        f"lower context_window to {served.context_window}, or serve the model with a larger "
        "context (Ollama: num_ctx; vLLM: --max-model-len; llama.cpp: --ctx-size)",
    )


def _quantization(doc: Document, target: Endpoint, model: Model, served: Served) -> Problem:
    return problem_at(
        doc,
        ("models", model.name, "quantization"),
        "quantization-differs",
        f"model {model.name!r} declares quantization {model.quantization}, but "
        f"{target.kind} on node {target.node!r} serves {served.quantization}",
        "correct quantization in the mesh, or pull the declared variant on that node",
        Severity.WARNING,
    )


def _unused(doc: Document, listing: Listing, sources: list[str]) -> list[Problem]:
    extra = [m.name for m in listing.models if not any(same_model(s, m.name) for s in sources)]
    if not extra:
        return []
    target = listing.target
    return [
        problem_at(
            doc,
            _runtime_path(target),
            "model-unused",
            f"{target.kind} on node {target.node!r} serves models the mesh does not place "
            f"there: {_names(extra)}",
            "place them in the mesh (jarvis-config discover writes a starter), or remove "
            "them from the runtime to free memory",
            Severity.NOTE,
        )
    ]


def _names(names: Iterable[str]) -> str:
    ordered = sorted(set(names))
    shown = ", ".join(ordered[:MAX_NAMES])
    more = len(ordered) - MAX_NAMES
    return shown + (f" and {more} more" if more > 0 else "")
