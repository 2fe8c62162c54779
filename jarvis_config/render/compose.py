"""Stage 4, render, target `compose`: the deployment stacks for every machine of the mesh.

Writes `compose/gateway/compose.yaml` (the LiteLLM proxy, Redis when replicas share router
state behind an nginx front, Postgres when the gateway keeps a database),
`compose/nodes/<node>/compose.yaml` for each node that runs local runtimes,
`compose/swarm/stack.yaml` (the whole mesh for `docker stack deploy`) and `.env.example`.

Every decision (images, ports, commands, GPU shares, environment) is made here and in the
model; the templates under templates/compose/ only lay the services out. Secrets are always
`${VAR}` references that compose fills from the environment or an env file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from jarvis_config.model.catalog import (
    LOAD_BALANCER_IMAGE,
    POSTGRES_IMAGE,
    REDIS_IMAGE,
    gateway_image,
    gateway_start_seconds,
)
from jarvis_config.model.mesh import Mesh, Node
from jarvis_config.model.routing import drain_seconds, stop_grace_seconds
from jarvis_config.model.servers import OLLAMA_PORT, Server, Storage, node_servers
from jarvis_config.render.envfile import optional_ref, required_ref, stack_env_vars
from jarvis_config.render.litellm import OUT_DIR as LITELLM_DIR
from jarvis_config.render.templating import render_template

GATEWAY_DIR = "compose/gateway"
SWARM_FILE = "compose/swarm/stack.yaml"
ENV_EXAMPLE = ".env.example"
# The rendered litellm/ folder, mounted read-only; the callback module sits beside the config.
LITELLM_MOUNT = "/etc/litellm"
LITELLM_CONFIG = f"{LITELLM_MOUNT}/config.yaml"
GATEWAY_LIMITS = ("2", "2G")  # cpus, memory of one proxy container
DB_USER = "litellm"
# Labels an operator puts on swarm nodes (docker node update --label-add ...).
NODE_LABEL = "jarvis.node"
NEEDS = ("litellm",)  # the Swarm configs carry digests of the LiteLLM files
ROLE_LABEL = "jarvis.role.{role}"
GATEWAY_LABEL = "jarvis.gateway"
DATABASE_LABEL = "jarvis.database"
HEALTH_INTERVAL, HEALTH_RETRIES = 10, 5  # seconds between checks; failures that count
COMPOSE_GATEWAY_START, SWARM_GATEWAY_START = 20, 300  # start periods, seconds, at the least


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval: str = f"{HEALTH_INTERVAL}s"
    timeout: str = "5s"
    retries: int = HEALTH_RETRIES
    start_period: str = "20s"


@dataclass(frozen=True)
class Service:
    """One container service, in the words of the compose specification."""

    name: str
    image: str
    command: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    ports: tuple[tuple[int, int], ...] = ()  # (published, target)
    volumes: tuple[str, ...] = ()
    depends_on: tuple[tuple[str, str], ...] = ()  # (service, condition)
    healthcheck: Healthcheck | None = None
    gpus: int = 0
    limits: tuple[str, str] | None = None  # (cpus, memory)
    restart: str = "unless-stopped"
    ipc: str | None = None
    one_shot: bool = False  # runs once (e.g. a model pull) instead of staying up
    # Swarm only: node label constraints and how many copies run.
    constraints: tuple[str, ...] = ()
    replicas: int = 1
    configs: tuple[tuple[str, str], ...] = ()  # (config name, target path)
    stop_grace_period: str | None = None  # SIGTERM to SIGKILL: a gateway drains meanwhile
    port_mode: str = "ingress"  # swarm: "host" publishes on the machine itself

    @property
    def port_mappings(self) -> tuple[str, ...]:
        return tuple(f"{published}:{target}" for published, target in self.ports)


@dataclass(frozen=True)
class Stack:
    services: tuple[Service, ...]
    volumes: tuple[str, ...] = ()
    configs: tuple[tuple[str, str], ...] = ()  # (config name, file)


def render(mesh: Mesh, needed: Mapping[str, str]) -> dict[str, str]:
    """The stacks; `needed` holds the rendered `litellm` target (the Swarm configs carry
    digests of its files)."""
    files = {f"{GATEWAY_DIR}/compose.yaml": _compose(gateway_stack(mesh))}
    if mesh.gateway.replicas > 1:
        files[f"{GATEWAY_DIR}/nginx.conf"] = render_template(
            "compose/nginx.conf.j2", port=mesh.gateway.port, upstreams=replica_upstreams(mesh)
        )
    servers = {node.name: node_servers(mesh, node) for node in mesh.nodes}  # for both stacks
    for node in mesh.nodes:
        stack = node_stack(mesh, node, servers=servers[node.name])
        if stack.services:
            files[f"compose/nodes/{node.name}/compose.yaml"] = _compose(stack)
    stack = swarm_stack(mesh, swarm_configs(needed), servers)
    files[SWARM_FILE] = render_template("compose/stack.yaml.j2", stack=stack)
    files[ENV_EXAMPLE] = render_template("compose/env.example.j2", variables=stack_env_vars(mesh))
    return dict(sorted(files.items()))


def _compose(stack: Stack) -> str:
    return render_template("compose/compose.yaml.j2", stack=stack)


# --- the gateway -----------------------------------------------------------------------------


def gateway_stack(mesh: Mesh) -> Stack:
    replicas = mesh.gateway.replicas
    services = [*proxy_services(mesh)]
    if replicas > 1:
        services.append(load_balancer(mesh))
        services.append(redis_service())
    volumes: tuple[str, ...] = ()
    if mesh.gateway.database:
        services.append(postgres_service())
        volumes = ("postgres-data",)
    return Stack(services=tuple(sorted(services, key=lambda s: s.name)), volumes=volumes)


def proxy_services(mesh: Mesh) -> list[Service]:
    """One proxy when replicas is 1, publishing the gateway port itself; otherwise N proxies,
    each on the gateway port of its own container, behind the nginx front that publishes it."""
    port = mesh.gateway.port
    if mesh.gateway.replicas == 1:
        return [replace(proxy_service(mesh, "litellm", port), ports=((port, port),))]
    return [
        proxy_service(mesh, f"litellm-{index}", port)
        for index in range(1, mesh.gateway.replicas + 1)
    ]


def proxy_service(mesh: Mesh, name: str, port: int) -> Service:
    depends = []
    if mesh.gateway.replicas > 1:
        depends.append(("redis", "service_healthy"))
    if mesh.gateway.database:
        depends.append(("postgres", "service_healthy"))
    return Service(
        name=name,
        image=escape_dollars(gateway_image(mesh.gateway)),
        command=("--config", LITELLM_CONFIG, "--port", str(port)),
        environment=proxy_environment(mesh),
        stop_grace_period=f"{stop_grace_seconds(mesh)}s",
        volumes=(f"../../{LITELLM_DIR}:{LITELLM_MOUNT}:ro",),
        depends_on=tuple(depends),
        healthcheck=Healthcheck(
            test=http_check(port, "/health/liveliness"),
            start_period=gateway_start_period(mesh, COMPOSE_GATEWAY_START),
        ),
        limits=GATEWAY_LIMITS,
    )


def gateway_start_period(mesh: Mesh, least: int) -> str:
    """The gateway healthcheck's start period: `least` seconds, or longer when the gateway's
    deployments take longer to start on a busy host (`gateway_start_seconds`), less the
    failing checks allowed after the start period."""
    after = HEALTH_RETRIES * HEALTH_INTERVAL
    return f"{max(least, gateway_start_seconds(len(mesh.deployments)) - after)}s"


def proxy_environment(mesh: Mesh) -> tuple[tuple[str, str], ...]:
    env = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "GRACEFUL_SHUTDOWN_TIMEOUT": str(drain_seconds(mesh)),
    }
    for var in stack_env_vars(mesh):
        if "gateway" in var.stacks and var.name not in _FIXED_GATEWAY_VARS:
            env[var.name] = required_ref(var.name)
    if mesh.gateway.replicas > 1:
        env.update(
            REDIS_HOST="redis", REDIS_PORT="6379", REDIS_PASSWORD=required_ref("REDIS_PASSWORD")
        )
    if mesh.gateway.database:
        env["DATABASE_URL"] = (
            f"postgresql://{DB_USER}:{required_ref('POSTGRES_PASSWORD')}@postgres:5432/{DB_USER}"
        )
    return tuple(sorted(env.items()))


_FIXED_GATEWAY_VARS = ("REDIS_PASSWORD", "POSTGRES_PASSWORD")


def replica_upstreams(mesh: Mesh) -> tuple[tuple[str, int], ...]:
    return tuple((s.name, int(s.command[-1])) for s in proxy_services(mesh))


def load_balancer(mesh: Mesh) -> Service:
    port = mesh.gateway.port
    return Service(
        name="gateway",
        image=LOAD_BALANCER_IMAGE,
        ports=((port, port),),
        volumes=("./nginx.conf:/etc/nginx/nginx.conf:ro",),
        depends_on=tuple((name, "service_healthy") for name, _ in replica_upstreams(mesh)),
        healthcheck=Healthcheck(test=("CMD", "bash", "-c", bash_http_check(port))),
    )


def bash_http_check(port: int) -> str:
    """An HTTP probe through the proxies with bash alone (the nginx image has no curl)."""
    request = "GET /health/liveliness HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n"
    return (
        f"exec 3<>/dev/tcp/127.0.0.1/{port} && printf '{request}' >&3 "
        "&& head -n 1 <&3 | grep -q ' 200 '"
    )


def redis_service() -> Service:
    """LiteLLM's shared router state (rate limits, cool-downs); nothing worth persisting."""
    return Service(
        name="redis",
        image=REDIS_IMAGE,
        command=(
            "redis-server",
            "--requirepass",
            required_ref("REDIS_PASSWORD"),
            "--save",
            "",
            "--appendonly",
            "no",
        ),
        environment=(("REDISCLI_AUTH", required_ref("REDIS_PASSWORD")),),
        healthcheck=Healthcheck(test=("CMD-SHELL", "redis-cli ping | grep -q PONG")),
    )


