"""Stage 3, model: the typed, normalised mesh that every renderer reads.

Built from data that already passed validation, so it trusts shapes and names. It holds every
routing decision (placements resolved to nodes, deployments with their ids, LiteLLM provider
strings, api bases, tags, fallback chains), so renderers and templates only lay data out.
Everything is sorted or kept in declared order, never in hash order, so output is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from jarvis_config.model.catalog import (
    DEFAULT_LITELLM_VERSION,
    LITELLM_IMAGE,
    PROVIDER_LITELLM_PREFIX,
    RUNTIME_API_SUFFIX,
    RUNTIME_DEFAULT_PORTS,
    RUNTIME_LITELLM_PREFIX,
    RUNTIME_LITELLM_PREFIX_WITH_KEY,
    SINGLE_MODEL_RUNTIMES,
    is_ollama_embedding,
)

# routing's fault-handling settings and their defaults, measured on the stock proxy
# (docs/resilience.md): a frozen node is left alone within 30 s, a strict pin to it fails
# within 60 s, and a stream that keeps sending is cut after `stream_max_seconds`: 600 s holds
# a 4,096-token answer from a CPU node at 7 tokens/s, the longest local generation expected.
RESILIENCE_DEFAULTS: dict[str, float | int] = {
    "timeout": 45.0,
    "stream_timeout": 20.0,
    "stream_max_seconds": 600.0,
    "health_check_interval": 10,
    "health_check_timeout": 5.0,
    "cooldown": 30.0,
    "allowed_fails": 1,
}
# Variable names of at most 128 characters: they become keys of compose files, where YAML
# limits a plain key to 1,024 characters, and lines of `.env.example`.
MAX_ENV_NAME = 128
# least-busy: a frozen node's requests in flight pile up, so new ones go to the other nodes at
# once; simple-shuffle keeps sending it its share until a health check fails it (measured in
# docs/resilience.md, "Under load"). LiteLLM counts the requests in flight per process.
DEFAULT_STRATEGY = "least-busy"
ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]{0,127})\}$")
# Names of nodes, models, providers, aliases and roles: they become deployment ids
# ("llama3@ai-max"), tags ("node:ai-max") and folder names, so no '@', ':', '/' or spaces.
# `$(?!\n)`: Python's `$` (used by jsonschema's re.search) would also match before a final newline.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$(?!\n)")


@dataclass(frozen=True, slots=True)
class EnvRef:
    """A secret or setting read from the environment at deploy time, never written literally."""

    var: str

    @property
    def litellm(self) -> str:
        return f"os.environ/{self.var}"

    @property
    def compose(self) -> str:
        return "${" + self.var + "}"


@dataclass(frozen=True, slots=True)
class Runtime:
    kind: str
    port: int
    api_key: EnvRef | None = None


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    address: str
    roles: tuple[str, ...]
    memory_gb: float | None
    gpus: int
    runtimes: tuple[Runtime, ...]

    def runtime(self, kind: str) -> Runtime | None:
        return next((r for r in self.runtimes if r.kind == kind), None)

    @property
    def tags(self) -> tuple[str, ...]:
        return (node_tag(self.name), *(role_tag(role) for role in self.roles))


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    kind: str
    api_key: EnvRef | None
    api_base: str | None
    api_version: str | None


@dataclass(frozen=True, slots=True)
class Limits:
    rpm: int | None = None
    tpm: int | None = None
    max_parallel_requests: int | None = None
    timeout: float | None = None
    queue_seconds: float | None = None  # None: the default (model.processes)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A client's key to the gateway (gateway.keys): enforced by the callback's custom auth."""

    name: str
    key: EnvRef
    models: tuple[str, ...]  # model and alias names it may call; empty: every model
    rpm: int | None = None
    tpm: int | None = None
    max_parallel_requests: int | None = None


API_KEY_LIMITS = ("rpm", "tpm", "max_parallel_requests")  # ApiKey's limit fields, in order


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    category: str
    source: str
    runtime: str | None
    provider: str | None
    description: str | None
    context_window: int | None
    memory_gb: float | None
    quantization: str | None
    params: tuple[tuple[str, Any], ...]
    limits: Limits
    nodes: tuple[str, ...]  # resolved placement, in declared (or name) order
    # Sorted (tools, vision, json_mode, ...); None when undeclared: nothing is checked.
    capabilities: tuple[str, ...] | None = None

    @property
    def hosted(self) -> bool:
        return self.provider is not None


