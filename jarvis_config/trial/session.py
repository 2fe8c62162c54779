"""`jarvis-config try`: build a mesh into a temporary folder, serve it with the stock LiteLLM
proxy over stand-in runtimes on 127.0.0.1 (or, `live`, the mesh's own runtimes), print how to
call it, and wait until Ctrl-C or SIGTERM; then stop everything it started.

Hosted providers never see a request: their deployments answer with LiteLLM's own
`mock_response` (a `litellm_params` field the proxy passes to every call), so no provider key
is needed. Every environment variable the mesh names and the environment lacks gets a
placeholder, and the master key, when unset, a throwaway value, for the proxy's process only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple

import yaml

from jarvis_config import pipeline
from jarvis_config.errors import CommandError, InvalidConfigError
from jarvis_config.model.mesh import Mesh
from jarvis_config.outcome import EXIT_OK, EXIT_USAGE, echo
from jarvis_config.report import render_problems
from jarvis_config.trial.loopback import (
    LOOPBACK,
    LoopbackCopy,
    StandIns,
    loopback_copy,
    port_free,
    start_standins,
)
from jarvis_config.trial.proxy import Proxy, ProxyError, find_litellm, proxy_command, start_proxy

PROXY_MISSING = (
    "the LiteLLM proxy is not installed here; get it with: pip install 'jarvis-config[proxy]'"
)
UNSET_NOTE_CODE = "env-unset"  # try supplies placeholders, so these warnings do not apply


@dataclass(frozen=True)
class TryOptions:
    path: Path
    port: int | None = None
    live: bool = False


class Terminated(BaseException):
    """SIGTERM arrived: stop everything, exit 0."""


def try_mesh(options: TryOptions) -> int:
    litellm = find_litellm()
    if litellm is None:
        echo(f"error: {PROXY_MISSING}", err=True)
        return EXIT_USAGE
    mesh = _compile(options.path)
    port = options.port or mesh.gateway.port
    if not port_free(port):
        raise CommandError(
            f"port {port} on {LOOPBACK} is in use; stop what listens there, or pass --port N"
        )
    with _sigterm_raises(), tempfile.TemporaryDirectory(prefix="jarvis-config-try-") as tmp:
        try:
            _serve(options, litellm, port, Path(tmp))
        except Terminated:
            echo("stopped (SIGTERM)", err=True)
    return EXIT_OK


def _compile(path: Path) -> Mesh:
    compiled = pipeline.compile_config(path)
    problems = [p for p in compiled.problems if p.code != UNSET_NOTE_CODE]
    if problems:
        echo(render_problems(problems), err=True)
    if compiled.mesh is None:
        count = sum(1 for p in problems if p.is_error)
        raise InvalidConfigError(f"{path}: {count} error{'s' if count != 1 else ''}")
    return compiled.mesh


def _serve(options: TryOptions, litellm: str, port: int, tmp: Path) -> None:
    copy = loopback_copy(options.path, tmp / "mesh", nodes=not options.live, providers=False)
    env = _proxy_env(copy)
    standins = StandIns()
    if not options.live:
        standins = start_standins(copy.mesh, say_model=True, listing=True)
    proxy = None
    try:
        config = _build_gateway(copy.mesh, tmp / "gateway")
        _tell_serving(options, copy.mesh, standins)
        proxy = _start_proxy(proxy_command(litellm, config, port), config, env, port, tmp)
        _tell_ready(copy, proxy.url, _key_text(copy, env))
        _wait(proxy)
    finally:
        with _shielded():  # a second Ctrl-C cannot cut this short
            _stop(proxy, standins)


def _stop(proxy: Proxy | None, standins: StandIns) -> None:
    """Stop what runs; a proxy that failed to start has been stopped already."""
    count = len(standins.all())
    running = "the proxy" if proxy is not None else ""
    started = f"{count} stand-ins" if count else ""
    if running or started:
        echo(f"stopping {' and '.join(filter(None, (running, started)))}", err=True)
    if proxy is not None:
        proxy.stop()
    standins.stop()


def _start_proxy(
    command: list[str], config: Path, env: dict[str, str], port: int, tmp: Path
) -> Proxy:
    progress = Progress()
    try:
        proxy = start_proxy(
            command, config, env, port, log=tmp / "proxy.log", waiting=progress.tick
        )
    except BaseException:
        _write("\n")  # end the progress line before what follows
        raise
    progress.done()
    return proxy


def _proxy_env(copy: LoopbackCopy) -> dict[str, str]:
    """Placeholders for what the environment lacks; what it has is used as it is."""
    return {var: os.environ.get(var) or value for var, value in copy.env.items()}


def _build_gateway(mesh: Mesh, out: Path) -> Path:
    """The gateway's files, hosted models answering with LiteLLM's mock responses."""
    for name, data in pipeline.render(mesh, ["litellm"]).items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    config = out / "litellm" / "config.yaml"
    gateway = yaml.safe_load(config.read_text(encoding="utf-8"))
    for entry in gateway.get("model_list") or []:
        _mock_hosted(entry)
    config.write_text(yaml.safe_dump(gateway, sort_keys=False), encoding="utf-8")
    return config


def _mock_hosted(entry: dict[str, Any]) -> None:
    info = entry.get("model_info") or {}
    if info.get("provider"):
        entry["litellm_params"]["mock_response"] = (
            f"hello from {info['provider']} ({info.get('jarvis_model')}), mocked by LiteLLM"
        )


# --- what the user sees --------------------------------------------------------------------------


def _tell_serving(options: TryOptions, mesh: Mesh, standins: StandIns) -> None:
    echo(f"jarvis-config try: serving {options.path} on this machine", err=True)
    for name, runs in standins.by_name.items():
        ports = ", ".join(f"{r.flavor} :{r.port}" for r in runs)
        echo(f"  stand-in for node {name}: {ports}", err=True)
    if options.live:
        echo("  nodes: their real addresses (--live)", err=True)
    hosted = ", ".join(p.name for p in mesh.providers)
    if hosted:
        echo(f"  hosted providers ({hosted}): LiteLLM mock answers, no key needed", err=True)


class Progress:
    """The proxy's start-up on one line: a dot a second, the seconds every fifth."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        _write("starting the LiteLLM proxy (usually 7-15 s) ")

    def tick(self, seconds: float) -> None:
        _write(f"{seconds:.0f}s " if int(seconds) % 5 == 0 else ".")

    def done(self) -> None:
        echo(f" ready in {time.monotonic() - self.started:.0f} s", err=True)


