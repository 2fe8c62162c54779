"""End-to-end harness: an example mesh served by the real LiteLLM proxy over fake runtimes.

Everything runs on 127.0.0.1. The steps are separate functions so other suites (the Docker
ones) can reuse the parts they need:

    copy = loopback_copy(EXAMPLES_DIR / "homelab", tmp / "mesh")   # every address -> 127.0.0.1
    fakes = start_fakes(copy.mesh)                              # one fake per runtime port
    out = build(copy.path, tmp / "out")                         # `jarvis-config build`
    proxy = start_proxy(out / "litellm" / "config.yaml", env=copy.env)
    ...
    proxy.stop(); fakes.stop()

or all at once, as a context manager: `with Gateway.start(example, tmp) as gw: gw.client ...`.

`loopback_copy` rewrites the example before anything is built: each node's address becomes
127.0.0.1 and each of its runtimes gets a free port (with room for the consecutive ports that
one-model-per-process runtimes use); each hosted provider is pointed, through `api_base`, at an
OpenAI-compatible fake on loopback (its kind becomes `openai-compatible` unless it is `openai`).
The gateway is reduced to one replica without a database, which needs no Redis or Postgres.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

import jarvis_config
from jarvis_config import pipeline
from jarvis_config.load import YAML_SUFFIXES
from jarvis_config.model.mesh import Mesh
from tests.fakes.fake_runtime import FakeRuntime

LOOPBACK = "127.0.0.1"
PROXY_START_TIMEOUT = 120.0
FAKE_ENV_PREFIX = "sk-fake-"


# --- ports ---------------------------------------------------------------------------------------


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_ports(count: int = 1, taken: set[int] | None = None) -> int:
    """The first of `count` consecutive free loopback ports, none of them in `taken`."""
    taken = taken if taken is not None else set()
    for _ in range(500):
        base = random.randint(20000, 60000 - count)
        block = range(base, base + count)
        if not taken.intersection(block) and all(_port_free(p) for p in block):
            taken.update(block)
            return base
    raise RuntimeError(f"no {count} consecutive free ports on {LOOPBACK}")


# --- the loopback copy of an example -------------------------------------------------------------


@dataclass
class LoopbackCopy:
    """An example rewritten to run on loopback, compiled, with the environment it needs."""

    path: Path
    mesh: Mesh
    env: dict[str, str]  # every ${VAR} of the mesh: fake values, a fresh master key

    @property
    def master_key(self) -> str:
        ref = self.mesh.gateway.master_key
        return self.env[ref.var] if ref else ""


def loopback_copy(example: Path, dest: Path) -> LoopbackCopy:
    """Copy `example` (a file or a folder of YAML files) to `dest`, rewritten for loopback."""
    if example.is_dir():
        shutil.copytree(example, dest)
    else:
        dest.mkdir(parents=True)
        shutil.copy(example, dest / example.name)
    original = _compile(dest, {})
    spans = _port_spans(original)
    taken: set[int] = set()
    for file in sorted(p for p in dest.rglob("*") if p.suffix in YAML_SUFFIXES):
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            _rewrite(data, spans, taken)
            file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    env = _fake_env(original)
    return LoopbackCopy(path=dest, mesh=_compile(dest, env), env=env)


def _compile(path: Path, env: Mapping[str, str]) -> Mesh:
    compiled = pipeline.compile_config(path, environ=env)
    if compiled.mesh is None:
        problems = "\n".join(f"{p.location}: {p.code}: {p.message}" for p in compiled.problems)
        raise ValueError(f"{path} does not compile:\n{problems}")
    return compiled.mesh


def _port_spans(mesh: Mesh) -> dict[tuple[str, str], int]:
    """(node, runtime kind) -> how many consecutive ports its deployments use."""
    spans: dict[tuple[str, str], int] = {}
    for deployment in mesh.deployments:
        if deployment.node is None or deployment.runtime is None or deployment.api_base is None:
            continue
        runtime = mesh.node(deployment.node).runtime(deployment.runtime)
        port = urlsplit(deployment.api_base).port
        if runtime is not None and port is not None:
            key = (deployment.node, deployment.runtime)
            spans[key] = max(spans.get(key, 1), port - runtime.port + 1)
    return spans


def _rewrite(data: dict[str, Any], spans: Mapping[tuple[str, str], int], taken: set[int]) -> None:
    for name, node in (data.get("nodes") or {}).items():
        node["address"] = LOOPBACK
        for kind in list(node.get("runtimes") or {}):
            runtime = dict(node["runtimes"][kind] or {})
            runtime["port"] = free_ports(spans.get((name, kind), 1), taken)
            node["runtimes"][kind] = runtime
    for provider in (data.get("providers") or {}).values():
        point_provider_at(provider, f"http://{LOOPBACK}:{free_ports(1, taken)}/v1")
    gateway = data.get("gateway")
    if isinstance(gateway, dict):
        gateway["replicas"] = 1
        gateway["database"] = False


def point_provider_at(provider: dict[str, Any], api_base: str) -> None:
    """A hosted provider answered by a fake OpenAI-compatible runtime at `api_base`."""
    if provider.get("kind") != "openai":
        provider["kind"] = "openai-compatible"
    provider.pop("api_version", None)
    provider["api_base"] = api_base


def _fake_env(mesh: Mesh) -> dict[str, str]:
    env = {var: FAKE_ENV_PREFIX + var.lower() for var in mesh.referenced_env_vars}
    if mesh.gateway.master_key is not None:
        env[mesh.gateway.master_key.var] = "sk-master-" + secrets.token_hex(8)
    return env


# --- fake runtimes -------------------------------------------------------------------------------


@dataclass
class Fakes:
    """The fake runtimes of a mesh: `by_name[node or provider]` lists that place's runtimes."""

    by_name: dict[str, list[FakeRuntime]] = field(default_factory=dict)
    retired: list[FakeRuntime] = field(default_factory=list)  # stopped, then replaced

    def all(self) -> list[FakeRuntime]:
        return [fake for fakes in self.by_name.values() for fake in fakes]

    def stop(self, name: str | None = None) -> None:
        """Stop one node's (or provider's) runtimes, or all of them."""
        for fake in self.by_name.get(name, []) if name else self.all():
            with contextlib.suppress(OSError):
                fake.stop()

    def restart(self, name: str) -> None:
        """Bring a stopped node (or provider) back on the same ports."""
        self.retired.extend(self.by_name[name])
        self.by_name[name] = [
            FakeRuntime(
                fake.name, flavor=fake.flavor, port=fake.port, context_chars=fake.context_chars
            ).start()
            for fake in self.by_name[name]
        ]

    @contextlib.contextmanager
    def down(self, *names: str) -> Iterator[None]:
        """The named nodes (or providers) are down inside the block, back up after it."""
        for name in names:
            self.stop(name)
        try:
            yield
        finally:
            for name in names:
                self.restart(name)

    def requests(self) -> list[dict[str, Any]]:
        """Every request any fake received, including those of runtimes since restarted."""
        return [request for fake in self.all() + self.retired for request in fake.requests()]


