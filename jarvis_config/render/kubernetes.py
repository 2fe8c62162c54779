"""Stage 4, render, target `kubernetes`: the mesh as manifests for `kubectl apply -k`.

Writes under `kubernetes/`: `namespace.yaml`; `gateway.yaml` (the LiteLLM proxy's ConfigMap,
Deployment and Service, a PodDisruptionBudget when it has replicas, an optional Ingress);
`redis.yaml` when replicas share router state; `postgres.yaml` when the gateway keeps a
database; `nodes/<node>.yaml` with one Deployment and Service per model server of the node
(pinned to the machine by a node label) and one Job per Ollama model pull; and
`kustomization.yaml` listing them all.

The model servers are the same `Server`s the compose stacks run (model/servers.py). The
gateway's config.yaml is the `litellm` target rendered from the mesh with each deployment's
api_base set to its runtime's Service, so the gateway reaches runtimes by cluster DNS. Secrets
are never written: every one is a `secretKeyRef` into the Secret `jarvis-secrets`, made by the
operator from the same env file as the compose stacks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from jarvis_config.errors import RenderError
from jarvis_config.model.catalog import (
    POSTGRES_IMAGE,
    REDIS_IMAGE,
    RUNTIME_API_SUFFIX,
    gateway_image,
    gateway_start_seconds,
)
from jarvis_config.model.mesh import Deployment, Mesh, Node, with_api_bases
from jarvis_config.model.routing import PRE_STOP_SECONDS, drain_seconds, stop_grace_seconds
from jarvis_config.model.servers import LOCAL_RUNTIMES, SecretEnv, Server, node_servers
from jarvis_config.render import litellm
from jarvis_config.render.compose import DB_USER, LITELLM_MOUNT
from jarvis_config.render.envfile import GATEWAY, stack_env_vars
from jarvis_config.render.kubenames import KubeNames
from jarvis_config.render.templating import render_template

OUT_DIR = "kubernetes"
NAMESPACE = "jarvis"
SECRET = "jarvis-secrets"
# The label an operator puts on each machine: kubectl label node <machine> jarvis-config/node=<name>
NODE_LABEL = "jarvis-config/node"
# Model caches live on the machine that serves them (the workloads are pinned to it).
HOST_STORAGE = "/var/lib/jarvis"
GATEWAY_NAME = "litellm"
CONFIG_MAP = "litellm-config"
# Kubernetes refuses a ConfigMap whose data (keys and values) exceeds 1 MiB, and `kubectl apply`
# (client-side, as the deploy docs run it) copies each object into its annotation
# `kubectl.kubernetes.io/last-applied-configuration`, and an object's annotations may hold
# 256 KiB in all. JSON's escapes grow the files by about an eighth (routes.json's quotes): a
# budget of 192 KiB, counted as UTF-8 bytes of keys and values, keeps a third in hand.
CONFIG_MAP_BUDGET = 192 * 1024
# Over the budget the files are cut into chunks `<file>.000`, `<file>.001`, ... packed into the
# ConfigMaps `litellm-config-000`, ...: three digits, so name order is chunk order.
MAX_PARTS = 1000
PARTS_MOUNT = "/etc/litellm-parts"
# What the gateway's init container runs: each file's chunks, in name order, into one file. A
# ConfigMap volume also holds kubelet's own entries (`..data`, `..2025_01_01_...`): skipped.
# The first chunk truncates, so a rerun of the init container in the same pod writes the same.
ASSEMBLE_SCRIPT = """\
import os, sys
parts, out = sys.argv[1:]
for key in sorted(os.listdir(parts)):
    if not key.startswith("."):
        name, index = key.rsplit(".", 1)
        with open(os.path.join(out, name), "ab" if int(index) else "wb") as target:
            with open(os.path.join(parts, key), "rb") as chunk:
                target.write(chunk.read())