@dataclass(frozen=True, slots=True)
class Deployment:
    """One LiteLLM deployment: a model on one node (or at one provider)."""

    id: str  # stable, e.g. "llama3@ai-max"; also the per-node model group name
    model: str
    node: str | None
    provider: str | None
    runtime: str | None
    litellm_model: str  # e.g. "ollama_chat/llama3:8b"
    api_base: str | None
    api_key: EnvRef | None
    api_version: str | None
    tags: tuple[str, ...]
    category: str
    context_window: int | None
    params: tuple[tuple[str, Any], ...]
    limits: Limits
    port: int | None = None
    capabilities: tuple[str, ...] | None = (
        None  # where the node's server for this deployment listens
    )


@dataclass(frozen=True, slots=True)
class Alias:
    name: str
    target: str  # a model name (alias chains are resolved here)


@dataclass(frozen=True, slots=True)
class Routing:
    strategy: str
    node_pinning: str
    fallbacks: tuple[tuple[str, tuple[str, ...]], ...]
    context_window_fallbacks: tuple[tuple[str, tuple[str, ...]], ...]
    num_retries: int
    timeout: float  # a whole non-streamed answer, seconds
    stream_timeout: float  # first token, then each gap between tokens
    health_check_interval: int  # 0: no background health checks
    health_check_timeout: float
    cooldown: float
    allowed_fails: int
    list_pinned_models: bool = False
    affinity: str = "prefix"  # AFFINITY_MODES: what keeps a conversation's turns on one node
    stream_max_seconds: float = float(RESILIENCE_DEFAULTS["stream_max_seconds"])  # a whole stream


# routing.affinity: "prefix" (a session id, else the conversation's opening), "session" (a
# session id only), "off". Prefix is the default: agents and workflow tools send growing
# histories without ids, and with it their later turns reuse a node's prompt cache
# (docs/benchmarks.md, "Conversation affinity").
AFFINITY_MODES = ("prefix", "session", "off")


@dataclass(frozen=True, slots=True)
class Ingress:
    """Where the gateway is published in a Kubernetes cluster (gateway.ingress)."""

    host: str
    class_name: str | None = None


@dataclass(frozen=True, slots=True)
class Gateway:
    port: int
    master_key: EnvRef | None
    replicas: int
    database: bool
    litellm_version: str
    image: str | None
    ingress: Ingress | None = None
    keys: tuple[ApiKey, ...] = ()
    workers: int = 1  # proxy processes per replica


@dataclass(frozen=True)
class Mesh:
    """The whole mesh, with lookups by name. Without slots: the indexes below are cached in
    the instance's __dict__."""

    gateway: Gateway
    nodes: tuple[Node, ...]
    providers: tuple[Provider, ...]
    models: tuple[Model, ...]
    aliases: tuple[Alias, ...]
    routing: Routing
    deployments: tuple[Deployment, ...]
    referenced_env_vars: tuple[str, ...] = ()  # every ${VAR} in the config, sorted

    def node(self, name: str) -> Node:
        return self._nodes_by_name[name]

    def model(self, name: str) -> Model:
        return self._models_by_name[name]

    def deployments_of(self, model: str) -> tuple[Deployment, ...]:
        return self._by_model.get(model, ())

    def deployments_on(self, node: str) -> tuple[Deployment, ...]:
        return self._by_node.get(node, ())

    def resolve(self, name: str) -> str | None:
        """Model name for a model or alias name; None when neither exists."""
        if name in self._models_by_name:
            return name
        return next((a.target for a in self.aliases if a.name == name), None)

    # Indexes built on first use, so a render over every node or model stays linear.
    @cached_property
    def _nodes_by_name(self) -> dict[str, Node]:
        return {node.name: node for node in self.nodes}

    @cached_property
    def _models_by_name(self) -> dict[str, Model]:
        return {model.name: model for model in self.models}

    @cached_property
    def _by_model(self) -> dict[str, tuple[Deployment, ...]]:
        return _group_by(self.deployments, lambda d: d.model)

    @cached_property
    def _by_node(self) -> dict[str, tuple[Deployment, ...]]:
        return _group_by(self.deployments, lambda d: d.node)