def _write(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


class Key(NamedTuple):
    header: str  # what the curl commands send
    explained: str
    assignment: str  # what a command run beside needs in its environment, if anything


def _key_text(copy: LoopbackCopy, env: dict[str, str]) -> Key:
    ref = copy.mesh.gateway.master_key
    if ref is None:
        return Key("sk-any", "any (the mesh sets no master_key)", "")
    if os.environ.get(ref.var):
        return Key(f"${ref.var}", f"the value of ${ref.var}", "")
    key = env[ref.var]
    return Key(key, f"{key}  (a throwaway: {ref.var} is not set)", f"{ref.var}={key} ")


def _tell_ready(copy: LoopbackCopy, url: str, key: Key) -> None:
    model, node = showcase(copy.mesh)
    echo("")
    echo(f"Gateway: {url}/v1")
    echo(f"Key:     {key.explained}")
    echo("")
    echo("Try it:")
    echo("  " + curl(url, key.header, {"model": model}))
    if node is not None:
        echo("  " + curl(url, key.header, {"model": model, "node": node}))
    echo("  " + curl(url, key.header, {"model": model, "stream": True}))
    echo("")
    echo(f"The mesh as served (its addresses on {LOOPBACK}), for explain and doctor:")
    echo(f"  {key.assignment}jarvis-config doctor {shlex.quote(str(copy.path))} --gateway {url}")
    echo("")
    echo("Ctrl-C stops the proxy and the stand-ins.")


def showcase(mesh: Mesh) -> tuple[str, str | None]:
    """The chat model the ready commands ask for (the one on most nodes) and the node the
    pinned one names (its last); no node when no chat model runs on a node."""
    chat = [m for m in mesh.models if m.category != "embedding"] or list(mesh.models)
    nodes = {m.name: [d.node for d in mesh.deployments_of(m.name) if d.node] for m in chat}
    best = max(chat, key=lambda m: len(nodes[m.name]))
    return best.name, (nodes[best.name][-1] if nodes[best.name] else None)


def curl(url: str, key: str, fields: dict[str, Any]) -> str:
    """A ready curl command for one chat completion with these request fields."""
    body = {**fields, "messages": [{"role": "user", "content": "Hello"}]}
    streamed = " -N" if fields.get("stream") else ""
    return (
        f"curl -s{streamed} {url}/v1/chat/completions"
        f' -H "Authorization: Bearer {key}" -H "Content-Type: application/json"'
        f" -d {shlex.quote(json.dumps(body))}"
    )


# --- waiting and stopping ------------------------------------------------------------------------


def _wait(proxy: Proxy) -> None:
    """Until a signal; the proxy dying on its own is an error."""
    while proxy.process.poll() is None:
        time.sleep(0.5)
    raise ProxyError(
        f"the LiteLLM proxy exited with {proxy.process.returncode}; its last lines:\n"
        f"{proxy.log_tail()}"
    )


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    def terminated(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _shielded() -> Iterator[None]:
    """Ctrl-C and SIGTERM are ignored inside."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