"""
REDIS_PORT = 6379
POSTGRES_PORT = 5432
POSTGRES_STORAGE = "10Gi"
GATEWAY_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "1Gi"},
    "limits": {"cpu": "2", "memory": "2Gi"},
}
_FIXED_GATEWAY_VARS = ("REDIS_PASSWORD", "POSTGRES_PASSWORD")


# The gateway's ConfigMap holds the `litellm` target rendered anew for the cluster (api_bases
# at the runtimes' Services), so this target needs no other target's files.
NEEDS: tuple[str, ...] = ()


def render(mesh: Mesh, needed: Mapping[str, str] | None = None) -> dict[str, str]:
    servers = {node.name: node_servers(mesh, node) for node in mesh.nodes}
    names = KubeNames.for_mesh(mesh, fixed=reserved_names(), servers=servers)
    files = {
        "namespace.yaml": _file(
            [
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    **_meta(NAMESPACE, "namespace", "namespace", namespaced=False),
                }
            ]
        ),
        "gateway.yaml": _gateway_file(mesh, names),
    }
    if mesh.gateway.replicas > 1:
        files["redis.yaml"] = _file(redis_manifests())
    if mesh.gateway.database:
        files["postgres.yaml"] = _file(postgres_manifests())
    for node in mesh.nodes:
        documents = node_manifests(node, servers[node.name], names)
        if documents:
            files[f"nodes/{node.name}.yaml"] = _file(documents)
    files["kustomization.yaml"] = _file([kustomization(sorted(files))])
    return {f"{OUT_DIR}/{path}": text for path, text in sorted(files.items())}


def reserved_names() -> tuple[str, ...]:
    """The target's own object names, which no node's object may take: every ConfigMap the
    gateway's files may need among them."""
    parts = (part_name(i) for i in range(MAX_PARTS))
    return (NAMESPACE, GATEWAY_NAME, CONFIG_MAP, *parts, "redis", "postgres")


def _file(
    documents: list[dict[str, Any]],
    config_maps: tuple[tuple[dict[str, Any], dict[str, str]], ...] = (),
) -> str:
    return render_template(
        "kubernetes/manifests.yaml.j2", documents=documents, config_maps=config_maps
    )


def kustomization(files: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": NAMESPACE,
        "resources": files,
    }


# --- labels and names ------------------------------------------------------------------------


def labels(name: str, app: str, component: str) -> dict[str, str]:
    """The recommended app.kubernetes.io labels."""
    return {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "jarvis",
        "app.kubernetes.io/managed-by": "jarvis-config",
    }


def selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/instance": name, "app.kubernetes.io/part-of": "jarvis"}


def _meta(name: str, app: str, component: str, *, namespaced: bool = True) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespaced:
        metadata["namespace"] = NAMESPACE
    metadata["labels"] = labels(name, app, component)
    return {"metadata": metadata}


# --- building blocks -------------------------------------------------------------------------


def secret_env(secret: SecretEnv) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": SECRET, "key": secret.var}
    if not secret.required:
        ref["optional"] = True
    return {"name": secret.name, "valueFrom": {"secretKeyRef": ref}}


def plain_env(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    return [{"name": name, "value": value} for name, value in pairs]


def http_probes(path: str, start_seconds: int, ready_path: str | None = None) -> dict[str, Any]:
    """A startup probe that allows the cold start, then readiness (on `ready_path`, `path`
    when not given) and liveness probes on the container's `http` port."""

    def get(on: str) -> dict[str, Any]:
        return {"httpGet": {"path": on, "port": "http"}}

    return {
        "startupProbe": {**get(path), "periodSeconds": 10, "failureThreshold": start_seconds // 10},
        "readinessProbe": {**get(ready_path or path), "periodSeconds": 10, "timeoutSeconds": 5},
        "livenessProbe": {
            **get(path),
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 5,
        },
    }


def exec_probes(command: list[str]) -> dict[str, Any]:
    check = {"exec": {"command": command}, "periodSeconds": 10, "timeoutSeconds": 5}
    return {"readinessProbe": check, "livenessProbe": {**check, "failureThreshold": 5}}


def deployment(
    name: str,
    labels_: dict[str, str],
    pod: dict[str, Any],
    *,
    replicas: int = 1,
    annotations: dict[str, str] | None = None,
    recreate: bool = False,
) -> dict[str, Any]:
    # Copies: no object appears twice in a document (a YAML writer may make that an alias).
    template: dict[str, Any] = {"metadata": {"labels": dict(labels_)}}
    if annotations:
        template["metadata"]["annotations"] = annotations
    # Service links would put variables such as LITELLM_PORT=tcp://... into every pod, which
    # programs read as their own settings.
    template["spec"] = {"enableServiceLinks": False, **pod}
    spec: dict[str, Any] = {"replicas": replicas, "selector": {"matchLabels": selector(name)}}
    if recreate:
        # A model server holds its GPU and its cache: stop the old pod before the new one starts.
        spec["strategy"] = {"type": "Recreate"}
    spec["template"] = template
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(labels_)},
        "spec": spec,
    }