def postgres_service() -> Service:
    return Service(
        name="postgres",
        image=POSTGRES_IMAGE,
        environment=(
            ("POSTGRES_DB", DB_USER),
            ("POSTGRES_PASSWORD", required_ref("POSTGRES_PASSWORD")),
            ("POSTGRES_USER", DB_USER),
        ),
        volumes=("postgres-data:/var/lib/postgresql/data",),
        healthcheck=Healthcheck(test=("CMD-SHELL", f"pg_isready -U {DB_USER} -d {DB_USER}")),
    )


def escape_dollars(text: str) -> str:
    """A string from the mesh with each `$` doubled, so compose's `$VAR` interpolation leaves
    it as written."""
    return text.replace("$", "$$")


def http_check(port: int, path: str) -> tuple[str, ...]:
    """A healthcheck with the image's own Python, which every LiteLLM and vLLM image has."""
    url = f"http://127.0.0.1:{port}{path}"
    probe = f"import urllib.request; urllib.request.urlopen('{url}', timeout=4)"
    return ("CMD", "python3", "-c", probe)


# --- the nodes -------------------------------------------------------------------------------


def node_stack(
    mesh: Mesh, node: Node, prefix: str = "", servers: tuple[Server, ...] | None = None
) -> Stack:
    """The runtimes of one node; `prefix` goes before every service name (the swarm stack
    holds all nodes in one namespace); `servers` are the node's when the caller has them."""
    services: list[Service] = []
    volumes: set[str] = set()
    for server in node_servers(mesh, node) if servers is None else servers:
        service = server_service(server, prefix)
        services.append(service)
        services.extend(
            pull_service(service, f"{prefix}pull-{model}", source) for model, source in server.pulls
        )
        if server.storage.host_var is None:
            volumes.add(server.storage.name)
    return Stack(services=tuple(services), volumes=tuple(sorted(volumes)))


