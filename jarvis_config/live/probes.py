"""Probes: ask each runtime of the mesh what it serves, all at once, within one deadline.

One function per runtime kind reads that runtime's listing endpoints: Ollama `/api/tags` and
`/api/show`, vLLM `/v1/models` (`max_model_len`), the llama.cpp server `/props` and
`/v1/models`, any OpenAI-compatible server `/v1/models`. Each probe runs in its own daemon
thread, so a runtime that accepts connections and never answers costs the timeout once, not
once per node, and never keeps the command from exiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from jarvis_config.live.http import NO_ANSWER, ProbeFailure, request_json
from jarvis_config.model.mesh import Deployment, Mesh, Node, Runtime

DEFAULT_TIMEOUT = 5.0
# Beyond 2**53 a count loses precision in JSON readers: no model is that large.
MAX_COUNT = 2**53
ODD_ANSWER = (
    "the answer does not have the shape this runtime's API gives (is this the right runtime?)"
)
# What reading an answer of an unexpected shape raises (a list where a mapping belongs, ...).
ODD_SHAPES = (TypeError, AttributeError, KeyError, ValueError, IndexError, OverflowError)
R = TypeVar("R")


@dataclass(frozen=True)
class Served:
    """One model a runtime serves, with what it says about it."""

    name: str
    context_window: int | None = None
    quantization: str | None = None
    size_bytes: int | None = None


@dataclass(frozen=True)
class Endpoint:
    """One server to ask: a runtime of a node at one port (not a render target)."""

    node: str
    kind: str
    address: str
    port: int
    wanted: tuple[str, ...] | None = None  # sources placed here; None: describe every model
    key: str | None = field(default=None, repr=False)  # the runtime's API key, from the env

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def base(self) -> str:
        bare = ":" in self.address and not self.address.startswith("[")
        host = f"[{self.address}]" if bare else self.address  # IPv6 literals need brackets
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class Listing:
    """What one target answered: its models, or why it could not be asked."""

    target: Endpoint
    models: tuple[Served, ...] = ()
    error: str | None = None
    answered: bool = False  # with an error: the server answered, but not as its kind does


def mesh_targets(
    mesh: Mesh, node: str | None = None, environ: Mapping[str, str] | None = None
) -> list[Endpoint]:
    """Every server the mesh expects: one per runtime, and for one-model-per-process
    runtimes (vLLM, llama.cpp) one per placed model's port."""
    env = environ or {}
    found = []
    for item in mesh.nodes:
        if node is None or item.name == node:
            for runtime in item.runtimes:
                found += _runtime_targets(mesh, item, runtime, env)
    return found


def _runtime_targets(
    mesh: Mesh, node: Node, runtime: Runtime, env: Mapping[str, str]
) -> list[Endpoint]:
    placed = [d for d in mesh.deployments_on(node.name) if d.runtime == runtime.kind]
    ports = sorted({d.port for d in placed if d.port is not None}) or [runtime.port]
    key = env.get(runtime.api_key.var) if runtime.api_key else None
    return [
        Endpoint(
            node.name,
            runtime.kind,
            node.address,
            port,
            tuple(mesh.model(d.model).source for d in placed if d.port == port),
            key,
        )
        for port in ports
    ]


def probe_all(targets: Sequence[Endpoint], timeout: float = DEFAULT_TIMEOUT) -> list[Listing]:
    """Ask every target in parallel; whatever has not answered by the deadline is reported
    as not answering within the timeout."""
    deadline = time.monotonic() + timeout
    jobs = [partial(probe, t, deadline) for t in targets]
    answers = in_parallel(jobs, deadline)
    return [
        answer or Listing(t, error=NO_ANSWER) for answer, t in zip(answers, targets, strict=True)
    ]