def service(
    name: str, labels_: dict[str, str], port: int, port_name: str = "http"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels_},
        "spec": {
            "type": "ClusterIP",
            "selector": selector(name),
            "ports": [
                {"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}
            ],
        },
    }


# --- the nodes -------------------------------------------------------------------------------


def node_manifests(
    node: Node, servers: tuple[Server, ...], names: KubeNames
) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for server in servers:
        name = names.server(node.name, server.name)
        documents.append(server_deployment(node, server, name, names))
        documents.append(
            service(name, labels(name, server.runtime, "model-server"), server.published)
        )
        documents.extend(
            pull_job(server, name, names.pull(node.name, model), source)
            for model, source in server.pulls
        )
    return documents


def server_deployment(node: Node, server: Server, name: str, names: KubeNames) -> dict[str, Any]:
    container: dict[str, Any] = {"name": server.runtime, "image": server.image}
    if server.args:
        container["args"] = list(server.args)
    container["ports"] = [{"name": "http", "containerPort": server.port, "protocol": "TCP"}]
    env = [*plain_env(server.env), *(secret_env(s) for s in server.secrets)]
    if env:
        container["env"] = env
    container.update(http_probes(server.health_path, server.start_seconds))
    if server.gpus:
        gpus = {"nvidia.com/gpu": server.gpus}
        container["resources"] = {"requests": dict(gpus), "limits": dict(gpus)}
    mounts, volumes = server_volumes(server)
    container["volumeMounts"] = mounts
    pod = {
        "nodeSelector": {NODE_LABEL: names.node(node.name)},
        "containers": [container],
        "volumes": volumes,
    }
    return deployment(name, labels(name, server.runtime, "model-server"), pod, recreate=True)


def server_volumes(server: Server) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    storage = server.storage
    mount: dict[str, Any] = {"name": "models", "mountPath": storage.mount}
    if storage.read_only:
        mount["readOnly"] = True
    # A folder the operator fills (GGUF files) must exist; a cache is created on first use.
    kind = "Directory" if storage.host_var else "DirectoryOrCreate"
    volumes: list[dict[str, Any]] = [
        {"name": "models", "hostPath": {"path": f"{HOST_STORAGE}/{storage.name}", "type": kind}}
    ]
    mounts = [mount]
    if server.shared_memory:
        mounts.append({"name": "shm", "mountPath": "/dev/shm"})
        volumes.append({"name": "shm", "emptyDir": {"medium": "Memory"}})
    return mounts, volumes


def pull_job(server: Server, service_name: str, name: str, source: str) -> dict[str, Any]:
    """`ollama pull` once the server answers; kept 10 minutes after success, then removed so
    that the next `kubectl apply` may create it again (a Job's pod template is immutable)."""
    container = {
        "name": "pull",
        "image": server.image,
        "args": ["pull", source],
        "env": [{"name": "OLLAMA_HOST", "value": f"http://{service_name}:{server.published}"}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        **_meta(name, "ollama-pull", "model-pull"),
        "spec": {
            "backoffLimit": 30,
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": labels(name, "ollama-pull", "model-pull")},
                "spec": {
                    "enableServiceLinks": False,
                    "restartPolicy": "OnFailure",
                    "containers": [container],
                },
            },
        },
    }


# --- the gateway -----------------------------------------------------------------------------