def _group_by(
    deployments: tuple[Deployment, ...], key: Callable[[Deployment], str | None]
) -> dict[str, tuple[Deployment, ...]]:
    groups: dict[str, list[Deployment]] = {}
    for deployment in deployments:
        name = key(deployment)
        if name is not None:
            groups.setdefault(name, []).append(deployment)
    return {name: tuple(members) for name, members in groups.items()}


def gateway_image(gateway: Gateway) -> str:
    """The gateway's container image: its own, or the pinned LiteLLM tag of its version."""
    return gateway.image or LITELLM_IMAGE.format(version=gateway.litellm_version)


def node_tag(node: str) -> str:
    return f"node:{node}"


def role_tag(role: str) -> str:
    return f"role:{role}"


def deployment_id(model: str, where: str) -> str:
    return f"{model}@{where}"


def env_ref(value: Any) -> EnvRef | None:
    """`${VAR}` as an EnvRef; anything else is None (validation refuses literal secrets)."""
    if isinstance(value, str):
        match = ENV_REF.match(value)
        if match:
            return EnvRef(match.group(1))
    return None


def build_mesh(data: Mapping[str, Any]) -> Mesh:
    """Normalise validated input data into the mesh model."""
    nodes = tuple(_node(name, spec) for name, spec in sorted(data.get("nodes", {}).items()))
    providers = tuple(
        _provider(name, spec) for name, spec in sorted(data.get("providers", {}).items())
    )
    by_role = role_index(nodes)
    models = tuple(
        _model(name, spec, nodes, by_role) for name, spec in sorted(data.get("models", {}).items())
    )
    aliases = _aliases(data.get("aliases", {}))
    deployments = _deployments(models, {n.name: n for n in nodes}, {p.name: p for p in providers})
    return Mesh(
        gateway=_gateway(data.get("gateway", {})),
        nodes=nodes,
        providers=providers,
        models=models,
        aliases=aliases,
        routing=_routing(data.get("routing", {})),
        deployments=deployments,
        referenced_env_vars=tuple(sorted(set(_env_vars(data)))),
    )


def _gateway(spec: Mapping[str, Any]) -> Gateway:
    return Gateway(
        port=int(spec.get("port", 4000)),
        master_key=env_ref(spec.get("master_key")),
        replicas=int(spec.get("replicas", 1)),
        database=bool(spec.get("database", False)),
        litellm_version=str(spec.get("litellm_version", DEFAULT_LITELLM_VERSION)),
        image=spec.get("image"),
        ingress=_ingress(spec.get("ingress")),
        keys=tuple(_api_key(name, key) for name, key in sorted(spec.get("keys", {}).items())),
        workers=int(spec.get("workers", 1)),
    )


def _api_key(name: str, spec: Mapping[str, Any]) -> ApiKey:
    key = env_ref(spec.get("key"))
    assert key is not None, "validation refuses a key that is not an environment reference"
    return ApiKey(
        name=name,
        key=key,
        models=tuple(spec.get("models", ())),
        rpm=spec.get("rpm"),
        tpm=spec.get("tpm"),
        max_parallel_requests=spec.get("max_parallel_requests"),
    )


def _ingress(spec: Mapping[str, Any] | None) -> Ingress | None:
    if not spec:
        return None
    return Ingress(host=str(spec["host"]), class_name=spec.get("class_name"))


def with_api_bases(mesh: Mesh, api_base: Callable[[Deployment], str | None]) -> Mesh:
    """The same mesh with every node deployment reached at another address (a target where
    the gateway finds the runtimes by service name rather than by the nodes' addresses)."""
    deployments = tuple(
        replace(d, api_base=api_base(d)) if d.node is not None else d for d in mesh.deployments
    )
    return replace(mesh, deployments=deployments)


