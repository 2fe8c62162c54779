"""Stage 2d, values and their outputs: rules that keep a value harmless in every file and
every line of text it reaches, whichever format that is.

A value written by a pull request's author travels into a CI log (`diff`, `explain`), a
Kubernetes manifest, a compose file and the proxy's config. The rules here refuse what no
output can carry as written: line breaks and control characters in single-line fields, and
secret variables read for a purpose other than their own (the gateway's master key sent as a
provider's bearer token). They run beside the hostile-value rules (`check_outputs`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jarvis_config.load import Document
from jarvis_config.model.budget import MAX_ENTRIES, MAX_TEXT, budget_fault, too_large
from jarvis_config.model.mesh import ENV_REF, Mesh
from jarvis_config.problems import PathParts, Problem
from jarvis_config.validate.codes import emits
from jarvis_config.validate.hostile import Walk
from jarvis_config.validate.schema import subject
from jarvis_config.validate.semantics import View, _is_name, _keys, _problem

# Control characters (C0, DEL, C1 with NEL), the Unicode line and paragraph separators, and the
# bidirectional overrides that make text read differently than it is ("Trojan source").
UNSAFE_ANYWHERE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
UNSAFE = re.compile(f"[\t\n{UNSAFE_ANYWHERE}]")
UNSAFE_IN_PROSE = re.compile(f"[{UNSAFE_ANYWHERE}]")
# Fields that are text of several lines by nature: prose, and stop strings ("\n\nUser:") that
# a model's output is matched against. Every other string is one line: a name, a source, an
# address, a version, a URL. Their own rules check addresses and URLs.
MULTI_LINE = ("description", "stop")
CHECKED_ELSEWHERE = ("address", "api_base")
# The variables the tool itself gives a purpose: the gateway's Redis and database.
INFRASTRUCTURE = {
    "REDIS_PASSWORD": "the password of the gateway's Redis",
    "POSTGRES_PASSWORD": "the password of the gateway's database",
    "DATABASE_URL": "the gateway's database URL",
}


def check_outputs(doc: Document, *, environ: Mapping[str, str]) -> list[Problem]:
    """Every problem of values that no output could carry safely, sorted."""
    view, walk = View(doc, environ), Walk.of(doc.data)  # one walk of the document for all
    return sorted({problem for rule in RULES for problem in rule(view, walk)})


# --- one line is one line --------------------------------------------------------------------


def _is_multi_line(path: PathParts) -> bool:
    """description, params.stop as a string and each item of params.stop as a list."""
    named = [part for part in path if isinstance(part, str)]
    return bool(named) and named[-1] in MULTI_LINE


def _unsafe_in(path: PathParts, value: str) -> str | None:
    pattern = UNSAFE_IN_PROSE if _is_multi_line(path) else UNSAFE
    match = pattern.search(value)
    return None if match is None else match.group()


def _spelled(char: str) -> str:
    return {"\n": "a line break", "\t": "a tab"}.get(char, f"the character U+{ord(char):04X}")


@emits("control-character")
def control_characters(view: View, walk: Walk) -> Iterator[Problem]:
    """No runtime serves a name with a line break, and a line break in a value printed by
    `diff` or `explain` in CI starts a line the CI reads as a command (`::error ...`)."""
    for path, value in walk.values:
        if not isinstance(value, str) or not path or path[-1] in CHECKED_ELSEWHERE:
            continue
        char = _unsafe_in(path, value)
        if char is not None:
            where = "a description or stop string" if _is_multi_line(path) else "a one-line field"
            yield _problem(
                view.doc.locate(path),
                "control-character",
                f"{subject(path)} holds {_spelled(char)}, which {where} cannot hold",
                path,
                "remove it: names, sources and settings are one line of printable text"
                if not _is_multi_line(path)
                else "remove it; line breaks and tabs are the only control characters allowed",
            )


# --- one variable, one purpose ---------------------------------------------------------------

Reader = tuple[PathParts, str, bool]  # (path, who reads, a credential the gateway accepts)


def secret_readers(view: View) -> Iterator[tuple[str, Reader]]:
    """(variable, reader) for every secret field that reads a variable."""
    master = view.section("gateway").get("master_key")
    yield from _reading(master, ("gateway", "master_key"), "the master key", True)
    for name, spec in _keys(view).items():
        path: PathParts = ("gateway", "keys", name, "key")
        yield from _reading(spec.get("key"), path, f"the key of client {name!r}", True)
    for name, spec in view.entries("providers").items():
        path = ("providers", name, "api_key")
        yield from _reading(spec.get("api_key"), path, f"the API key of provider {name!r}", False)
    for node in view.entries("nodes"):
        for kind, runtime in view.runtimes(node).items():
            if isinstance(runtime, dict) and _is_name(kind):
                path = ("nodes", node, "runtimes", kind, "api_key")
                who = f"the API key of the {kind} runtime on node {node!r}"
                yield from _reading(runtime.get("api_key"), path, who, False)


def _reading(value: Any, path: PathParts, who: str, accepted: bool) -> Iterator[tuple[str, Reader]]:
    match = ENV_REF.match(value) if isinstance(value, str) else None
    if match is not None:
        yield match.group(1), (path, who, accepted)


@emits("secret-purpose")
def secret_purposes(view: View, walk: Walk) -> Iterator[Problem]:
    """A variable is either a credential the gateway accepts (the master key, a client's key)
    or one it sends upstream (a provider's or runtime's key), never both, and never one of
    the gateway's own passwords: the proxy sends an upstream key as a bearer token to that
    upstream's host, so a shared variable hands the gateway's keys to whoever runs it."""
    accepted: dict[str, str] = {}
    readers = list(secret_readers(view))
    for var, (_, who, is_accepted) in readers:
        if is_accepted:
            accepted.setdefault(var, who)
    for var, (path, who, is_accepted) in readers:
        other = INFRASTRUCTURE.get(var) or (None if is_accepted else accepted.get(var))
        if other is None:
            continue
        consequence = (
            "whoever holds it could call the gateway with it"
            if is_accepted
            else f"the gateway would send it as {who}, a bearer token to that upstream's host"
        )
        yield _problem(
            view.doc.locate(path),
            "secret-purpose",
            f"{subject(path)} reads ${{{var}}}, which is {other}; {consequence}",
            path,
            "give each secret its own variable: one variable holds one credential for one use",
        )


# --- limits the renderers enforce ------------------------------------------------------------


@emits("text-too-long")
def long_texts(view: View, walk: Walk) -> Iterator[Problem]:
    """Every string and key at most MAX_TEXT characters: the kubernetes target cannot split a
    line of the gateway's config, so a longer one would pass validate and fail build."""
    for path, value in walk.values:
        for text, at in ((value, path), *(((path[-1], path),) if path else ())):
            if isinstance(text, str) and len(text) > MAX_TEXT:
                yield _problem(
                    view.doc.locate(at),
                    "text-too-long",
                    f"{subject(at)} holds a text of {len(text):,} characters, more than "
                    f"{MAX_TEXT:,}",
                    at,
                    "shorten it: a value is written on one line of the gateway's config, "
                    "which Kubernetes holds in a ConfigMap of 192 KiB",
                )
                break


# --- output that grows faster than input ------------------------------------------------------


@emits("output-too-large")
def output_budget(view: View, walk: Walk) -> Iterator[Problem]:
    """The deployments' tags counted on the document, before the mesh is built: building a
    mesh of 100 nodes with 1,500 shared roles and 100 models would already exhaust memory.
    Counted as `model.budget.products` counts them on the built mesh."""
    tags = {node: 1 + len(view.roles(node)) for node in view.entries("nodes")}
    total = 0
    for model, spec in view.runtime_models().items():
        total += sum(1 + tags[node] for node in _placed(view, spec))
        if total > MAX_ENTRIES:
            what = "deployment tags (models placed on nodes x the roles of each node)"
            yield _too_large(view.doc, ("models", model), f"more than {MAX_ENTRIES:,} {what}")
            return


def _placed(view: View, spec: dict[str, Any]) -> set[str]:
    """The nodes a model's placement selects (as `model.mesh.placed_nodes` does)."""
    placement, runtime = spec.get("placement"), spec.get("runtime")
    if not isinstance(placement, dict) or not isinstance(runtime, str):
        return set()
    nodes = set(view.entries("nodes"))
    listed = placement.get("nodes")
    if isinstance(listed, list):
        return {n for n in listed if isinstance(n, str) and n in nodes}
    roles, index = placement.get("roles"), view.role_index(runtime)
    if not isinstance(roles, list):
        return set()
    return {n for r in roles if isinstance(r, str) for n in index.get(r, ())}


def _too_large(doc: Document, path: PathParts, what: str) -> Problem:
    return _problem(
        doc.locate_key(path),
        "output-too-large",
        f"{what}: the rendered files would grow with that product, not with the config",
        path,
        "give nodes fewer roles, place models on fewer nodes, or declare fewer aliases and "
        "fallbacks; or split the mesh",
    )


def check_outputs_mesh(mesh: Mesh, doc: Document) -> list[Problem]:
    """The budget of `model.budget`, on the built mesh: what `build` checks before rendering."""
    over = budget_fault(mesh)
    if over is None:
        return []
    return [_too_large(doc, ("models",), too_large(over))]


Rule = Callable[[View, Walk], Iterator[Problem]]
RULES: tuple[Rule, ...] = (control_characters, secret_purposes, long_texts, output_budget)
MESH_RULES = (check_outputs_mesh,)
