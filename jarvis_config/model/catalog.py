"""Stage 3, model: the catalogue of what the mesh can run on and how LiteLLM reaches it.

Runtimes (default ports, API paths, container images), hosted providers, their LiteLLM
provider prefixes, the pinned images of the stacks, and the GPU-share maths. The normaliser in
`mesh.py` and the renderers read these tables (plain values: this module imports no model
type); adding a runtime or a provider kind starts here
(and in the JSON Schema's enums).
"""

from __future__ import annotations

DEFAULT_LITELLM_VERSION = "1.108.7"
COMPROMISED_LITELLM_VERSIONS = ("1.82.7", "1.82.8")

# The runtimes a node can host, with their conventional ports.
RUNTIME_DEFAULT_PORTS: dict[str, int] = {
    "ollama": 11434,
    "vllm": 8000,
    "llamacpp": 8080,
    "openai-compatible": 8000,
}
# LiteLLM's provider prefix for each node runtime, and whether its API lives under /v1.
# Never `openai/` for a runtime without an api_key: LiteLLM's openai client then sends the
# gateway's own OPENAI_API_KEY to the node. hosted_vllm and llamafile send a dummy key instead.
RUNTIME_LITELLM_PREFIX: dict[str, str] = {
    "ollama": "ollama_chat",
    "vllm": "hosted_vllm",
    "llamacpp": "llamafile",
    "openai-compatible": "hosted_vllm",
}
# ...and the prefix when the runtime has an api_key (sent as the key, never a dummy).
RUNTIME_LITELLM_PREFIX_WITH_KEY: dict[str, str] = {"openai-compatible": "openai"}
RUNTIME_API_SUFFIX: dict[str, str] = {
    "ollama": "",
    "vllm": "/v1",
    "llamacpp": "/v1",
    "openai-compatible": "/v1",
}
# Hosted providers: the LiteLLM prefix for each provider kind.
PROVIDER_LITELLM_PREFIX: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure": "azure",
    "gemini": "gemini",
    "groq": "groq",
    "mistral": "mistral",
    "openrouter": "openrouter",
    "together_ai": "together_ai",
    "deepseek": "deepseek",
    "openai-compatible": "openai",
}
# What `source` names for each way of serving a model, as the missing-source hint shows it.
SOURCE_EXAMPLES: dict[str, str] = {
    "ollama": "llama3:8b (an Ollama model tag)",
    "vllm": "meta-llama/Llama-3.1-8B-Instruct (the Hugging Face model vLLM loads)",
    "llamacpp": "llama-3.1-8b-instruct-q4_k_m (the GGUF file name, without .gguf)",
    "openai-compatible": "qwen2.5-7b-instruct (the model name the server serves)",
    "provider": "gpt-4o (the provider's own model name)",
}
MODEL_CATEGORIES = ("general", "code", "fast", "embedding", "vision", "reasoning")
ROUTING_STRATEGIES = (
    "simple-shuffle",
    "least-busy",
    "usage-based-routing",
    "usage-based-routing-v2",
    "latency-based-routing",
    "cost-based-routing",
)
PINNING_POLICIES = ("strict", "prefer")
# Runtimes that load one model per server process (so one port per placed model).
SINGLE_MODEL_RUNTIMES = ("vllm", "llamacpp")
# Container images of the deployment stacks: pinned tags, never `latest`. The gateway's tag
# follows gateway.litellm_version unless gateway.image overrides it.
LITELLM_IMAGE = "ghcr.io/berriai/litellm:main-v{version}"
REDIS_IMAGE = "redis:7.0-bookworm"
POSTGRES_IMAGE = "postgres:16-bookworm"
LOAD_BALANCER_IMAGE = "nginx:1.27-bookworm"
RUNTIME_IMAGES: dict[str, str] = {
    "ollama": "ollama/ollama:0.11.10",
    "vllm": "vllm/vllm-openai:v0.10.1.1",
    "llamacpp": "ghcr.io/ggml-org/llama.cpp:server-b6400",
}
RUNTIME_GPU_IMAGES: dict[str, str] = {
    "llamacpp": "ghcr.io/ggml-org/llama.cpp:server-cuda-b6400",
}


def runtime_image(kind: str, *, gpu: bool) -> str:
    return (RUNTIME_GPU_IMAGES.get(kind) if gpu else None) or RUNTIME_IMAGES[kind]


def is_ollama_embedding(runtime: str | None, category: str) -> bool:
    """An embedding model on Ollama, which LiteLLM serves only through its `ollama/` provider
    (its /api/embed); under `ollama_chat/` an embeddings request fails inside the gateway."""
    return runtime == "ollama" and category == "embedding"


# How long the stock proxy takes to start against its deployments (docs/benchmarks.md, "Proxy
# start-up"): CPU seconds with 1.108.7, 12 at 100 deployments, 20 at 1,000, 29 at 2,000, 83
# at 5,000 and about 224 at 10,000, which 11 + 0.004 n + 1.8e-6 n² follows within 15 %. Its
# Router registers each deployment's pricing one by one, hence the square. On a busy 2-core
# host the start took about four times its CPU time in wall time.
GATEWAY_START_BUSY_FACTOR = 4


def gateway_start_seconds(deployments: int) -> int:
    """How long a gateway serving `deployments` may take to start on a busy host, rounded up
    to tens of seconds: what its health checks must allow before calling it unhealthy (a
    supervisor that restarts an unhealthy gateway would otherwise restart it forever)."""
    cpu = 11 + 0.004 * deployments + 1.8e-6 * deployments**2
    return 10 * -(-int(GATEWAY_START_BUSY_FACTOR * cpu) // 10)