def _node(name: str, spec: Mapping[str, Any]) -> Node:
    roles = tuple(spec.get("roles", ()))
    runtimes = tuple(
        Runtime(
            kind,
            int((rt or {}).get("port", RUNTIME_DEFAULT_PORTS[kind])),
            env_ref((rt or {}).get("api_key")),
        )
        for kind, rt in sorted(spec.get("runtimes", {}).items())
    )
    return Node(
        name=name,
        address=str(spec["address"]),
        roles=roles,
        memory_gb=spec.get("memory_gb"),
        gpus=int(spec.get("gpus", 1 if "gpu" in roles else 0)),
        runtimes=runtimes,
    )


def _provider(name: str, spec: Mapping[str, Any]) -> Provider:
    return Provider(
        name=name,
        kind=str(spec["kind"]),
        api_key=env_ref(spec.get("api_key")),
        api_base=spec.get("api_base"),
        api_version=spec.get("api_version"),
    )


def _model(
    name: str,
    spec: Mapping[str, Any],
    nodes: tuple[Node, ...],
    by_role: Mapping[str, tuple[Node, ...]],
) -> Model:
    limits = spec.get("limits", {})
    return Model(
        name=name,
        category=str(spec.get("category", "general")),
        source=str(spec["source"]),
        runtime=spec.get("runtime"),
        provider=spec.get("provider"),
        description=spec.get("description"),
        context_window=spec.get("context_window"),
        memory_gb=spec.get("memory_gb"),
        quantization=spec.get("quantization"),
        params=tuple(sorted(spec.get("params", {}).items())),
        limits=Limits(
            rpm=limits.get("rpm"),
            tpm=limits.get("tpm"),
            max_parallel_requests=limits.get("max_parallel_requests"),
            timeout=limits.get("timeout"),
            queue_seconds=limits.get("queue_seconds"),
        ),
        nodes=placed_nodes(spec, nodes, by_role),
        capabilities=(tuple(sorted(spec["capabilities"])) if "capabilities" in spec else None),
    )


def role_index(nodes: tuple[Node, ...]) -> dict[str, tuple[Node, ...]]:
    """role -> the nodes that have it, in the order given."""
    index: dict[str, list[Node]] = {}
    for node in nodes:
        for role in dict.fromkeys(node.roles):
            index.setdefault(role, []).append(node)
    return {role: tuple(members) for role, members in index.items()}


def placed_nodes(
    spec: Mapping[str, Any],
    nodes: tuple[Node, ...],
    by_role: Mapping[str, tuple[Node, ...]] | None = None,
) -> tuple[str, ...]:
    """Resolve a model's placement: named nodes as written, or every node with a role and
    the model's runtime (in name order). `by_role` (from `role_index(nodes)`) saves a scan of
    every node per model."""
    placement = spec.get("placement") or {}
    runtime = str(spec.get("runtime"))
    if "nodes" in placement:
        return tuple(placement["nodes"])
    index = role_index(nodes) if by_role is None else by_role
    selected = {n.name: n for role in placement.get("roles", ()) for n in index.get(role, ())}
    return tuple(name for name in sorted(selected) if selected[name].runtime(runtime) is not None)


def _aliases(spec: Mapping[str, str]) -> tuple[Alias, ...]:
    """Aliases may point at other aliases; store the model each finally names."""
    resolved = []
    for name in sorted(spec):
        target, seen = spec[name], {name}
        while target in spec and target not in seen:
            seen.add(target)
            target = spec[target]
        resolved.append(Alias(name, target))
    return tuple(resolved)