def cluster_mesh(mesh: Mesh, names: KubeNames) -> Mesh:
    """The mesh as the gateway sees it inside the cluster: each node deployment at its runtime's
    Service (a short name, so the manifests work in whatever namespace they are applied to).
    A runtime the mesh does not run itself (an OpenAI-compatible server already on the node)
    keeps its address."""

    def api_base(d: Deployment) -> str | None:
        if d.runtime not in LOCAL_RUNTIMES:
            return d.api_base
        server = d.runtime if d.runtime == "ollama" else f"{d.runtime}-{d.model}"
        host = names.server(str(d.node), server)
        return f"http://{host}:{d.port}{RUNTIME_API_SUFFIX[str(d.runtime)]}"

    return with_api_bases(mesh, api_base)


def _gateway_file(mesh: Mesh, names: KubeNames) -> str:
    files = litellm.render(cluster_mesh(mesh, names))
    data = {path.removeprefix(f"{litellm.OUT_DIR}/"): text for path, text in sorted(files.items())}
    digest = hashlib.sha256()
    for name, text in data.items():  # piece by piece: the files run to megabytes
        digest.update(f"{name}\0".encode())
        digest.update(text.encode())
        digest.update(b"\0")
    checksum = digest.hexdigest()
    config_maps = gateway_config_maps(data)
    parts = tuple(metadata["name"] for metadata, _ in config_maps) if len(config_maps) > 1 else ()
    documents = [
        gateway_deployment(mesh, checksum, parts),
        service(GATEWAY_NAME, labels(GATEWAY_NAME, "litellm", "gateway"), mesh.gateway.port),
    ]
    if mesh.gateway.replicas > 1:
        documents.append(disruption_budget())
    if mesh.gateway.ingress is not None:
        documents.append(ingress(mesh))
    return _file(documents, config_maps=config_maps)


def part_name(index: int) -> str:
    return f"{CONFIG_MAP}-{index:03d}"


def data_size(data: Mapping[str, str]) -> int:
    return sum(len(key.encode()) + len(text.encode()) for key, text in data.items())


def gateway_config_maps(
    data: dict[str, str],
) -> tuple[tuple[dict[str, Any], dict[str, str]], ...]:
    """(metadata, data) of the gateway's ConfigMaps: `litellm-config` with the files when they
    fit the budget, else their chunks over `litellm-config-000`, `-001`, ..."""
    if data_size(data) <= CONFIG_MAP_BUDGET:
        return ((_meta(CONFIG_MAP, "litellm", "gateway")["metadata"], data),)
    return tuple(
        (_meta(part_name(i), "litellm", "gateway")["metadata"], chunks)
        for i, chunks in enumerate(split_files(data, CONFIG_MAP_BUDGET))
    )


def split_files(files: Mapping[str, str], budget: int) -> list[dict[str, str]]:
    """The files cut at line ends into chunks `<file>.<NNN>`, as few ConfigMaps' data as hold
    them within `budget` bytes each: each chunk fills what the current ConfigMap has left.
    Plain text, not compressed: compressed bytes differ between zlib builds."""
    maps: list[dict[str, str]] = [{}]
    room = budget
    for name, text in files.items():
        encoded = text.encode()  # cut as bytes: b"\n" is never inside a UTF-8 character
        start = index = 0
        while start < len(encoded):
            key = f"{name}.{index:03d}"
            end = _cut(encoded, start, start + room - len(key.encode()))
            if end <= start:  # not one whole line fits what is left: the next ConfigMap
                if not maps[-1]:
                    raise RenderError(f"a line of {name} is longer than a ConfigMap may hold")
                maps.append({})
                room = budget
                continue
            maps[-1][key] = encoded[start:end].decode()
            room -= len(key.encode()) + end - start
            start, index = end, index + 1
    # Each chunk of a file but its last fills a ConfigMap: a file has no more chunks than maps.
    if len(maps) > MAX_PARTS:
        raise RenderError("the gateway's files need more ConfigMaps than one Deployment mounts")
    return maps


def _cut(encoded: bytes, start: int, limit: int) -> int:
    """Where a chunk from `start` ends: the rest of the file when it fits before `limit`,
    else just after the last line end before it (`start` when there is none)."""
    if len(encoded) <= limit:
        return len(encoded)
    return encoded.rfind(b"\n", start, limit) + 1 or start


