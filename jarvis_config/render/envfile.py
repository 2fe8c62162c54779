"""Stage 4, render, part of target `compose`: the environment variables the stacks need.

One list, derived from the mesh, feeds both the `${VAR}` references in the compose files and
`.env.example`, so the two never disagree. Each variable says what it is, which stacks read
it, and whether a stack refuses to start without it.
"""

from __future__ import annotations

from dataclasses import dataclass

from jarvis_config.model.mesh import Mesh
from jarvis_config.model.processes import shares_router_state
from jarvis_config.render import expansion

GATEWAY = "gateway"
# Runtimes whose compose service is given the node's API key to check (vLLM, llama.cpp).
KEY_CHECKING_RUNTIMES = ("vllm", "llamacpp")


@dataclass(frozen=True, order=True)
class EnvVar:
    name: str
    description: str
    stacks: tuple[str, ...]  # "gateway" and/or "node <name>"
    required: bool = True


def required_ref(name: str) -> str:
    """`${NAME:?...}`: the compose interpolation of a variable that stops `docker compose up`
    with a clear message when unset."""
    name = expansion.env_name(name)
    return "${" + name + ":?set " + name + " in the env file, see .env.example}"


def optional_ref(name: str) -> str:
    """`${NAME:-}`: the compose interpolation of a variable that may stay unset (empty)."""
    return "${" + expansion.env_name(name) + ":-}"


def stack_env_vars(mesh: Mesh) -> tuple[EnvVar, ...]:
    """Every variable the stacks read, sorted by name (`Mesh.referenced_env_vars` are only
    those the config names)."""
    found: dict[str, EnvVar] = {}
    for var in [*_secrets(mesh), *_gateway_extras(mesh), *_node_extras(mesh)]:
        if var.name in found:
            old = found[var.name]
            var = EnvVar(
                var.name,
                old.description,
                tuple(sorted({*old.stacks, *var.stacks})),
                old.required or var.required,
            )
        found[var.name] = var
    for name in mesh.referenced_env_vars:
        found.setdefault(name, EnvVar(name, "Referenced in the mesh config.", (GATEWAY,)))
    return tuple(sorted(found.values()))


def _secrets(mesh: Mesh) -> list[EnvVar]:
    out: list[EnvVar] = []
    if mesh.gateway.master_key is not None:
        out.append(
            EnvVar(
                mesh.gateway.master_key.var,
                "Master key of the gateway; clients send it as their API key (gateway.master_key).",
                (GATEWAY,),
            )
        )
    out.extend(
        EnvVar(
            key.key.var,
            f"API key of the gateway's client {key.name!r}; that client sends it as its "
            f"API key (gateway.keys.{key.name}).",
            (GATEWAY,),
        )
        for key in mesh.gateway.keys
    )
    for provider in mesh.providers:
        if provider.api_key is not None:
            out.append(
                EnvVar(
                    provider.api_key.var,
                    f"API key for the hosted provider {provider.name!r} "
                    f"(providers.{provider.name}.api_key).",
                    (GATEWAY,),
                )
            )
    for node in mesh.nodes:
        served = {d.runtime for d in mesh.deployments_on(node.name)}
        for runtime in node.runtimes:
            if runtime.api_key is None:
                continue
            # The node's stack passes the key to the servers it runs that check one.
            checked = runtime.kind in KEY_CHECKING_RUNTIMES and runtime.kind in served
            out.append(
                EnvVar(
                    runtime.api_key.var,
                    f"API key of the {runtime.kind} server on node {node.name!r}, "
                    "sent by the gateway "
                    f"(nodes.{node.name}.runtimes.{runtime.kind}.api_key).",
                    (GATEWAY, f"node {node.name}") if checked else (GATEWAY,),
                )
            )
    return out


def _gateway_extras(mesh: Mesh) -> list[EnvVar]:
    out: list[EnvVar] = []
    if shares_router_state(mesh.gateway):
        out.append(
            EnvVar(
                "REDIS_PASSWORD",
                "Password of the Redis through which the gateway's processes share their "
                "router state.",
                (GATEWAY,),
            )
        )
    if mesh.gateway.database:
        out.append(
            EnvVar(
                "POSTGRES_PASSWORD",
                "Password of the gateway's Postgres database "
                "(virtual keys, teams, spend); letters and digits only, as it goes "
                "into the database URL.",
                (GATEWAY,),
            )
        )
    return out


def _node_extras(mesh: Mesh) -> list[EnvVar]:
    out: list[EnvVar] = []
    for node in mesh.nodes:
        kinds = {d.runtime for d in mesh.deployments_on(node.name)}
        if "llamacpp" in kinds:
            out.append(
                EnvVar(
                    "JARVIS_MODELS_DIR",
                    "Folder on each llama.cpp node that holds "
                    "the GGUF files, one <source>.gguf per model.",
                    (f"node {node.name}",),
                )
            )
        if "vllm" in kinds:
            out.append(
                EnvVar(
                    "HF_TOKEN",
                    "Hugging Face token for gated models that vLLM downloads; may stay empty.",
                    (f"node {node.name}",),
                    required=False,
                )
            )
    return out