def _routing(spec: Mapping[str, Any]) -> Routing:
    def chains(key: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        pairs = sorted(spec.get(key, {}).items())
        return tuple((model, tuple(targets)) for model, targets in pairs)

    def setting(key: str) -> float | int:
        return spec.get(key, RESILIENCE_DEFAULTS[key])  # type: ignore[no-any-return]

    return Routing(
        strategy=str(spec.get("strategy", DEFAULT_STRATEGY)),
        node_pinning=str(spec.get("node_pinning", "strict")),
        fallbacks=chains("fallbacks"),
        context_window_fallbacks=chains("context_window_fallbacks"),
        num_retries=int(spec.get("num_retries", 2)),
        timeout=float(setting("timeout")),
        stream_timeout=float(setting("stream_timeout")),
        health_check_interval=int(setting("health_check_interval")),
        health_check_timeout=float(setting("health_check_timeout")),
        cooldown=float(setting("cooldown")),
        allowed_fails=int(setting("allowed_fails")),
        list_pinned_models=bool(spec.get("list_pinned_models", False)),
        affinity=_affinity(spec.get("affinity", AFFINITY_MODES[0])),
        stream_max_seconds=float(setting("stream_max_seconds")),
    )


def _affinity(value: Any) -> str:
    """routing.affinity; YAML reads an unquoted `off` as false, which means off too."""
    return "off" if value is False else str(value)


def _deployments(
    models: tuple[Model, ...], nodes: Mapping[str, Node], providers: Mapping[str, Provider]
) -> tuple[Deployment, ...]:
    out: list[Deployment] = []
    ports = serving_ports(models, nodes)
    for model in models:
        if model.provider is not None:
            out.append(_hosted_deployment(model, providers[model.provider]))
        else:
            out.extend(
                _node_deployment(model, nodes[name], ports[model.name, name])
                for name in model.nodes
            )
    return tuple(out)


def serving_ports(
    models: tuple[Model, ...], nodes: Mapping[str, Node]
) -> dict[tuple[str, str], int]:
    """(model, node) -> the port of the server answering for that placement.

    Ollama serves every model of a node on the runtime's port. vLLM and the llama.cpp server
    load one model per process, so the models of a node get consecutive ports from the
    runtime's port up, in model-name order."""
    ports: dict[tuple[str, str], int] = {}
    used: dict[tuple[str, str], int] = {}
    for model in models:
        for name in model.nodes if model.runtime else ():
            runtime = nodes[name].runtime(str(model.runtime))
            if runtime is None:
                continue
            offset = used.get((name, runtime.kind), 0)
            if runtime.kind in SINGLE_MODEL_RUNTIMES:
                used[name, runtime.kind] = offset + 1
            ports[model.name, name] = runtime.port + offset
    return ports


def _runtime_litellm_prefix(runtime: Runtime, category: str) -> str:
    if is_ollama_embedding(runtime.kind, category):
        return "ollama"
    keyed = RUNTIME_LITELLM_PREFIX_WITH_KEY.get(runtime.kind) if runtime.api_key else None
    return keyed or RUNTIME_LITELLM_PREFIX[runtime.kind]


def _node_deployment(model: Model, node: Node, port: int) -> Deployment:
    kind = str(model.runtime)
    runtime = node.runtime(kind)
    assert runtime is not None, "validation guarantees the node hosts the runtime"
    return Deployment(
        id=deployment_id(model.name, node.name),
        model=model.name,
        node=node.name,
        provider=None,
        runtime=kind,
        litellm_model=f"{_runtime_litellm_prefix(runtime, model.category)}/{model.source}",
        api_base=f"http://{_host(node.address)}:{port}{RUNTIME_API_SUFFIX[kind]}",
        api_key=runtime.api_key,
        api_version=None,
        tags=node.tags,
        category=model.category,
        context_window=model.context_window,
        params=model.params,
        limits=model.limits,
        capabilities=model.capabilities,
        port=port,
    )


def _hosted_deployment(model: Model, provider: Provider) -> Deployment:
    return Deployment(
        id=deployment_id(model.name, provider.name),
        model=model.name,
        node=None,
        provider=provider.name,
        runtime=None,
        litellm_model=f"{PROVIDER_LITELLM_PREFIX[provider.kind]}/{model.source}",
        api_base=provider.api_base,
        api_key=provider.api_key,
        api_version=provider.api_version,
        tags=(f"provider:{provider.name}",),
        category=model.category,
        context_window=model.context_window,
        params=model.params,
        limits=model.limits,
        capabilities=model.capabilities,
    )


def _host(address: str) -> str:
    """IPv6 literals need brackets inside a URL."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def _env_vars(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [var for item in value.values() for var in _env_vars(item)]
    if isinstance(value, list):
        return [var for item in value for var in _env_vars(item)]
    ref = env_ref(value)
    return [ref.var] if ref else []
