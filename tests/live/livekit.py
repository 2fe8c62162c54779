"""Plumbing of the doctor and discover tests: a small loopback mesh and the fakes it expects."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from jarvis_config import standin
from jarvis_config.standin import StandIn, StandInModel
from tests.e2e.harness import free_ports

FAKE_SCRIPT = Path(standin.__file__).resolve()
LLAMA3 = StandInModel("llama3:8b", context=8192, quantization="Q4_0", size=4_700_000_000)
CODER = StandInModel("org/coder-7b", context=16384)


def mesh_text(ports: dict[str, int], master_key: str = "${JARVIS_MASTER_KEY}") -> str:
    """Two nodes on loopback: gpu1 (Ollama + vLLM), cpu1 (Ollama); llama3 on both, coder on
    gpu1. `ports` holds gpu1-ollama, gpu1-vllm and cpu1-ollama."""
    return f"""\
version: 1
gateway:
  master_key: {master_key}
nodes:
  gpu1:
    address: 127.0.0.1
    runtimes:
      ollama: {{port: {ports["gpu1-ollama"]}}}
      vllm: {{port: {ports["gpu1-vllm"]}}}
  cpu1:
    address: 127.0.0.1
    runtimes:
      ollama: {{port: {ports["cpu1-ollama"]}}}
models:
  llama3:
    runtime: ollama
    source: "llama3:8b"
    context_window: 8192
    quantization: Q4_0
    placement: {{nodes: [gpu1, cpu1]}}
  coder:
    category: code
    runtime: vllm
    source: org/coder-7b
    context_window: 16384
    placement: {{nodes: [gpu1]}}
"""


def fanout_mesh(ports: list[int]) -> str:
    """One Ollama node per port (n000, n001, ...), llama3 placed on every one."""
    nodes = "".join(
        f"  n{i:03}:\n    address: 127.0.0.1\n    runtimes:\n      ollama: {{port: {p}}}\n"
        for i, p in enumerate(ports)
    )
    names = ", ".join(f"n{i:03}" for i in range(len(ports)))
    return (
        f"version: 1\nnodes:\n{nodes}models:\n  llama3:\n    runtime: ollama\n"
        f'    source: "llama3:8b"\n    placement: {{nodes: [{names}]}}\n'
    )


def two_node_ports() -> dict[str, int]:
    taken: set[int] = set()
    return {name: free_ports(1, taken) for name in ("gpu1-ollama", "gpu1-vllm", "cpu1-ollama")}


@contextlib.contextmanager
def fakes(*runtimes: StandIn) -> Iterator[list[StandIn]]:
    started = [r.start() for r in runtimes]
    try:
        yield started
    finally:
        for runtime in started:
            runtime.stop()


@contextlib.contextmanager
def frozen_runtime(port: int, models: list[StandInModel]) -> Iterator[subprocess.Popen[bytes]]:
    """A fake Ollama in its own process, stopped with SIGSTOP once it answers: it accepts
    connections (the kernel does) and never answers, like a hung runtime."""
    listing = json.dumps([{"name": m.name, "context": m.context} for m in models])
    process = subprocess.Popen(
        [
            sys.executable,
            str(FAKE_SCRIPT),
            "--name",
            "frozen",
            "--port",
            str(port),
            "--models",
            listing,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_answering(f"http://127.0.0.1:{port}/api/tags")
        os.kill(process.pid, signal.SIGSTOP)
        yield process
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.kill()
        process.wait(timeout=10)


def _wait_answering(url: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {limit:.0f} s")
