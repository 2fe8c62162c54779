"""Review support: the facts of a mesh a reviewer cares about, as flat comparable values.

`diff` compares two `Facts`. They come from a `Mesh` (two configs: every fact is known) or
from rendered output files (a built folder holds no config: the facts are read back from the
gateway config, the routing table and the `${VAR}` / `os.environ/VAR` references, and the ones
the files do not carry stay empty on both sides, so they never show as changes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from jarvis_config.model.mesh import API_KEY_LIMITS, ApiKey, Limits, Mesh, Model, Node

LITELLM_CONFIG = "litellm/config.yaml"
ROUTES = "litellm/routes.json"
_ENV_PATTERNS = (
    re.compile(r"os\.environ/([A-Za-z_][A-Za-z0-9_]*)"),
    re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)"),
)


@dataclass(frozen=True)
class NodeFacts:
    roles: tuple[str, ...] = ()
    runtimes: tuple[str, ...] = ()  # "ollama:11434"
    address: str = ""
    memory_gb: str = field(default="", metadata={"label": "memory GB"})


@dataclass(frozen=True)
class ModelFacts:
    category: str = ""
    nodes: tuple[str, ...] = field(
        default=(), metadata={"changed": "model {} moved: now on {} (was on {})"}
    )
    provider: str = ""
    runtime: str = ""
    source: str = field(default="", metadata={"changed": "model {} source: {} (was {})"})
    context_window: str = ""
    # What requests may use (tools, vision, ...); None: undeclared, so nothing is checked.
    capabilities: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Facts:
    nodes: Mapping[str, NodeFacts] = field(default_factory=dict)
    models: Mapping[str, ModelFacts] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    context_fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    limits: Mapping[str, str] = field(default_factory=dict)
    routing: Mapping[str, str] = field(default_factory=dict)
    gateway: Mapping[str, str] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)  # client key name -> summary
    env: tuple[str, ...] = ()


def limits_summary(limits: Limits) -> str:
    parts = [
        ("rpm", limits.rpm),
        ("tpm", limits.tpm),
        ("max_parallel_requests", limits.max_parallel_requests),
        ("timeout", limits.timeout),
    ]
    return ", ".join(f"{key} {_num(value)}" for key, value in parts if value is not None)


def key_summary(env: str, models: Sequence[str], limits: Mapping[str, Any]) -> str:
    """'env JARVIS_KEY_N8N; models chat, fast; rpm 600': a client key by the variable that
    holds it (never its value), what it may call and its limits."""
    parts = [f"env {env}", f"models {', '.join(models)}" if models else "every model"]
    shown = [
        f"{name} {_num(limits[name])}" for name in API_KEY_LIMITS if limits.get(name) is not None
    ]
    return "; ".join(parts + ([", ".join(shown)] if shown else []))


def _api_key_summary(key: ApiKey) -> str:
    limits = {name: getattr(key, name) for name in API_KEY_LIMITS}
    return key_summary(key.key.var, key.models, limits)


def _num(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def facts_of_mesh(mesh: Mesh) -> Facts:
    return Facts(
        nodes={n.name: _node_facts(n) for n in mesh.nodes},
        models={m.name: _model_facts(m) for m in mesh.models},
        aliases={a.name: a.target for a in mesh.aliases},
        fallbacks=dict(mesh.routing.fallbacks),
        context_fallbacks=dict(mesh.routing.context_window_fallbacks),
        limits={m.name: text for m in mesh.models if (text := limits_summary(m.limits))},
        routing={
            "strategy": mesh.routing.strategy,
            "node_pinning": mesh.routing.node_pinning,
            "affinity": mesh.routing.affinity,
            "num_retries": str(mesh.routing.num_retries),
            "timeout": _num(mesh.routing.timeout),
            "stream_timeout": _num(mesh.routing.stream_timeout),
            "health_check_interval": _num(mesh.routing.health_check_interval),
            "health_check_timeout": _num(mesh.routing.health_check_timeout),
            "cooldown": _num(mesh.routing.cooldown),
            "allowed_fails": _num(mesh.routing.allowed_fails),
        },
        gateway=_gateway_facts(mesh),
        keys={key.name: _api_key_summary(key) for key in mesh.gateway.keys},
        env=mesh.referenced_env_vars,
    )


def _node_facts(node: Node) -> NodeFacts:
    return NodeFacts(
        roles=node.roles,
        runtimes=tuple(f"{r.kind}:{r.port}" for r in node.runtimes),
        address=node.address,
        memory_gb=_num(node.memory_gb),
    )


def _model_facts(model: Model) -> ModelFacts:
    return ModelFacts(
        category=model.category,
        nodes=model.nodes,
        provider=model.provider or "",
        runtime=model.runtime or "",
        source=model.source,
        context_window=_num(model.context_window),
        capabilities=model.capabilities,
    )


def _gateway_facts(mesh: Mesh) -> dict[str, str]:
    gateway = mesh.gateway
    return {
        "port": str(gateway.port),
        "replicas": str(gateway.replicas),
        "database": "on" if gateway.database else "off",
        "litellm_version": gateway.litellm_version,
        "image": gateway.image or "",
        "master_key": gateway.master_key.var if gateway.master_key else "",
    }


# --- facts read back from rendered files --------------------------------------------------------


def facts_of_files(files: Mapping[str, bytes]) -> Facts:
    """What the rendered files say about the mesh: the routing table (routes.json) gives the
    nodes' roles, the models' placements, aliases and fallbacks; the gateway config gives
    categories, context windows, sources, limits and router settings; every file gives the
    environment variables it references. Node addresses, runtimes and the gateway's settings
    other than its master key are not read back (they stay empty on both sides)."""
    table = _json(files.get(ROUTES))
    config = _yaml(files.get(LITELLM_CONFIG))
    entries = _config_entries(config)
    models = _mapping(table.get("models"))
    declared = _mapping(table.get("capabilities"))
    return Facts(
        nodes={
            name: NodeFacts(roles=tuple(_mapping(spec).get("roles", ())))
            for name, spec in sorted(_mapping(table.get("nodes")).items())
        },
        models={
            name: _model_from_files(name, _mapping(spec), entries, declared.get(name))
            for name, spec in sorted(models.items())
        },
        aliases={str(k): str(v) for k, v in sorted(_mapping(table.get("aliases")).items())},
        fallbacks=_declared(models, "fallbacks"),
        context_fallbacks=_declared(models, "context_window_fallbacks"),
        limits={
            name: text
            for name in sorted(models)
            if (text := _limits_from_entry(entries.get(name, {})))
        },
        routing=_routing_from_files(table, config),
        gateway=_gateway_from_files(config),
        keys=_keys_from_files(table),
        env=env_references(files),
    )


def env_references(files: Mapping[str, bytes]) -> tuple[str, ...]:
    found: set[str] = set()
    for content in files.values():
        text = content.decode("utf-8", "replace")
        for pattern in _ENV_PATTERNS:
            found.update(pattern.findall(text))
    return tuple(sorted(found))


def _yaml(content: bytes | None) -> Mapping[str, Any]:
    try:
        loaded = yaml.safe_load(content) if content is not None else None
    except yaml.YAMLError:
        loaded = None
    return _mapping(loaded)


def _json(content: bytes | None) -> Mapping[str, Any]:
    try:
        loaded = json.loads(content) if content is not None else None
    except ValueError:
        loaded = None
    return _mapping(loaded)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _config_entries(config: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The first model_list entry of each model (its deployments share the model's facts)."""
    entries: dict[str, Mapping[str, Any]] = {}
    model_list = config.get("model_list")
    for entry in model_list if isinstance(model_list, list) else ():
        info = _mapping(_mapping(entry).get("model_info"))
        name = info.get("jarvis_model")
        if isinstance(name, str):
            entries.setdefault(name, entry)
    return entries


