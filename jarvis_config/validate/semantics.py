"""Stage 2b, semantics: the rules a JSON Schema cannot express, run after it.

References between sections (placements, providers, aliases, fallbacks), runtimes and ports
on each node, memory budgets, secrets and the LiteLLM pin. The rules also run when the schema
failed, so each reads the data defensively and skips whatever is malformed (the schema has
already reported it). One function per rule; `RULES` runs them in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from jarvis_config.load import Document
from jarvis_config.model.catalog import (
    COMPROMISED_LITELLM_VERSIONS,
    DEFAULT_LITELLM_VERSION,
    RUNTIME_DEFAULT_PORTS,
)
from jarvis_config.model.hosts import host_fault
from jarvis_config.model.mesh import ENV_REF, NAME, Mesh
from jarvis_config.model.processes import limit_shares, processes
from jarvis_config.problems import Location, PathParts, Problem, Severity, json_path
from jarvis_config.validate.codes import emits
from jarvis_config.validate.schema import misspelt, subject
from jarvis_config.wording import closest

FALLBACK_KEYS = {"fallbacks": "fallback", "context_window_fallbacks": "context window fallback"}
# Plain-text fields: an env reference there would reach the rendered files literally.
TEXT_FIELDS = (
    "address",
    "api_base",
    "api_version",
    "source",
    "description",
    "quantization",
    "image",
    "litellm_version",
)
TOKEN_LIKE = re.compile(
    r"^(sk-|sk_|ghp_|gho_|github_pat_|gsk_|xai-|hf_|AIza|xox[abp]-)[A-Za-z0-9_-]{16,}$"
)
NEEDS_API_BASE = ("openai-compatible", "azure")
NAMED = ("nodes", "providers", "models", "aliases")
MODEL_FIELDS = (
    "category",
    "description",
    "runtime",
    "provider",
    "source",
    "context_window",
    "memory_gb",
    "quantization",
    "placement",
    "params",
    "limits",
    "capabilities",
)


class View:
    """The document's sections, read defensively: malformed parts come back empty."""

    def __init__(self, doc: Document, environ: Mapping[str, str]) -> None:
        self.doc = doc
        self.environ = environ
        # Built on first use and kept: rules ask per node and per model, and a section
        # filtered (or every node scanned) on each question would cost models x nodes.
        self._sections: dict[str, dict[str, Any]] = {}
        self._entries: dict[str, dict[str, dict[str, Any]]] = {}
        self._hosting: dict[str, list[str]] = {}
        self._by_role: dict[str, dict[str, list[str]]] = {}
        self._targets: dict[str, set[str]] = {}

    def section(self, name: str) -> dict[str, Any]:
        """A section; for named sections only entries with valid names (the schema reports
        the others, which must not reach messages raw). Callers must not modify it."""
        if name not in self._sections:
            value = self.doc.data.get(name)
            self._sections[name] = (
                {}
                if not isinstance(value, dict)
                else {k: v for k, v in value.items() if name not in NAMED or _is_name(k)}
            )
        return self._sections[name]

    def entries(self, name: str) -> dict[str, dict[str, Any]]:
        """Named entries whose value is a mapping (nodes, providers, models)."""
        if name not in self._entries:
            self._entries[name] = {
                k: v for k, v in self.section(name).items() if isinstance(v, dict)
            }
        return self._entries[name]

    def runtime_models(self) -> dict[str, dict[str, Any]]:
        return {
            m: s
            for m, s in self.entries("models").items()
            if "runtime" in s and "provider" not in s
        }

    def runtimes(self, node: str) -> dict[str, Any]:
        value = self.entries("nodes").get(node, {}).get("runtimes")
        return value if isinstance(value, dict) else {}

    def roles(self, node: str) -> list[str]:
        value = self.entries("nodes").get(node, {}).get("roles")
        return [r for r in value if _is_name(r)] if isinstance(value, list) else []

    def nodes_with(self, runtime: str) -> list[str]:
        """The nodes with this runtime, in name order. Callers must not modify it."""
        if runtime not in self._hosting:
            nodes = sorted(self.entries("nodes"))
            self._hosting[runtime] = [n for n in nodes if runtime in self.runtimes(n)]
        return self._hosting[runtime]

    def role_index(self, runtime: str) -> dict[str, list[str]]:
        """role -> the nodes with that role and this runtime, in name order."""
        if runtime not in self._by_role:
            index: dict[str, list[str]] = {}
            for node in self.nodes_with(runtime):
                for role in dict.fromkeys(self.roles(node)):
                    index.setdefault(role, []).append(node)
            self._by_role[runtime] = index
        return self._by_role[runtime]

    def targets(self) -> set[str]:
        """Names a request, alias or fallback may use: models and aliases (asked once per
        alias and fallback, so built once). Callers must not modify it."""
        if not self._targets:
            self._targets["all"] = set(self.section("models")) | set(self.section("aliases"))
        return self._targets["all"]

    def resolve(self, name: str) -> str:
        """The model an alias finally names (the name itself for models and unknowns)."""
        aliases, seen = self.section("aliases"), {name}
        while name not in self.section("models") and isinstance(aliases.get(name), str):
            name = aliases[name]
            if name in seen:
                break
            seen.add(name)
        return name


