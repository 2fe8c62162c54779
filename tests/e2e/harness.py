"""End-to-end harness: an example mesh served by the real LiteLLM proxy over stand-in runtimes.

Everything runs on 127.0.0.1. The steps are separate functions so other suites (the Docker
ones) can reuse the parts they need:

    copy = loopback_copy(EXAMPLES_DIR / "homelab", tmp / "mesh")   # every address -> 127.0.0.1
    fakes = start_standins(copy.mesh)                              # one stand-in per runtime port
    out = build(copy.path, tmp / "out")                         # `jarvis-config build`
    proxy = start_proxy(out / "litellm" / "config.yaml", env=copy.env)
    ...
    proxy.stop(); fakes.stop()

or all at once, as a context manager: `with Gateway.start(example, tmp) as gw: gw.client ...`.

The loopback copy, the stand-ins and the proxy's process handling are the product's own
(`jarvis_config.trial`, what `jarvis-config try` runs); here every hosted provider is pointed
at a stand-in too, so a test sees what reaches it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jarvis_config
from jarvis_config.model.processes import shares_router_state
from jarvis_config.model.production import PROXY_ENV, proxy_args
from jarvis_config.trial.loopback import (
    LOOPBACK,
    LoopbackCopy,
    StandIns,
    free_ports,
    loopback_copy,
    point_provider_at,
    start_standins,
)
from jarvis_config.trial.proxy import Proxy, find_litellm, proxy_command
from jarvis_config.trial.proxy import start_proxy as start_proxy_command

__all__ = [
    "LOOPBACK",
    "Gateway",
    "LoopbackCopy",
    "Proxy",
    "StandIns",
    "build",
    "chat",
    "embed",
    "free_ports",
    "litellm_command",
    "loopback_copy",
    "point_provider_at",
    "run_cli",
    "served",
    "start_proxy",
    "start_standins",
    "stream",
]


# --- build and the proxy -------------------------------------------------------------------------


def run_cli(
    *args: str | Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`jarvis-config ARGS` in a child process, as a user runs it."""
    # The child imports the same jarvis_config as this process, installed or not.
    source = str(Path(jarvis_config.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "jarvis_config", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {}), "PYTHONPATH": path},
        check=False,
    )


def build(config: Path, out: Path, env: Mapping[str, str] | None = None) -> Path:
    """`jarvis-config build CONFIG -o OUT` in a child process, as a user runs it."""
    result = run_cli("build", config, "-o", out, env=env)
    if result.returncode != 0:
        raise RuntimeError(
            f"jarvis-config build failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return out


def litellm_command() -> str:
    return find_litellm() or "litellm"


def start_proxy(
    config: Path, env: Mapping[str, str], port: int | None = None, args: tuple[str, ...] = ()
) -> Proxy:
    """The stock proxy on `config`, on loopback; returns once /health/liveliness answers.
    `args`: more of the proxy's options (`--num_workers 2`). The environment the stacks give
    it (its log level) comes first; `env` may override it."""
    port = port or free_ports(1)
    env = {**dict(PROXY_ENV), **env}
    command = proxy_command(litellm_command(), config, port)
    log = config.parent.parent / f"proxy-{port}.log"
    return start_proxy_command([*command, *args], config, env, port, log=log)


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    """A real redis-server (the Debian package) on a free loopback port, without persistence,
    for gateway processes sharing router state; stopped on exit."""
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_ports(1)
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def redis_env(port: int) -> dict[str, str]:
    """The variables the rendered config reads Redis from, for a redis-server on `port`."""
    return {"REDIS_HOST": LOOPBACK, "REDIS_PORT": str(port), "REDIS_PASSWORD": ""}


def router_state(stack: contextlib.ExitStack, gateway: Any, env: dict[str, str]) -> int:
    """For a gateway of several processes, a redis-server (stopped with `stack`) and its
    variables added to `env`, as the stacks run it; its port, 0 for one process."""
    if not shares_router_state(gateway):
        return 0
    port = stack.enter_context(redis_server())
    env.update(redis_env(port))
    return port


# --- everything at once --------------------------------------------------------------------------


@dataclass
class Gateway:
    """An example served end to end: the loopback copy, its fakes, the build, the proxy."""

    copy: LoopbackCopy
    fakes: StandIns
    out: Path
    proxy: Proxy
    # Every client handed out, closed with the gateway: an SDK client left to the garbage
    # collector may close its sockets only after their own finalizers warned, in a later test.
    clients: list[Any] = field(default_factory=list)

    @classmethod
    @contextlib.contextmanager
    def start(cls, example: Path, workdir: Path) -> Iterator[Gateway]:
        copy = loopback_copy(example, workdir / "mesh", workers=True)
        with contextlib.ExitStack() as stack:
            fakes = start_standins(copy.mesh)
            stack.callback(fakes.stop)
            router_state(stack, copy.mesh.gateway, copy.env)
            out = build(copy.path, workdir / "out", copy.env)
            args = proxy_args(copy.mesh.gateway)  # as the stacks start it
            proxy = start_proxy(out / "litellm" / "config.yaml", copy.env, args=args)
            stack.callback(proxy.stop)
            gateway = cls(copy, fakes, out, proxy)
            stack.callback(gateway.close_clients)
            yield gateway

    def close_clients(self) -> None:
        for client in self.clients:
            client.close()

    @property
    def url(self) -> str:
        return self.proxy.url

    def client(self, api_key: str | None = None) -> Any:
        """The official openai SDK pointed at the proxy, without its own retries."""
        import openai

        client = openai.OpenAI(
            base_url=self.url, api_key=api_key or self.copy.master_key, max_retries=0, timeout=60
        )
        self.clients.append(client)
        return client


# --- asking the gateway as a user would ----------------------------------------------------------


def chat(client: Any, model: str, node: str | None = None, content: str = "hi") -> tuple[str, str]:
    """One chat completion: (answer text, id of the deployment that served it)."""
    extra = {"extra_body": {"node": node}} if node is not None else {}
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": content}], **extra
    )
    answer = raw.parse().choices[0].message.content
    return answer, raw.headers.get("x-litellm-model-id", "")


def served(
    client: Any, model: str, node: str | None = None, times: int = 30
) -> Counter[tuple[str, str]]:
    """How often each (answer, deployment id) came back over `times` requests, each opening a
    conversation of its own (conversation affinity keeps requests that open alike together)."""
    return Counter(chat(client, model, node, content=f"hi ({i})") for i in range(times))


def embed(
    client: Any, model: str, node: str | None = None, texts: tuple[str, ...] = ("a", "b")
) -> tuple[list[list[float]], str]:
    """One embeddings request: (the vectors, id of the deployment that served it)."""
    extra = {"extra_body": {"node": node}} if node is not None else {}
    raw = client.embeddings.with_raw_response.create(model=model, input=list(texts), **extra)
    vectors = [item.embedding for item in raw.parse().data]
    return vectors, raw.headers.get("x-litellm-model-id", "")


def stream(client: Any, model: str, node: str | None = None) -> tuple[str, list[str]]:
    """One streamed chat completion: (the text the chunks carry, the raw SSE data lines)."""
    import json

    extra = {"extra_body": {"node": node}} if node is not None else {}
    with client.chat.completions.with_streaming_response.create(
        model=model, messages=[{"role": "user", "content": "hi"}], stream=True, **extra
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    chunks = [json.loads(line[len("data: ") :]) for line in lines if line != "data: [DONE]"]
    text = "".join(
        (c["choices"][0].get("delta") or {}).get("content") or ""
        for c in chunks
        if c.get("choices")
    )
    return text, lines
