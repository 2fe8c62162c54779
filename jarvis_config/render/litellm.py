"""Stage 4, render (target `litellm`): the stock LiteLLM proxy's config, routing table, callback.

Writes `litellm/config.yaml` (built here as plain data from the mesh and the routing plan, then
laid out by templates/litellm/config.yaml.j2), `litellm/routes.json` (see `render.routes`) and
`litellm/jarvis_router.py`, the static callback shipped in this package, copied verbatim.
Start the gateway with `litellm --config litellm/config.yaml`: the proxy imports the callback
from the config's folder, and the callback reads routes.json beside itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from importlib import resources
from typing import Any

from jarvis_config.model.catalog import is_ollama_embedding
from jarvis_config.model.mesh import Deployment, Mesh
from jarvis_config.model.routing import Chain, RoutingPlan, plan
from jarvis_config.render import routes
from jarvis_config.render.templating import render_template

CALLBACK_MODULE = "jarvis_router"
CALLBACK = f"{CALLBACK_MODULE}.proxy_handler_instance"
OUT_DIR = "litellm"
# A deployment's default params may not replace what the gateway itself decides.
RESERVED_PARAMS = frozenset(
    {
        "model",
        "api_base",
        "api_key",
        "api_version",
        "tags",
        "rpm",
        "tpm",
        "max_parallel_requests",
        "timeout",
        "messages",
        "stream",
    }
)
# Shared router state for several gateway replicas; the compose stack sets these.
REDIS_SETTINGS = {
    "redis_host": "REDIS_HOST",
    "redis_port": "REDIS_PORT",
    "redis_password": "REDIS_PASSWORD",
}
DATABASE_URL_VAR = "DATABASE_URL"
NEEDS: tuple[str, ...] = ()  # reads no other target's files
# The callback module's auth function: per-client keys without a database, 401 for bad keys.
CUSTOM_AUTH = f"{CALLBACK_MODULE}.user_api_key_auth"
# A model's declared capabilities as LiteLLM's model_info flags (shown in /v1/model/info).
CAPABILITY_FLAGS = {
    "tools": ("supports_function_calling", "supports_tool_choice"),
    "parallel_tools": ("supports_parallel_function_calling",),
    "vision": ("supports_vision",),
    "json_mode": ("supports_response_schema",),
    "reasoning": ("supports_reasoning",),
}


def render(mesh: Mesh, needed: Mapping[str, str] | None = None) -> dict[str, str]:
    routing = plan(mesh)  # both files follow the one plan
    config = gateway_config(mesh, routing)
    return {
        f"{OUT_DIR}/config.yaml": render_template("litellm/config.yaml.j2", **config),
        f"{OUT_DIR}/routes.json": render_template(
            "litellm/routes.json.j2", table=routes.routing_table(mesh, routing)
        ),
        f"{OUT_DIR}/{CALLBACK_MODULE}.py": callback_source(),
    }


def callback_source() -> str:
    """The callback module's text, from the installed package (it is not generated)."""
    source = resources.files("jarvis_config") / "callback" / f"{CALLBACK_MODULE}.py"
    return source.read_text(encoding="utf-8")


def gateway_config(mesh: Mesh, routing: RoutingPlan | None = None) -> dict[str, Any]:
    """The proxy's config.yaml as data, in the order it is written; `routing` is the mesh's
    routing plan when the caller has made it already."""
    routing = plan(mesh) if routing is None else routing
    return {
        "model_list": [
            deployment_entry(d, mesh.routing.health_check_timeout) for d in mesh.deployments
        ],
        "router_settings": router_settings(mesh, routing),
        "litellm_settings": {"callbacks": [CALLBACK]},
        "general_settings": general_settings(mesh),
    }


def deployment_entry(deployment: Deployment, health_check_timeout: float) -> dict[str, Any]:
    """One model_list entry. A node's deployment is its own model group (named by its id);
    a hosted model's deployment serves the model's name directly."""
    return {
        "model_name": deployment.id if deployment.node else deployment.model,
        "litellm_params": litellm_params(deployment),
        "model_info": model_info(deployment, health_check_timeout),
    }


def litellm_params(deployment: Deployment) -> dict[str, Any]:
    params: dict[str, Any] = {"model": deployment.litellm_model}
    optional = {
        "api_base": deployment.api_base,
        "api_key": deployment.api_key.litellm if deployment.api_key else None,
        "api_version": deployment.api_version,
    }
    params.update({key: value for key, value in optional.items() if value is not None})
    params.update({key: value for key, value in deployment.params if key not in RESERVED_PARAMS})
    limits = deployment.limits
    for key in ("rpm", "tpm", "max_parallel_requests", "timeout"):
        value = getattr(limits, key)
        if value is not None:
            params[key] = value
    if is_ollama_embedding(deployment.runtime, deployment.category):
        # The openai SDK asks for base64 vectors by default, which LiteLLM's Ollama embeddings
        # refuse (UnsupportedParamsError) unless told to drop the parameter; the SDK takes
        # the float vectors Ollama sends back all the same.
        params["drop_params"] = True
    params["tags"] = list(deployment.tags)
    return params


