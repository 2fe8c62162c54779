"""Stage 3, model (deployment side): the model servers each node runs, for every target.

One `Server` per Ollama runtime of a node and per model that a vLLM or llama.cpp runtime
loads: its image, its arguments, the port it listens on inside its container and the port the
mesh reaches it at, its environment (plain values and secret references), where it keeps its
models, how many GPUs it gets, the HTTP path that tells it is up, and the models to pull.
The compose stacks and the Kubernetes manifests lay these same facts out in their own words,
so a runtime argument changes in one place only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jarvis_config.model.catalog import runtime_image
from jarvis_config.model.mesh import Deployment, EnvRef, Mesh, Model, Node

LOCAL_RUNTIMES = ("ollama", "vllm", "llamacpp")
OLLAMA_PORT = 11434  # inside the container; the mesh reaches it on the node's configured port
MODELS_DIR_VAR = "JARVIS_MODELS_DIR"


@dataclass(frozen=True, slots=True)
class SecretEnv:
    """An environment variable of a server filled from a secret (`var`) at deploy time."""

    name: str
    var: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class Storage:
    """Where a server keeps its models: a named cache, or a host folder (`host_var` names the
    variable that holds its path on the node)."""

    name: str
    mount: str
    read_only: bool = False
    host_var: str | None = None


@dataclass(frozen=True, slots=True)
class Server:
    name: str  # unique on its node: "ollama", "vllm-<model>", "llamacpp-<model>"
    runtime: str
    image: str
    args: tuple[str, ...]
    port: int  # inside the container
    published: int  # where the gateway reaches it on the node
    storage: Storage
    health_path: str
    start_seconds: int  # how long a cold start (model load) may take
    env: tuple[tuple[str, str], ...] = ()
    secrets: tuple[SecretEnv, ...] = ()
    gpus: int = 0
    shared_memory: bool = False  # vLLM's workers talk through /dev/shm
    pulls: tuple[tuple[str, str], ...] = ()  # (model, runtime source) to pull once up


# Gated Hugging Face models need a token; public ones do not, so it may stay unset.
HF_TOKEN = SecretEnv("HF_TOKEN", "HF_TOKEN", required=False)


def node_servers(mesh: Mesh, node: Node) -> tuple[Server, ...]:
    """The servers of one node, runtime by runtime, models in name order."""
    servers: list[Server] = []
    for runtime in node.runtimes:
        if runtime.kind in LOCAL_RUNTIMES:
            deployments = [d for d in mesh.deployments_on(node.name) if d.runtime == runtime.kind]
            servers.extend(RUNTIME_SERVERS[runtime.kind](mesh, node, deployments))
    return tuple(servers)


def ollama_servers(mesh: Mesh, node: Node, deployments: list[Deployment]) -> list[Server]:
    """One Ollama server for every model of the node, and the models it pulls."""
    runtime = node.runtime("ollama")
    assert runtime is not None
    return [
        Server(
            name="ollama",
            runtime="ollama",
            image=runtime_image("ollama", gpu=node.gpus > 0),
            args=(),
            port=OLLAMA_PORT,
            published=runtime.port,
            storage=Storage("ollama-models", "/root/.ollama"),
            health_path="/api/version",
            start_seconds=20,
            env=(("OLLAMA_HOST", f"0.0.0.0:{OLLAMA_PORT}"),),
            gpus=node.gpus,
            pulls=tuple((d.model, mesh.model(d.model).source) for d in deployments),
        )
    ]


def vllm_servers(mesh: Mesh, node: Node, deployments: list[Deployment]) -> list[Server]:
    """One vLLM server per placed model, each on its own port with its share of GPU memory."""
    return [vllm_server(mesh, node, d) for d in deployments]


def vllm_server(mesh: Mesh, node: Node, deployment: Deployment) -> Server:
    model = mesh.model(deployment.model)
    port = int(deployment.port or 0)
    args = [
        *("--model", model.source, "--served-model-name", model.source),
        *("--host", "0.0.0.0", "--port", str(port)),
        *("--gpu-memory-utilization", str(gpu_memory_share(model, node))),
    ]
    if model.context_window:
        args += ["--max-model-len", str(model.context_window)]
    return Server(
        name=f"vllm-{model.name}",
        runtime="vllm",
        image=runtime_image("vllm", gpu=node.gpus > 0),
        args=tuple(args),
        port=port,
        published=port,
        storage=Storage("huggingface-cache", "/root/.cache/huggingface"),
        health_path="/health",
        start_seconds=600,
        secrets=(HF_TOKEN, *_key("VLLM_API_KEY", deployment)),
        gpus=node.gpus,
        shared_memory=True,
    )


def llamacpp_servers(mesh: Mesh, node: Node, deployments: list[Deployment]) -> list[Server]:
    """One llama.cpp server per placed model, reading `<source>.gguf` from the models folder."""
    return [llamacpp_server(mesh, node, d) for d in deployments]


def llamacpp_server(mesh: Mesh, node: Node, deployment: Deployment) -> Server:
    model = mesh.model(deployment.model)
    port = int(deployment.port or 0)
    args = [
        *("--model", f"/models/{model.source}.gguf", "--alias", model.source),
        *("--host", "0.0.0.0", "--port", str(port)),
    ]
    if model.context_window:
        args += ["--ctx-size", str(model.context_window)]
    if model.limits.max_parallel_requests:
        args += ["--parallel", str(model.limits.max_parallel_requests)]
    if node.gpus > 0:
        args += ["--n-gpu-layers", "999"]
    return Server(
        name=f"llamacpp-{model.name}",
        runtime="llamacpp",
        image=runtime_image("llamacpp", gpu=node.gpus > 0),
        args=tuple(args),
        port=port,
        published=port,
        storage=Storage("models", "/models", read_only=True, host_var=MODELS_DIR_VAR),
        health_path="/health",
        start_seconds=120,
        secrets=_key("LLAMA_API_KEY", deployment),
        gpus=node.gpus,
    )


def _key(name: str, deployment: Deployment) -> tuple[SecretEnv, ...]:
    """The node's API key, which the server checks on every request, when it has one."""
    ref: EnvRef | None = deployment.api_key
    return (SecretEnv(name, ref.var),) if ref is not None else ()


RUNTIME_SERVERS: dict[str, Callable[[Mesh, Node, list[Deployment]], list[Server]]] = {
    "ollama": ollama_servers,
    "vllm": vllm_servers,
    "llamacpp": llamacpp_servers,
}


def gpu_memory_share(model: Model, node: Node) -> float:
    """vLLM's --gpu-memory-utilization for a model: its memory_gb over the node's, rounded
    down to a hundredth so the shares of a node never add up past what validation allowed;
    vLLM's own default (0.9) when either size is unknown."""
    if not model.memory_gb or not node.memory_gb:
        return 0.9
    share = int(100 * float(model.memory_gb) / float(node.memory_gb)) / 100
    return min(0.95, max(0.01, share))