def _model_from_files(
    name: str, spec: Mapping[str, Any], entries: Mapping[str, Mapping[str, Any]], declared: Any
) -> ModelFacts:
    entry = entries.get(name, {})
    capabilities = tuple(str(c) for c in declared) if isinstance(declared, list) else None
    info, params = _mapping(entry.get("model_info")), _mapping(entry.get("litellm_params"))
    source = str(params.get("model", ""))
    return ModelFacts(
        category=str(info.get("category", "")),
        nodes=tuple(str(n) for n in _mapping(spec.get("nodes"))),
        provider=str(spec.get("provider") or ""),
        runtime=str(info.get("runtime", "")),
        source=source.split("/", 1)[-1],
        context_window=_num(info.get("context_window")),
        capabilities=capabilities,
    )


def _keys_from_files(table: Mapping[str, Any]) -> dict[str, str]:
    keys = {}
    for name, spec in sorted(_mapping(table.get("keys")).items()):
        entry = _mapping(spec)
        models = entry.get("models")
        listed = [str(m) for m in models] if isinstance(models, list) else []
        keys[str(name)] = key_summary(str(entry.get("env", "")), listed, entry)
    return keys


def _declared(models: Mapping[str, Any], key: str) -> dict[str, tuple[str, ...]]:
    chains = {
        name: tuple(str(t) for t in _mapping(spec).get(key, ()))
        for name, spec in sorted(models.items())
    }
    return {name: chain for name, chain in chains.items() if chain}


def _limits_from_entry(entry: Mapping[str, Any]) -> str:
    params = _mapping(entry.get("litellm_params"))
    return limits_summary(
        Limits(
            rpm=params.get("rpm"),
            tpm=params.get("tpm"),
            max_parallel_requests=params.get("max_parallel_requests"),
            timeout=params.get("timeout"),
        )
    )


def _routing_from_files(table: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, str]:
    settings = _mapping(config.get("router_settings"))
    return {
        "strategy": str(table.get("strategy", "")),
        "node_pinning": str(table.get("pinning", "")),
        "affinity": str(table.get("affinity", "off")),  # tables from before it: no affinity
        "num_retries": _num(settings.get("num_retries")),
        "timeout": _num(settings.get("timeout")),
        "stream_timeout": _num(settings.get("stream_timeout")),
        **_health_from_files(config),
        "cooldown": _num(settings.get("cooldown_time")),
        "allowed_fails": _num(settings.get("allowed_fails")),
    }


def _health_from_files(config: Mapping[str, Any]) -> dict[str, str]:
    """Health check settings: the interval in general_settings (absent: checks off), the
    timeout on each node deployment (the same on all of them)."""
    general = _mapping(config.get("general_settings"))
    interval = (
        general.get("health_check_interval") if general.get("background_health_checks") else 0
    )
    infos = [
        _mapping(_mapping(entry).get("model_info")) for entry in config.get("model_list") or []
    ]
    timeouts = [info["health_check_timeout"] for info in infos if "health_check_timeout" in info]
    return {
        "health_check_interval": _num(interval),
        "health_check_timeout": _num(timeouts[0] if timeouts else None),
    }


def _gateway_from_files(config: Mapping[str, Any]) -> dict[str, str]:
    key = str(_mapping(config.get("general_settings")).get("master_key", ""))
    return {"master_key": key.removeprefix("os.environ/")}