def gateway_env(mesh: Mesh) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "LITELLM_LOCAL_MODEL_COST_MAP", "value": "True"},
        {"name": "GRACEFUL_SHUTDOWN_TIMEOUT", "value": str(drain_seconds(mesh))},
    ]
    for var in stack_env_vars(mesh):
        if GATEWAY in var.stacks and var.name not in _FIXED_GATEWAY_VARS:
            env.append(secret_env(SecretEnv(var.name, var.name)))
    if mesh.gateway.replicas > 1:
        env += plain_env((("REDIS_HOST", "redis"), ("REDIS_PORT", str(REDIS_PORT))))
        env.append(secret_env(SecretEnv("REDIS_PASSWORD", "REDIS_PASSWORD")))
    if mesh.gateway.database:
        env.append(secret_env(SecretEnv("POSTGRES_PASSWORD", "POSTGRES_PASSWORD")))
        # $(VAR) is expanded by Kubernetes from the variables defined before it.
        url = f"postgresql://{DB_USER}:$(POSTGRES_PASSWORD)@postgres:{POSTGRES_PORT}/{DB_USER}"
        env.append({"name": litellm.DATABASE_URL_VAR, "value": url})
    return env


# The gateway's startup probe allows at least this long; more for a mesh whose deployments
# take longer to start (the kubelet restarts a container whose startup probe gives up).
GATEWAY_START = 120


def gateway_start_budget(mesh: Mesh) -> int:
    return max(GATEWAY_START, gateway_start_seconds(len(mesh.deployments)))