def in_parallel(jobs: Sequence[Callable[[], R]], deadline: float) -> list[R | None]:
    """Run each job in its own daemon thread; None for a job unfinished at the deadline (its
    thread is left behind, never waited for, so a frozen peer cannot hold the command)."""
    results: dict[int, R] = {}
    lock = threading.Lock()

    failures: list[BaseException] = []

    def run(index: int, job: Callable[[], R]) -> None:
        try:
            value = job()
        except Exception as exc:  # a bug: raised again in the caller's thread, below
            with lock:
                failures.append(exc)
            return
        with lock:
            results[index] = value

    threads = [
        threading.Thread(target=run, args=(i, job), name=f"probe-{i}", daemon=True)
        for i, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        if failures:
            # One error path for the whole command (outcome.finish), never a thread's traceback.
            raise failures[0]
        return [results.get(i) for i in range(len(jobs))]


def probe(target: Endpoint, deadline: float) -> Listing:
    try:
        return Listing(target, tuple(PROBES[target.kind](target, deadline)))
    except ProbeFailure as exc:
        return Listing(target, error=str(exc), answered=exc.answered)
    except ODD_SHAPES:
        # An answer of a shape no reader here expects: the runtime's fault, said plainly.
        return Listing(target, error=ODD_ANSWER, answered=True)


# --- one probe per runtime kind ------------------------------------------------------------------


def _ollama(target: Endpoint, deadline: float) -> list[Served]:
    tags = request_json(f"{target.base}/api/tags", deadline=deadline)
    entries = [m for m in _list(tags, "models") if isinstance(m, dict)]
    served = []
    for entry in entries:
        name = str(entry.get("name") or entry.get("model") or "")
        details = _dict(entry.get("details"))
        described: tuple[int | None, str | None] = (None, None)
        if target.wanted is None or any(same_model(w, name) for w in target.wanted):
            described = _ollama_show(target, name, deadline)
        quantization = described[1] or _text(details.get("quantization_level"))
        served.append(Served(name, described[0], quantization, _int(entry.get("size"))))
    return served


def _ollama_show(target: Endpoint, name: str, deadline: float) -> tuple[int | None, str | None]:
    """(context window, quantization) from /api/show: the model's num_ctx parameter when
    set, else the context length it was trained with."""
    try:
        # Ollama documents "model"; older servers read "name".
        body = {"model": name, "name": name}
        shown = request_json(f"{target.base}/api/show", deadline=deadline, body=body)
    except ProbeFailure as exc:
        if exc.status is None:
            raise  # the runtime went away: the whole probe failed
        return None, None
    if not isinstance(shown, dict):
        return None, None
    details = _dict(shown.get("details"))
    return _ollama_context(shown), _text(details.get("quantization_level"))


def _ollama_context(shown: Mapping[str, Any]) -> int | None:
    for line in str(shown.get("parameters") or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "num_ctx":
            return _int(parts[1])
    info = _dict(shown.get("model_info"))
    return next((_int(v) for k, v in sorted(info.items()) if k.endswith(".context_length")), None)


def _openai(target: Endpoint, deadline: float) -> list[Served]:
    listed = request_json(f"{target.base}/v1/models", deadline=deadline, key=target.key)
    return [
        Served(
            str(entry["id"]),
            _int(entry.get("max_model_len") or entry.get("context_length"))
            or _int(_dict(entry.get("meta")).get("n_ctx_train")),
        )
        for entry in _list(listed, "data")
        if isinstance(entry, dict) and entry.get("id")
    ]


def _llamacpp(target: Endpoint, deadline: float) -> list[Served]:
    """The llama.cpp server: /props holds the context it was started with (n_ctx); its
    /v1/models names the model. Either alone is enough."""
    try:
        props = request_json(f"{target.base}/props", deadline=deadline, key=target.key)
    except ProbeFailure:
        props = None
    try:
        models = _openai(target, deadline)
    except ProbeFailure:
        if not isinstance(props, dict):
            raise
        models = [Served(_props_name(props))]
    n_ctx = _props_context(props)
    return [Served(m.name, n_ctx or m.context_window) for m in models]


def _props_context(props: Any) -> int | None:
    if not isinstance(props, dict):
        return None
    settings = props.get("default_generation_settings")
    nested = settings.get("n_ctx") if isinstance(settings, dict) else None
    return _int(nested or props.get("n_ctx"))


def _props_name(props: Mapping[str, Any]) -> str:
    path = str(props.get("model_alias") or props.get("model_path") or "model")
    return path.rsplit("/", 1)[-1]


PROBES: dict[str, Callable[[Endpoint, float], list[Served]]] = {
    "ollama": _ollama,
    "vllm": _openai,
    "llamacpp": _llamacpp,
    "openai-compatible": _openai,
}


def placed_on(mesh: Mesh, target: Endpoint) -> list[Deployment]:
    """The deployments the gateway sends to this target."""
    return [
        d
        for d in mesh.deployments_on(target.node)
        if d.runtime == target.kind and d.port == target.port
    ]


# --- reading answers -----------------------------------------------------------------------------


def same_model(source: str, served: str) -> bool:
    """Whether a runtime's model name is the mesh's `source`: exactly, Ollama's implicit
    `:latest` tag, or a llama.cpp model file named after it."""
    if served == source or (":" not in source and served == f"{source}:latest"):
        return True
    stem = served.rsplit("/", 1)[-1].removesuffix(".gguf")
    return stem == source.rsplit("/", 1)[-1].removesuffix(".gguf")


def find_served(source: str, models: Iterable[Served]) -> Served | None:
    return next((m for m in models if same_model(source, m.name)), None)


def _list(payload: Any, key: str) -> list[Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get(key), list):
        raise ProbeFailure(
            f"the answer has no '{key}' list (is this the right runtime?)", answered=True
        )
    return list(payload[key])


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    """A positive count from an answer, or None: text, floats that are not finite or lose
    their integer meaning, and numbers beyond 2**53 are no size or context window."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number <= MAX_COUNT else None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value) else None
