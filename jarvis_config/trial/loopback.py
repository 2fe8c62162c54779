"""A mesh copied and rewritten to run on 127.0.0.1, and the stand-in runtimes it expects.

`loopback_copy` copies a mesh (a file or a folder of YAML files) before anything is built:
each node's address becomes 127.0.0.1 and each of its runtimes gets a free port (with room for
the consecutive ports that one-model-per-process runtimes use); each hosted provider may be
pointed, through `api_base`, at an OpenAI-compatible stand-in (its kind becomes
`openai-compatible` unless it is `openai`). The gateway is reduced to one process (one replica
of one worker) without a database, which needs no Redis or Postgres. The original mesh is never
touched.
`start_standins` then starts one stand-in per runtime port of the copy.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import shutil
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from jarvis_config import pipeline
from jarvis_config.load import YAML_SUFFIXES
from jarvis_config.model.mesh import Deployment, Mesh
from jarvis_config.standin import StandIn, StandInModel

LOOPBACK = "127.0.0.1"
PLACEHOLDER_PREFIX = "sk-placeholder-"


# --- ports ---------------------------------------------------------------------------------------


def port_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether a server could listen on `host:port` now. As servers do, it may reuse a port
    whose last connections are still closing (TIME_WAIT), as after a restart."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int = 1, taken: set[int] | None = None) -> int:
    """The first of `count` consecutive free loopback ports, none of them in `taken`."""
    taken = taken if taken is not None else set()
    for _ in range(500):
        base = random.randint(20000, 60000 - count)
        block = range(base, base + count)
        if not taken.intersection(block) and all(port_free(p) for p in block):
            taken.update(block)
            return base
    raise OSError(f"no {count} consecutive free ports on {LOOPBACK}")


# --- the loopback copy ---------------------------------------------------------------------------


@dataclass
class LoopbackCopy:
    """A mesh rewritten to run on loopback, compiled, with the environment it needs."""

    path: Path
    mesh: Mesh
    env: dict[str, str]  # every ${VAR} of the mesh: placeholder values, a fresh master key

    @property
    def master_key(self) -> str:
        ref = self.mesh.gateway.master_key
        return self.env[ref.var] if ref else ""


def loopback_copy(
    source: Path, dest: Path, *, nodes: bool = True, providers: bool = True, workers: bool = False
) -> LoopbackCopy:
    """Copy `source` to `dest`, its nodes (`nodes`) and hosted providers (`providers`) moved
    to loopback ports, the gateway reduced to one replica without a database, and to one
    process unless `workers` keeps its worker count (the caller then runs the Redis they
    share)."""
    if source.is_dir():
        shutil.copytree(source, dest)
    else:
        dest.mkdir(parents=True)
        shutil.copy(source, dest / source.name)
    original = compile_mesh(dest, {})
    spans = _port_spans(original) if nodes else None
    taken: set[int] = set()
    for file in sorted(p for p in dest.rglob("*") if p.suffix in YAML_SUFFIXES):
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            if spans is not None:
                _move_nodes(data, spans, taken)
            if providers:
                _move_providers(data, taken)
            _one_gateway(data, workers)
            file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    env = placeholder_env(original)
    return LoopbackCopy(path=dest, mesh=compile_mesh(dest, env), env=env)


def compile_mesh(path: Path, env: Mapping[str, str]) -> Mesh:
    """The mesh of an already valid config (a rewritten copy); ValueError otherwise."""
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


def _move_nodes(
    data: dict[str, Any], spans: Mapping[tuple[str, str], int], taken: set[int]
) -> None:
    for name, node in (data.get("nodes") or {}).items():
        node["address"] = LOOPBACK
        for kind in list(node.get("runtimes") or {}):
            runtime = dict(node["runtimes"][kind] or {})
            runtime["port"] = free_ports(spans.get((name, kind), 1), taken)
            node["runtimes"][kind] = runtime


def _move_providers(data: dict[str, Any], taken: set[int]) -> None:
    for provider in (data.get("providers") or {}).values():
        point_provider_at(provider, f"http://{LOOPBACK}:{free_ports(1, taken)}/v1")


def _one_gateway(data: dict[str, Any], keep_workers: bool) -> None:
    gateway = data.get("gateway")
    if isinstance(gateway, dict):
        gateway["replicas"] = 1
        if not keep_workers:
            gateway["workers"] = 1  # one process: no Redis to share router state through
        gateway["database"] = False


def point_provider_at(provider: dict[str, Any], api_base: str) -> None:
    """A hosted provider answered by an OpenAI-compatible stand-in at `api_base`."""
    if provider.get("kind") != "openai":
        provider["kind"] = "openai-compatible"
    provider.pop("api_version", None)
    provider["api_base"] = api_base


def placeholder_env(mesh: Mesh) -> dict[str, str]:
    """A value for every ${VAR} of the mesh, and a fresh master key: what the proxy needs to
    start when nothing real is called."""
    env = {var: PLACEHOLDER_PREFIX + var.lower() for var in mesh.referenced_env_vars}
    if mesh.gateway.master_key is not None:
        env[mesh.gateway.master_key.var] = "sk-try-" + secrets.token_hex(12)
    return env


# --- stand-in runtimes ---------------------------------------------------------------------------


@dataclass
class StandIns:
    """The stand-in runtimes of a mesh: `by_name[node or provider]` lists that place's."""

    by_name: dict[str, list[StandIn]] = field(default_factory=dict)
    retired: list[StandIn] = field(default_factory=list)  # stopped, then replaced

    def all(self) -> list[StandIn]:
        return [standin for standins in self.by_name.values() for standin in standins]

    def stop(self, name: str | None = None) -> None:
        """Stop one node's (or provider's) stand-ins, or all of them."""
        for standin in self.by_name.get(name, []) if name else self.all():
            with contextlib.suppress(OSError):
                standin.stop()

    def restart(self, name: str) -> None:
        """Bring a stopped node (or provider) back on the same ports."""
        self.retired.extend(self.by_name[name])
        self.by_name[name] = [
            StandIn(
                old.name,
                flavor=old.flavor,
                port=old.port,
                context_chars=old.context_chars,
                models=old.models,
                llamacpp=old.llamacpp,
                say_model=old.say_model,
            ).start()
            for old in self.by_name[name]
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
        """Every request any stand-in received, including those of runtimes since restarted."""
        everyone = self.all() + self.retired
        return [request for standin in everyone for request in standin.requests()]


def start_standins(mesh: Mesh, *, say_model: bool = False, listing: bool = False) -> StandIns:
    """One stand-in per distinct loopback runtime port of the mesh, named after its node or
    provider; `say_model`: answers name the model; `listing`: each lists the models the mesh
    places on it, as doctor expects, and the runtimes no model is placed on answer too (doctor
    probes every runtime). Stops those started when one cannot start."""
    by_port: dict[int, list[Deployment]] = {}
    for deployment in mesh.deployments:
        split = urlsplit(deployment.api_base or "")
        if split.hostname == LOOPBACK and split.port is not None:
            by_port.setdefault(split.port, []).append(deployment)
    standins = StandIns()
    try:
        for port, served in by_port.items():
            standin = _standin(mesh, port, served, say_model=say_model, listing=listing)
            standins.by_name.setdefault(standin.name, []).append(standin.start())
        if listing:
            for name, kind, port in _idle_runtimes(mesh, set(by_port)):
                standin = _idle_standin(name, kind, port, say_model=say_model)
                standins.by_name.setdefault(name, []).append(standin.start())
    except BaseException:
        standins.stop()
        raise
    return standins


def _standin(
    mesh: Mesh, port: int, served: list[Deployment], *, say_model: bool, listing: bool
) -> StandIn:
    first = served[0]
    models = [StandInModel(mesh.model(d.model).source, context=d.context_window) for d in served]
    return StandIn(
        first.node or str(first.provider),
        flavor="ollama" if first.runtime == "ollama" else "openai",
        port=port,
        models=models if listing else None,
        llamacpp=first.runtime == "llamacpp",
        say_model=say_model,
    )


def _idle_runtimes(mesh: Mesh, used: set[int]) -> list[tuple[str, str, int]]:
    """(node, runtime kind, port) of each loopback runtime that serves no deployment."""
    return [
        (node.name, runtime.kind, runtime.port)
        for node in mesh.nodes
        if node.address == LOOPBACK
        for runtime in node.runtimes
        if runtime.port not in used
    ]


def _idle_standin(name: str, kind: str, port: int, *, say_model: bool) -> StandIn:
    flavor = "ollama" if kind == "ollama" else "openai"
    return StandIn(
        name, flavor=flavor, port=port, models=(), llamacpp=kind == "llamacpp", say_model=say_model
    )