def server_service(server: Server, prefix: str) -> Service:
    """A model server as a compose service: the model's facts, compose's spelling."""
    env = [*server.env]
    for secret in server.secrets:
        env.append(
            (secret.name, required_ref(secret.var) if secret.required else optional_ref(secret.var))
        )
    return Service(
        name=f"{prefix}{server.name}",
        image=server.image,
        command=tuple(escape_dollars(arg) for arg in server.args),
        environment=tuple(sorted(env)),
        ports=((server.published, server.port),),
        volumes=(_mount(server.storage),),
        healthcheck=Healthcheck(
            test=COMPOSE_HEALTH[server.runtime](server), start_period=f"{server.start_seconds}s"
        ),
        gpus=server.gpus,
        ipc="host" if server.shared_memory else None,
    )


def _mount(storage: Storage) -> str:
    source = required_ref(storage.host_var) if storage.host_var else storage.name
    return f"{source}:{storage.mount}{':ro' if storage.read_only else ''}"


def pull_service(server: Service, name: str, source: str) -> Service:
    """A short-lived `ollama pull` of one model through the node's Ollama server."""
    return Service(
        name=name,
        image=server.image,
        command=("pull", escape_dollars(source)),
        environment=(("OLLAMA_HOST", f"http://{server.name}:{OLLAMA_PORT}"),),
        depends_on=((server.name, "service_healthy"),),
        restart="no",
        one_shot=True,
    )