def model_info(deployment: Deployment, health_check_timeout: float) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": deployment.id,
        "mode": "embedding" if deployment.category == "embedding" else "chat",
        "jarvis_model": deployment.model,
        "category": deployment.category,
    }
    if deployment.node is not None:
        info.update(node=deployment.node, runtime=deployment.runtime)
        info["health_check_timeout"] = health_check_timeout
    else:
        # A check is a real request: never spend a hosted provider's quota on it.
        info.update(provider=deployment.provider, disable_background_health_check=True)
    if deployment.context_window is not None:
        info.update(
            context_window=deployment.context_window, max_input_tokens=deployment.context_window
        )
    if deployment.capabilities is not None:
        declared = set(deployment.capabilities)
        info.update(
            (flag, capability in declared)
            for capability, flags in CAPABILITY_FLAGS.items()
            for flag in flags
        )
    return info


def router_settings(mesh: Mesh, routing: RoutingPlan) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "routing_strategy": routing.strategy,
        "num_retries": mesh.routing.num_retries,
    }
    settings.update(fault_settings(mesh))
    settings["routing_groups"] = routing_groups(routing)
    settings["model_group_alias"] = dict(routing.aliases)
    settings["fallbacks"] = fallbacks(routing.fallbacks, routing.hidden_groups)
    settings["context_window_fallbacks"] = fallbacks(
        routing.context_window_fallbacks, routing.hidden_groups
    )
    if routing.context_window_fallbacks:
        # Check prompts against each deployment's max_input_tokens before calling it, so a
        # runtime that silently truncates (Ollama) still moves long prompts to the fallback.
        settings["enable_pre_call_checks"] = True
    if mesh.gateway.replicas > 1:
        settings.update({key: f"os.environ/{var}" for key, var in REDIS_SETTINGS.items()})
    return {key: value for key, value in settings.items() if value not in ([], {})}


def fault_settings(mesh: Mesh) -> dict[str, Any]:
    """How long a node may take, and how long a failing one is left alone (router_settings).
    A timed-out node is not retried: it is most likely frozen, and a retry would only double
    the wait before the fallbacks move on (a strict pin would then miss its 60 s bound)."""
    routing = mesh.routing
    return {
        "timeout": routing.timeout,
        "stream_timeout": routing.stream_timeout,
        "retry_policy": retry_policy(routing.num_retries),
        "allowed_fails": routing.allowed_fails,
        "cooldown_time": routing.cooldown,
    }


def retry_policy(num_retries: int) -> dict[str, int]:
    """Retries by the kind of failure. Only an answer the runtime gave (a 500, a 503, a rate
    limit) is retried. A timeout is not, and neither is a connection error: LiteLLM 1.108.7
    raises one for a refused connection and for a stream that stalls after its headers (after
    `stream_timeout`), and its policy has no key for it, so `DefaultRetries` covers it; each
    retry of a stalled node would cost another `stream_timeout` (three made a strict pin wait
    62 to 65 s). The fallbacks move on to another node at once instead."""
    return {
        "TimeoutErrorRetries": 0,
        "DefaultRetries": 0,
        "InternalServerErrorRetries": num_retries,
        "ServiceUnavailableErrorRetries": num_retries,
        "RateLimitErrorRetries": num_retries,
    }


def health_check_settings(mesh: Mesh) -> dict[str, Any]:
    """Background health checks, and routing that leaves out a deployment whose last check
    failed (general_settings; the proxy passes the routing switch on to its router)."""
    if mesh.routing.health_check_interval == 0:
        return {}
    return {
        "background_health_checks": True,
        "health_check_interval": mesh.routing.health_check_interval,
        "enable_health_check_routing": True,
    }


def fallbacks(chains: tuple[Chain, ...], hidden_groups: Collection[str]) -> list[dict[str, Any]]:
    """router_settings fallbacks. A hop to one node's (or role's) group is made without
    retries: the walk goes on to the next node at once instead of backing off on a dead one.
    Fallbacks to other models keep the configured retries."""
    hidden = frozenset(hidden_groups)
    return [
        {
            group: [
                {"model": target, "num_retries": 0} if target in hidden else target
                for target in chain
            ]
        }
        for group, chain in chains
    ]


def routing_groups(routing: RoutingPlan) -> list[dict[str, Any]]:
    """The model's name over its per-node groups (the routing strategy balances them), and a
    priority group with equal priorities for each role that several of its nodes share."""
    groups: list[dict[str, Any]] = []
    for route in routing.models:
        if route.nodes:
            groups.append(
                {
                    "group_name": route.model,
                    "models": list(route.node_groups),
                    "routing_strategy": routing.strategy,
                }
            )
        groups.extend(
            {
                "group_name": role.name,
                "models": list(role.members),
                "routing_strategy": "priority",
                "model_priorities": dict.fromkeys(role.members, 1),
            }
            for role in route.role_groups
        )
    return groups


def general_settings(mesh: Mesh) -> dict[str, Any]:
    settings: dict[str, Any] = health_check_settings(mesh)
    if mesh.gateway.master_key is not None:
        settings["master_key"] = mesh.gateway.master_key.litellm
    if mesh.gateway.master_key is not None or mesh.gateway.keys:
        settings["custom_auth"] = CUSTOM_AUTH
    if mesh.gateway.database:
        settings["database_url"] = f"os.environ/{DATABASE_URL_VAR}"
    return settings