def start_fakes(mesh: Mesh) -> Fakes:
    """One fake per distinct runtime port of the mesh, named after its node or provider."""
    fakes = Fakes()
    seen: set[int] = set()
    for deployment in mesh.deployments:
        split = urlsplit(deployment.api_base or "")
        if split.hostname != LOOPBACK or split.port is None or split.port in seen:
            continue
        seen.add(split.port)
        name = deployment.node or str(deployment.provider)
        flavor = "ollama" if deployment.runtime == "ollama" else "openai"
        fake = FakeRuntime(name, flavor=flavor, port=split.port).start()
        fakes.by_name.setdefault(name, []).append(fake)
    return fakes


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
    beside = Path(sys.executable).with_name("litellm")
    return str(beside) if beside.exists() else shutil.which("litellm") or "litellm"


@dataclass
class Proxy:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def start_proxy(
    config: Path, env: Mapping[str, str], port: int | None = None, args: tuple[str, ...] = ()
) -> Proxy:
    """The stock proxy on `config`, on loopback; returns once /health/liveliness answers.
    `args`: more of the proxy's options (`--num_workers 2`)."""
    port = port or free_ports(1)
    log = config.parent.parent / f"proxy-{port}.log"
    proxy_env = {
        **os.environ,
        **env,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [
                litellm_command(),
                *("--config", str(config), "--host", LOOPBACK, "--port", str(port)),
                *args,
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=proxy_env,
            cwd=config.parent,
            start_new_session=True,
        )  # its own process group, so stop() ends its workers too
    proxy = Proxy(process, port, log)
    try:
        _wait_alive(proxy)
    except BaseException:
        proxy.stop()
        raise
    return proxy


def _wait_alive(proxy: Proxy) -> None:
    deadline = time.monotonic() + PROXY_START_TIMEOUT
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            raise RuntimeError(
                f"the proxy exited with {proxy.process.returncode}:\n{proxy.log_tail()}"
            )
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(f"{proxy.url}/health/liveliness", timeout=2) as reply,
        ):
            if reply.status == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(
        f"the proxy did not come up in {PROXY_START_TIMEOUT:.0f} s:\n{proxy.log_tail()}"
    )


# --- everything at once --------------------------------------------------------------------------


@dataclass
class Gateway:
    """An example served end to end: the loopback copy, its fakes, the build, the proxy."""

    copy: LoopbackCopy
    fakes: Fakes
    out: Path
    proxy: Proxy

    @classmethod
    @contextlib.contextmanager
    def start(cls, example: Path, workdir: Path) -> Iterator[Gateway]:
        copy = loopback_copy(example, workdir / "mesh")
        fakes = start_fakes(copy.mesh)
        try:
            out = build(copy.path, workdir / "out", copy.env)
            proxy = start_proxy(out / "litellm" / "config.yaml", copy.env)
            try:
                yield cls(copy, fakes, out, proxy)
            finally:
                proxy.stop()
        finally:
            fakes.stop()

    @property
    def url(self) -> str:
        return self.proxy.url

    def client(self, api_key: str | None = None) -> Any:
        """The official openai SDK pointed at the proxy, without its own retries."""
        import openai

        return openai.OpenAI(
            base_url=self.url, api_key=api_key or self.copy.master_key, max_retries=0, timeout=60
        )


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