# Compose healthchecks run inside the container, with what each image has: the ollama CLI,
# the vLLM image's Python, the llama.cpp image's curl.
COMPOSE_HEALTH: dict[str, Callable[[Server], tuple[str, ...]]] = {
    "ollama": lambda server: ("CMD", "ollama", "list"),
    "vllm": lambda server: http_check(server.port, server.health_path),
    "llamacpp": lambda server: (
        ("CMD", "curl", "-fsS", f"http://127.0.0.1:{server.port}{server.health_path}")
    ),
}


# --- the swarm stack -------------------------------------------------------------------------


def swarm_stack(
    mesh: Mesh,
    configs: tuple[tuple[str, str], ...],
    servers: Mapping[str, tuple[Server, ...]],
) -> Stack:
    """The whole mesh as one `docker stack deploy` stack: node services pinned to their
    machine by node labels, the gateway as one replicated service behind swarm's ingress.
    `configs` are (swarm config name, file) for the files of the `litellm` target; `servers`
    each node's servers, made once for the node compose files too."""
    services = [swarm_gateway(mesh, configs)]
    if mesh.gateway.replicas > 1:
        services.append(replace(redis_service(), constraints=(_label(GATEWAY_LABEL),)))
    volumes = set()
    if mesh.gateway.database:
        services.append(replace(postgres_service(), constraints=(_label(DATABASE_LABEL),)))
        volumes.add("postgres-data")
    for node in mesh.nodes:
        stack = node_stack(mesh, node, prefix=f"{node.name}-", servers=servers[node.name])
        services.extend(swarm_node_service(node, s) for s in stack.services)
        volumes.update(stack.volumes)
    return Stack(
        services=tuple(services),
        volumes=tuple(sorted(volumes)),
        configs=tuple((name, f"../../{LITELLM_DIR}/{file}") for name, file in configs),
    )


def swarm_gateway(mesh: Mesh, configs: tuple[tuple[str, str], ...]) -> Service:
    port = mesh.gateway.port
    proxy = proxy_service(mesh, "gateway", port)
    assert proxy.healthcheck is not None
    return replace(
        proxy,
        # Swarm replaces a task that turns unhealthy, so a start-up slower than the start
        # period (a busy machine, a large mesh) would restart the proxy forever; failures
        # inside the start period do not count, and the first success ends it early.
        healthcheck=replace(
            proxy.healthcheck, start_period=gateway_start_period(mesh, SWARM_GATEWAY_START)
        ),
        ports=((port, port),),
        volumes=(),
        depends_on=(),
        replicas=mesh.gateway.replicas,
        constraints=(_label(GATEWAY_LABEL),),
        configs=tuple((name, f"{LITELLM_MOUNT}/{file}") for name, file in configs),
    )


def swarm_node_service(node: Node, service: Service) -> Service:
    """Pinned to its machine by the node's name label and role labels."""
    constraints = (
        _label(NODE_LABEL, node.name),
        *(_label(ROLE_LABEL.format(role=role)) for role in node.roles),
    )
    return replace(service, depends_on=(), constraints=constraints, port_mode="host")


def swarm_configs(litellm_files: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """(swarm config name, file) for each file the `litellm` target wrote. Swarm configs
    cannot change in place, so each name carries a digest of its content: a redeploy after a
    rebuild creates new configs and rolls the gateway over to them."""
    rendered = {k: v for k, v in litellm_files.items() if k.startswith(f"{LITELLM_DIR}/")}
    out = []
    for path in sorted(rendered):
        file = path.removeprefix(f"{LITELLM_DIR}/")
        digest = hashlib.sha256(rendered[path].encode("utf-8")).hexdigest()[:12]
        out.append((f"litellm-{re.sub(r'[^a-z0-9]+', '-', file.lower())}-{digest}", file))
    return tuple(out)


def _label(label: str, value: str = "true") -> str:
    return f"node.labels.{label} == {value}"