def gateway_deployment(mesh: Mesh, checksum: str, parts: tuple[str, ...] = ()) -> dict[str, Any]:
    """The gateway; with `parts` (the ConfigMaps holding its files' chunks), an init container
    first puts the files back together where the one ConfigMap would be mounted."""
    port = mesh.gateway.port
    container: dict[str, Any] = {
        "name": "litellm",
        "image": gateway_image(mesh.gateway),
        "args": ["--config", f"{LITELLM_MOUNT}/config.yaml", "--port", str(port)],
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "env": gateway_env(mesh),
        **http_probes(
            "/health/liveliness", gateway_start_budget(mesh), ready_path="/health/readiness"
        ),
        "resources": GATEWAY_RESOURCES,
        "volumeMounts": [{"name": "config", "mountPath": LITELLM_MOUNT, "readOnly": True}],
        **drain_lifecycle(),
    }
    pod: dict[str, Any] = {
        "containers": [container],
        "volumes": config_volumes(parts),
        "terminationGracePeriodSeconds": stop_grace_seconds(mesh),
    }
    if parts:
        pod = {"initContainers": [assemble_container(mesh)], **pod}
    # The checksum changes with the config, so `kubectl apply` rolls the pods onto it.
    annotations = {"jarvis-config/config-checksum": checksum}
    gateway = deployment(
        GATEWAY_NAME,
        labels(GATEWAY_NAME, "litellm", "gateway"),
        pod,
        replicas=mesh.gateway.replicas,
        annotations=annotations,
    )
    # A rollout starts each new pod (and waits for it to be ready) before it stops an old one.
    rolling = {"maxUnavailable": 0, "maxSurge": 1}
    gateway["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling}
    return gateway


def drain_lifecycle() -> dict[str, Any]:
    """A pre-stop wait: the pod keeps serving while the endpoints drop it, so no new request
    reaches a proxy that has closed its listener; SIGTERM then drains the requests in flight."""
    sleep = ["sleep", str(PRE_STOP_SECONDS)]
    return {"lifecycle": {"preStop": {"exec": {"command": sleep}}}}


def config_volumes(parts: tuple[str, ...]) -> list[dict[str, Any]]:
    """The volume `config` mounted at /etc/litellm: the ConfigMap, or with `parts` a folder
    the init container fills from the volume `config-parts`, all the parts projected."""
    if not parts:
        return [{"name": "config", "configMap": {"name": CONFIG_MAP}}]
    sources = [{"configMap": {"name": name}} for name in parts]
    return [
        {"name": "config", "emptyDir": {}},
        {"name": "config-parts", "projected": {"sources": sources}},
    ]


def assemble_container(mesh: Mesh) -> dict[str, Any]:
    """Concatenates the chunks of the projected ConfigMaps into the files, in the gateway's
    own image (it has python3), with the gateway's resources: an init container's requests
    then add nothing to what the pod asks of the node."""
    return {
        "name": "assemble-config",
        "image": gateway_image(mesh.gateway),
        "command": ["python3", "-c", ASSEMBLE_SCRIPT, PARTS_MOUNT, LITELLM_MOUNT],
        "resources": {kind: dict(amounts) for kind, amounts in GATEWAY_RESOURCES.items()},
        "volumeMounts": [
            {"name": "config-parts", "mountPath": PARTS_MOUNT, "readOnly": True},
            {"name": "config", "mountPath": LITELLM_MOUNT},
        ],
    }


def disruption_budget() -> dict[str, Any]:
    """Voluntary disruptions (node drains) take one gateway replica at a time."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        **_meta(GATEWAY_NAME, "litellm", "gateway"),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(GATEWAY_NAME)}},
    }


def ingress(mesh: Mesh) -> dict[str, Any]:
    assert mesh.gateway.ingress is not None
    spec: dict[str, Any] = {}
    if mesh.gateway.ingress.class_name:
        spec["ingressClassName"] = mesh.gateway.ingress.class_name
    backend = {"service": {"name": GATEWAY_NAME, "port": {"number": mesh.gateway.port}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend}
    spec["rules"] = [{"host": mesh.gateway.ingress.host, "http": {"paths": [path]}}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        **_meta(GATEWAY_NAME, "litellm", "gateway"),
        "spec": spec,
    }


# --- Redis and Postgres ----------------------------------------------------------------------


def redis_manifests() -> list[dict[str, Any]]:
    """LiteLLM's shared router state for several replicas; nothing worth persisting."""
    password = SecretEnv("REDIS_PASSWORD", "REDIS_PASSWORD")
    container = {
        "name": "redis",
        "image": REDIS_IMAGE,
        "args": [
            "redis-server",
            "--requirepass",
            "$(REDIS_PASSWORD)",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        "ports": [{"name": "redis", "containerPort": REDIS_PORT, "protocol": "TCP"}],
        "env": [secret_env(password), secret_env(SecretEnv("REDISCLI_AUTH", "REDIS_PASSWORD"))],
        **exec_probes(["sh", "-c", "redis-cli ping | grep -q PONG"]),
    }
    labels_ = labels("redis", "redis", "cache")
    return [
        deployment("redis", labels_, {"containers": [container]}),
        service("redis", labels_, REDIS_PORT, "redis"),
    ]


def postgres_manifests() -> list[dict[str, Any]]:
    labels_ = labels("postgres", "postgres", "database")
    claim = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": POSTGRES_STORAGE}},
        },
    }
    spec = {
        "serviceName": "postgres",
        "replicas": 1,
        "selector": {"matchLabels": selector("postgres")},
        "template": {
            "metadata": {"labels": labels_},
            "spec": {"enableServiceLinks": False, "containers": [postgres_container()]},
        },
        "volumeClaimTemplates": [claim],
    }
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        **_meta("postgres", "postgres", "database"),
        "spec": spec,
    }
    return [statefulset, service("postgres", labels_, POSTGRES_PORT, "postgres")]


def postgres_container() -> dict[str, Any]:
    return {
        "name": "postgres",
        "image": POSTGRES_IMAGE,
        "ports": [{"name": "postgres", "containerPort": POSTGRES_PORT, "protocol": "TCP"}],
        "env": [
            *plain_env(
                (
                    ("POSTGRES_DB", DB_USER),
                    ("POSTGRES_USER", DB_USER),
                    ("PGDATA", "/var/lib/postgresql/data/pgdata"),
                )
            ),
            secret_env(SecretEnv("POSTGRES_PASSWORD", "POSTGRES_PASSWORD")),
        ],
        **exec_probes(["pg_isready", "-U", DB_USER, "-d", DB_USER]),
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}],
    }