Rule = Callable[[View], Iterable[Problem]]


def check_semantics(doc: Document, *, environ: Mapping[str, str]) -> list[Problem]:
    """Every semantic problem of the document (warnings included), sorted."""
    view = View(doc, environ)
    return sorted({problem for rule in RULES for problem in rule(view)})


def _problem(
    location: Location, code: str, message: str, path: PathParts, hint: str | None = None
) -> Problem:
    return Problem(location, code, message, json_path(path), hint)


def _is_name(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and NAME.match(value) is not None


def _names(value: Any) -> list[tuple[int, str]]:
    """Valid names in a list, with their index (malformed items are the schema's to report)."""
    return [(i, v) for i, v in enumerate(value) if _is_name(v)] if isinstance(value, list) else []


def _defined_hint(name: str, defined: Iterable[str], what: str) -> str:
    options = sorted({d for d in defined if _is_name(d)})
    match = closest(name, options)
    if match:
        return f"did you mean {match!r}?"
    if options:
        return f"defined {what}: {', '.join(options)}"
    return f"no {what} are defined"


def _gb(value: float) -> str:
    return f"{round(value, 3):g}"


# --- references ----------------------------------------------------------------------------


@emits("unknown-provider")
def unknown_providers(view: View) -> Iterator[Problem]:
    defined = view.section("providers")
    for model, spec in view.entries("models").items():
        provider = spec.get("provider")
        if _is_name(provider) and provider not in defined:
            path = ("models", model, "provider")
            yield _problem(
                view.doc.locate(path),
                "unknown-provider",
                f"model {model!r} uses provider {provider!r}, which is not defined",
                path,
                _defined_hint(provider, defined, "providers"),
            )


@emits("unknown-node", "node-without-runtime")
def placement_nodes(view: View) -> Iterator[Problem]:
    """Named nodes must exist and run the model's runtime."""
    for model, spec in view.runtime_models().items():
        placement, kind = spec.get("placement"), _runtime_kind(spec)
        if not isinstance(placement, dict):
            continue
        for index, node in _names(placement.get("nodes")):
            path: PathParts = ("models", model, "placement", "nodes", index)
            if node not in view.section("nodes"):
                yield _problem(
                    view.doc.locate(path),
                    "unknown-node",
                    f"node {node!r} is not defined",
                    path,
                    _defined_hint(node, view.section("nodes"), "nodes"),
                )
            elif (
                kind is not None
                and node in view.entries("nodes")
                and kind not in view.runtimes(node)
                and _runtimes_known(view, node)
            ):
                yield _problem(
                    view.doc.locate(path),
                    "node-without-runtime",
                    f"model {model!r} runs on {kind}, but node {node!r} has no {kind!r} runtime",
                    path,
                    _runtime_hint(view, kind, node),
                )


def _runtime_kind(spec: dict[str, Any]) -> str | None:
    """The model's runtime when it is a known kind (the schema reports any other value)."""
    kind = spec.get("runtime")
    return kind if isinstance(kind, str) and kind in RUNTIME_DEFAULT_PORTS else None


def _runtimes_known(view: View, node: str) -> bool:
    """False when a runtime kind is misspelt: the schema reports that, not its consequences."""
    return set(view.runtimes(node)) <= set(RUNTIME_DEFAULT_PORTS)


def _runtime_hint(view: View, kind: str, node: str | None = None) -> str:
    having = view.nodes_with(kind)
    if having:
        return f"nodes with a {kind!r} runtime: {', '.join(having)}"
    where = f"nodes.{node}.runtimes" if node else "the runtimes of a node"
    return f"no node has a {kind!r} runtime; add one under {where}"


@emits("unknown-role", "placement-empty")
def placement_roles(view: View) -> Iterator[Problem]:
    """Roles must exist; together with the runtime they must select at least one node."""
    all_roles = {role for node in view.entries("nodes") for role in view.roles(node)}
    for model, spec in view.runtime_models().items():
        placement = spec.get("placement")
        if not isinstance(placement, dict) or not isinstance(placement.get("roles"), list):
            continue
        roles = _names(placement["roles"])
        unknown = [(i, r) for i, r in roles if r not in all_roles]
        for index, role in unknown:
            path: PathParts = ("models", model, "placement", "roles", index)
            yield _problem(
                view.doc.locate(path),
                "unknown-role",
                f"no node has the role {role!r}",
                path,
                _defined_hint(role, all_roles, "roles"),
            )
        kind = _runtime_kind(spec)
        if (
            roles
            and not unknown
            and kind is not None
            and not _selected(view, [r for _, r in roles], kind)
        ):
            path = ("models", model, "placement", "roles")
            listed = " or ".join(repr(r) for _, r in roles)
            yield _problem(
                view.doc.locate(path),
                "placement-empty",
                f"the placement of model {model!r} selects no node: no node with "
                f"role {listed} has a {kind!r} runtime",
                path,
                _runtime_hint(view, kind),
            )


def _selected(view: View, roles: list[str], kind: str) -> list[str]:
    index = view.role_index(kind)
    return sorted({node for role in roles for node in index.get(role, ())})


@emits("hosted-placement", "missing-placement")
def placement_presence(view: View) -> Iterator[Problem]:
    """Runtime models need a placement; hosted models take none."""
    for model, spec in view.entries("models").items():
        if "provider" in spec and "runtime" not in spec and "placement" in spec:
            path: PathParts = ("models", model, "placement")
            yield _problem(
                view.doc.locate_key(path),
                "hosted-placement",
                f"model {model!r} is served by a hosted provider; it takes no placement",
                path,
                "remove placement: hosted models are reached through their provider",
            )
        elif (
            "runtime" in spec
            and "provider" not in spec
            and "placement" not in spec
            and not misspelt(spec, "placement", MODEL_FIELDS)
        ):
            path = ("models", model)
            kind = _runtime_kind(spec)
            having = view.nodes_with(kind) if kind else []
            example = f"{{nodes: [{', '.join(having)}]}}" if having else "{nodes: [...]}"
            runs = f" runs on {kind} but" if kind else ""
            yield _problem(
                view.doc.locate_key(path),
                "missing-placement",
                f"model {model!r}{runs} has no placement",
                path,
                f"add placement: {example}, or placement: {{roles: [...]}}",
            )


# --- API keys ---------------------------------------------------------------------------------


def _keys(view: View) -> dict[str, dict[str, Any]]:
    """gateway.keys entries with valid names and mapping values."""
    keys = view.section("gateway").get("keys")
    if not isinstance(keys, dict):
        return {}
    return {k: v for k, v in keys.items() if _is_name(k) and isinstance(v, dict)}


@emits("unknown-key-model")
def key_models(view: View) -> Iterator[Problem]:
    """Each name in a key's `models` list is a model or an alias."""
    for name, spec in _keys(view).items():
        for index, model in _names(spec.get("models")):
            if model in view.targets():
                continue
            path = ("gateway", "keys", name, "models", index)
            yield _problem(
                view.doc.locate(path),
                "unknown-key-model",
                f"key {name!r} allows {model!r}, which is neither a model nor an alias",
                path,
                _defined_hint(model, view.targets(), "models and aliases"),
            )


@emits("shared-key-variable")
def shared_key_variables(view: View) -> Iterator[Problem]:
    """Two keys (or a key and the master key) reading one variable would be one key."""
    gateway = view.section("gateway")
    readers: dict[str, str] = {}
    master = gateway.get("master_key")
    if isinstance(master, str) and ENV_REF.match(master):
        readers[master] = "the master key"
    for name, spec in _keys(view).items():
        value = spec.get("key")
        if not isinstance(value, str) or not ENV_REF.match(value):
            continue
        if value in readers:
            path = ("gateway", "keys", name, "key")
            yield _problem(
                view.doc.locate(path),
                "shared-key-variable",
                f"key {name!r} reads {value}, as {readers[value]} does",
                path,
                "give each key its own variable: clients sharing one key cannot be told apart",
            )
        readers.setdefault(value, f"key {name!r}")


# --- aliases and fallbacks -------------------------------------------------------------------


@emits("alias-shadows-model", "unknown-alias-target")
def alias_targets(view: View) -> Iterator[Problem]:
    models = view.section("models")
    for alias, target in view.section("aliases").items():
        path = ("aliases", alias)
        if alias in models:
            yield _problem(
                view.doc.locate_key(path),
                "alias-shadows-model",
                f"alias {alias!r} has the same name as model {alias!r}",
                path,
                "rename the alias: a request for a name must reach one thing",
            )
        if _is_name(target) and target not in view.targets():
            yield _problem(
                view.doc.locate(path),
                "unknown-alias-target",
                f"alias {alias!r} points at {target!r}, which is neither a model nor an alias",
                path,
                _defined_hint(target, view.targets() - {alias}, "models and aliases"),
            )


@emits("alias-cycle")
def alias_cycles(view: View) -> Iterator[Problem]:
    aliases = view.section("aliases")
    reported: set[tuple[str, ...]] = set()
    for start in sorted(aliases):
        chain = [start]
        while isinstance(aliases.get(chain[-1]), str) and aliases[chain[-1]] not in chain:
            chain.append(aliases[chain[-1]])
        following = aliases.get(chain[-1])
        if not isinstance(following, str) or following not in chain:
            continue
        cycle = chain[chain.index(following) :]
        first = cycle.index(min(cycle))
        cycle = cycle[first:] + cycle[:first]
        if tuple(cycle) not in reported:
            reported.add(tuple(cycle))
            path = ("aliases", cycle[0])
            yield _problem(
                view.doc.locate(path),
                "alias-cycle",
                f"aliases form a cycle: {' -> '.join([*cycle, cycle[0]])}",
                path,
                "point one of them at a model",
            )


@emits("unknown-model", "fallback-self")
def fallbacks(view: View) -> Iterator[Problem]:
    for key, word in FALLBACK_KEYS.items():
        chains = view.section("routing").get(key)
        if not isinstance(chains, dict):
            continue
        for source, targets in chains.items():
            yield from _fallback_chain(view, key, word, source, targets)


def _fallback_chain(
    view: View, key: str, word: str, source: str, targets: Any
) -> Iterator[Problem]:
    known = view.targets()
    if _is_name(source) and source not in known:
        path: PathParts = ("routing", key, source)
        yield _problem(
            view.doc.locate_key(path),
            "unknown-model",
            f"{word}s are set for {source!r}, which is neither a model nor an alias",
            path,
            _defined_hint(source, known, "models and aliases"),
        )
    for index, target in _names(targets):
        path = ("routing", key, source, index)
        if target not in known:
            yield _problem(
                view.doc.locate(path),
                "unknown-model",
                f"{word} {target!r} of {source!r} is neither a model nor an alias",
                path,
                _defined_hint(target, known, "models and aliases"),
            )
        elif view.resolve(target) == view.resolve(source):
            same = "itself" if target == source else f"{target!r}, which is the same model"
            yield _problem(
                view.doc.locate(path),
                "fallback-self",
                f"{source!r} falls back to {same}",
                path,
                "a fallback must be a different model",
            )


# --- nodes ---------------------------------------------------------------------------------


def _ports(view: View, node: str) -> list[tuple[str, int]]:
    """(runtime, effective port) for each runtime whose port is readable."""
    out = []
    for kind, spec in view.runtimes(node).items():
        port = spec.get("port") if isinstance(spec, dict) else None
        if port is None and kind in RUNTIME_DEFAULT_PORTS:
            port = RUNTIME_DEFAULT_PORTS[kind]
        if isinstance(port, int) and not isinstance(port, bool):
            out.append((kind, port))
    return out


def _port_location(view: View, node: str, kind: str) -> tuple[Location, PathParts]:
    path: PathParts = ("nodes", node, "runtimes", kind)
    spec = view.runtimes(node).get(kind)
    if isinstance(spec, dict) and "port" in spec:
        return view.doc.locate((*path, "port")), (*path, "port")
    return view.doc.locate_key(path), path


@emits("port-conflict")
def port_conflicts(view: View) -> Iterator[Problem]:
    """Two runtimes of one node on one port."""
    for node in view.entries("nodes"):
        taken: dict[int, str] = {}
        for kind, port in _ports(view, node):
            if port in taken:
                location, path = _port_location(view, node, kind)
                yield _problem(
                    location,
                    "port-conflict",
                    f"runtimes {taken[port]!r} and {kind!r} of node {node!r} both use port {port}",
                    path,
                    "give each runtime on a node its own port (a runtime without "
                    "a port uses its default)",
                )
            taken.setdefault(port, kind)


@emits("address-port-conflict")
def shared_addresses(view: View) -> Iterator[Problem]:
    """Two nodes at one address are one machine: their services must not share a port."""
    taken: dict[tuple[str, int], tuple[str, str]] = {}
    for node, spec in view.entries("nodes").items():
        address = spec.get("address")
        if not isinstance(address, str):
            continue
        for kind, port in _ports(view, node):
            first = taken.setdefault((address.lower(), port), (node, kind))
            if first[0] != node:
                location, path = _port_location(view, node, kind)
                yield _problem(
                    location,
                    "address-port-conflict",
                    f"nodes {first[0]!r} and {node!r} share the address "
                    f"{address!r}, and both serve port {port}",
                    path,
                    "merge the two nodes, or give their runtimes different ports",
                )


@emits("address-is-url", "address-has-port", "bad-address")
def node_addresses(view: View) -> Iterator[Problem]:
    for node, spec in view.entries("nodes").items():
        address, path = spec.get("address"), ("nodes", node, "address")
        if not isinstance(address, str) or not address or "${" in address:
            continue
        found = _address_fault(address)
        if found is not None:
            code, message, hint = found
            yield _problem(
                view.doc.locate(path), code, f"the address of node {node!r} {message}", path, hint
            )


def _address_fault(address: str) -> tuple[str, str, str] | None:
    if "://" in address or "/" in address:
        try:
            host = urlsplit(address if "://" in address else f"//{address}").hostname
        except ValueError:  # an unbalanced [ in the netloc
            host = None
        hint = (
            f"write address: {host} and set ports under runtimes"
            if host
            else "write the host name or IP address only"
        )
        return "address-is-url", "is a URL, not a host name or IP address", hint
    strict = host_fault(address)  # None for a host name, an IPv4 or an IPv6 address
    if strict is None:
        return None
    host, sep, port = address.rpartition(":")
    if sep and port.isascii() and port.isdigit() and host_fault(host) is None:
        return (
            "address-has-port",
            f"includes a port ({port})",
            f"write address: {host} and set the port under the node's runtimes",
        )
    return (
        "bad-address",
        f"is not a host name or IP address: it {strict}",
        "write a host name such as ai-max.lan or an IP address such as 192.168.1.30",
    )


@emits("memory-over-budget")
def memory_budgets(view: View) -> Iterator[Problem]:
    """The memory_gb of the models placed on a node must fit in the node's memory_gb."""
    placed: dict[str, list[tuple[str, float]]] = {}
    for model, spec in view.runtime_models().items():
        memory = spec.get("memory_gb")
        if _is_number(memory):
            for node in _placed_nodes(view, spec):
                placed.setdefault(node, []).append((model, float(memory)))
    for node, models in placed.items():
        budget = view.entries("nodes")[node].get("memory_gb")
        total = sum(memory for _, memory in models)
        if _is_number(budget) and total > float(budget) + 1e-9:
            path = ("nodes", node, "memory_gb")
            parts = " + ".join(f"{m} {_gb(gb)}" for m, gb in models)
            yield _problem(
                view.doc.locate(path),
                "memory-over-budget",
                f"models placed on node {node!r} need {_gb(total)} GB ({parts}), "
                f"more than its memory_gb of {_gb(float(budget))}",
                path,
                "move a model to another node, lower a model's memory_gb, "
                "or raise the node's memory_gb",
            )


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _placed_nodes(view: View, spec: dict[str, Any]) -> list[str]:
    """Nodes that really host the model: as model.placed_nodes, minus invalid ones."""
    placement, kind = spec.get("placement"), _runtime_kind(spec)
    if not isinstance(placement, dict) or kind is None:
        return []
    hosting = set(view.nodes_with(kind))
    if "nodes" in placement:
        return [n for n in dict.fromkeys(n for _, n in _names(placement["nodes"])) if n in hosting]
    return _selected(view, [r for _, r in _names(placement.get("roles"))], kind)


# --- gateway, providers, secrets ---------------------------------------------------------------


@emits("compromised-litellm")
def compromised_litellm(view: View) -> Iterator[Problem]:
    version = view.section("gateway").get("litellm_version")
    if isinstance(version, str) and version.strip().lstrip("vV") in COMPROMISED_LITELLM_VERSIONS:
        path = ("gateway", "litellm_version")
        yield _problem(
            view.doc.locate(path),
            "compromised-litellm",
            f"LiteLLM {version} is a known-compromised release and cannot be pinned",
            path,
            f"pin {DEFAULT_LITELLM_VERSION}, the release this tool is tested with",
        )


@emits("llamacpp-source-file")
def llamacpp_sources(view: View) -> Iterator[Problem]:
    """A llama.cpp server reads `/models/<source>.gguf`: a source that is a path or ends in
    .gguf would make it look for a file that is not there."""
    for name, spec in view.entries("models").items():
        source = spec.get("source")
        if spec.get("runtime") != "llamacpp" or not isinstance(source, str):
            continue
        stem = source.rsplit("/", 1)[-1]
        stem = stem[: -len(".gguf")] if stem.lower().endswith(".gguf") else stem
        if source.startswith(("/", "~")) or source.lower().endswith(".gguf"):
            path = ("models", name, "source")
            yield _problem(
                view.doc.locate(path),
                "llamacpp-source-file",
                f"model {name!r}: a llama.cpp source is a GGUF file's name in the node's models"
                f" folder, without .gguf; got {source!r}",
                path,
                f"put the file in the models folder and write source: {stem}"
                f" (the server then loads /models/{stem}.gguf)",
            )


@emits("missing-field")
def provider_api_base(view: View) -> Iterator[Problem]:
    for provider, spec in view.entries("providers").items():
        kind = spec.get("kind")
        if kind in NEEDS_API_BASE and "api_base" not in spec:
            path = ("providers", provider)
            yield _problem(
                view.doc.locate_key(path),
                "missing-field",
                f"provider {provider!r} of kind {kind!r} needs an api_base",
                path,
                "add it, e.g. api_base: https://llm.example.com/v1",
            )


def _walk(value: Any, path: PathParts = ()) -> Iterator[tuple[PathParts, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def _is_secret_path(path: PathParts) -> bool:
    return (
        path == ("gateway", "master_key")
        or (len(path) == 4 and path[:2] == ("gateway", "keys") and path[3] == "key")
        or (len(path) == 3 and path[0] == "providers" and path[2] == "api_key")
        or (
            len(path) == 5 and path[0] == "nodes" and path[2] == "runtimes" and path[4] == "api_key"
        )
    )


@emits("env-ref-not-supported")
def misplaced_env_refs(view: View) -> Iterator[Problem]:
    """${VAR} works in secret fields only; elsewhere it would be written out literally."""
    for path, value in _walk(view.doc.data):
        if isinstance(value, str) and "${" in value and path and path[-1] in TEXT_FIELDS:
            yield env_ref_not_supported(view.doc, path)


def env_ref_not_supported(doc: Document, path: PathParts) -> Problem:
    """A `${VAR}` reference in a field the tool writes out as it stands."""
    return _problem(
        doc.locate(path),
        "env-ref-not-supported",
        f"{subject(path)} cannot read the environment; only master_key "
        "and api_key take ${VAR} references",
        path,
        "write the value itself",
    )


@emits("secret-like-value")
def secret_like_values(view: View) -> Iterator[Problem]:
    """Keys pasted where no secret belongs, or into an URL (the schema checks secret fields)."""
    for path, value in _walk(view.doc.data):
        if not isinstance(value, str) or _is_secret_path(path):
            continue
        if TOKEN_LIKE.match(value.strip()) or (
            path[-1:] == ("api_base",) and _has_credentials(value)
        ):
            yield _problem(
                view.doc.locate(path),
                "secret-like-value",
                f"{subject(path)} looks like it holds a secret",
                path,
                "move the secret to an api_key field as ${VAR} (an environment "
                "reference); the config ends up in git and in the rendered files",
            )


def _has_credentials(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    query = parts.query.lower()
    return bool(parts.password) or any(f"{k}=" in query for k in ("key", "token", "secret"))


@emits("env-unset")
def unset_env_refs(view: View) -> Iterator[Problem]:
    """One warning per unset variable, at its first use."""
    seen: set[str] = set()
    uses = sorted(
        (
            (view.doc.locate(path), path, value)
            for path, value in _walk(view.doc.data)
            if _is_secret_path(path) and isinstance(value, str) and ENV_REF.match(value)
        ),
        key=lambda use: (use[0], json_path(use[1])),
    )
    for location, path, value in uses:
        var = value[2:-1]
        if var not in view.environ and var not in seen:
            seen.add(var)
            yield Problem(
                location,
                "env-unset",
                f"environment variable {var!r} is not set",
                json_path(path),
                "set it where the mesh is built and deployed",
                Severity.WARNING,
            )


RULES: tuple[Rule, ...] = (
    unknown_providers,
    placement_nodes,
    placement_roles,
    placement_presence,
    key_models,
    shared_key_variables,
    alias_targets,
    alias_cycles,
    fallbacks,
    port_conflicts,
    shared_addresses,
    node_addresses,
    memory_budgets,
    compromised_litellm,
    llamacpp_sources,
    provider_api_base,
    misplaced_env_refs,
    secret_like_values,
    unset_env_refs,
)


# --- rules on the built mesh ---------------------------------------------------------------


def check_mesh(mesh: Mesh, doc: Document) -> list[Problem]:
    """Rules that need derived facts: run once the document is otherwise valid."""
    return [
        *derived_port_conflicts(mesh, doc),
        *gateway_start_up(mesh, doc),
        *limits_below_processes(mesh, doc),
    ]


@emits("limit-below-processes")
def limits_below_processes(mesh: Mesh, doc: Document) -> Iterator[Problem]:
    """Each gateway process enforces an equal share of every limit (model.processes): a
    limit smaller than the number of processes cannot be shared without breaking it."""
    count = processes(mesh.gateway)
    if count == 1:
        return
    for found in limit_shares(mesh):
        if found.declared >= count:
            continue
        path = found.path
        yield _problem(
            doc.locate(path),
            "limit-below-processes",
            f"{found.owner} declares {found.field} {found.declared}, fewer than the gateway's "
            f"{count} processes ({mesh.gateway.workers} workers x {mesh.gateway.replicas} "
            "replicas), each of which enforces an equal share of it",
            path,
            f"raise {found.field} to at least {count}, or lower gateway.workers or "
            "gateway.replicas",
        )


# The stock proxy's start-up grows faster than linearly with its deployments (its Router
# registers each deployment's pricing one by one): past this many, one gateway takes minutes
# to start. Measured with benchmarks/proxy_startup.py (docs/benchmarks.md, "Proxy start-up").
GATEWAY_DEPLOYMENT_LIMIT = 2000
MEASURED_START_UP = (
    "1.108.7 needed 29 s of CPU to start with 2,000 deployments and 83 s with 5,000 "
    "(6 minutes on a busy 2-core machine)"
)


@emits("gateway-slow-start")
def gateway_start_up(mesh: Mesh, doc: Document) -> Iterator[Problem]:
    count = len(mesh.deployments)
    if count > GATEWAY_DEPLOYMENT_LIMIT:
        yield Problem(
            doc.locate_key(("models",)),
            "gateway-slow-start",
            f"one gateway would serve {count:,} deployments; the stock LiteLLM proxy "
            f"{MEASURED_START_UP}, growing faster than linearly, so this gateway would take "
            f"minutes to start and to restart",
            "$.models",
            f"keep each gateway at {GATEWAY_DEPLOYMENT_LIMIT:,} deployments or fewer: split the "
            "mesh into one config per model family, each built into its own gateway and "
            "stacks (docs/deploy.md, 'Splitting a large mesh')",
            Severity.WARNING,
        )


@emits("port-range-conflict")
def derived_port_conflicts(mesh: Mesh, doc: Document) -> Iterator[Problem]:
    """vLLM and llama.cpp run one server per model on consecutive ports from the runtime's
    port; those ports must not collide with another runtime of the same node."""
    served = _served_ports(mesh)
    for node in mesh.nodes:
        claims = [(rt.kind, served.get((node.name, rt.kind)) or [rt.port]) for rt in node.runtimes]
        owner: dict[int, str] = {}
        for kind, ports in claims:
            clash = next((p for p in ports if p in owner and owner[p] != kind), None)
            if clash is not None:
                other = owner[clash]
                path: PathParts = ("nodes", node.name, "runtimes", kind)
                yield _problem(
                    doc.locate_key(path),
                    "port-range-conflict",
                    f"runtime {kind!r} of node {node.name!r} serves its placed models "
                    f"on ports {_span(ports)}, and port {clash} is taken by "
                    f"runtime {other!r}",
                    path,
                    f"{kind} runs one server per model on consecutive ports; move "
                    f"one runtime's port so the ranges do not overlap",
                )
            for port in ports:
                owner.setdefault(port, kind)


def _served_ports(mesh: Mesh) -> dict[tuple[str, str], list[int]]:
    """(node, runtime) -> the sorted ports its deployments are served on."""
    ports: dict[tuple[str, str], set[int]] = {}
    for d in mesh.deployments:
        if d.node is not None and d.runtime is not None and d.port is not None:
            ports.setdefault((d.node, d.runtime), set()).add(d.port)
    return {key: sorted(found) for key, found in ports.items()}


def _span(ports: list[int]) -> str:
    return str(ports[0]) if len(ports) == 1 else f"{ports[0]}-{ports[-1]}"
