"""The pieces of doctor and discover that need no network: name matching, naming, estimates,
plain-words causes, the parallel runner's deadline, and starters from odd runtime names."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jarvis_config.live.discover import (
    Found,
    memory_estimate,
    model_name,
    node_name,
    starter_yaml,
)
from jarvis_config.live.http import plain_cause
from jarvis_config.live.probes import Served, in_parallel, same_model
from jarvis_config.problems import Location, Problem, Severity
from jarvis_config.report import render_problems
from jarvis_config.standin import StandIn, StandInModel
from tests.conftest import CliResult
from tests.e2e.harness import free_ports
from tests.live.livekit import LLAMA3, fakes

Cli = Callable[..., CliResult]


@pytest.mark.parametrize(
    ("source", "served", "same"),
    [
        pytest.param("llama3:8b", "llama3:8b", True, id="exact"),
        pytest.param("llama3", "llama3:latest", True, id="ollama-latest"),
        pytest.param("llama3:8b", "llama3:70b", False, id="other-tag"),
        pytest.param("phi-3-mini-q4", "/models/phi-3-mini-q4.gguf", True, id="llamacpp-file"),
        pytest.param("org/coder-7b", "org/coder-13b", False, id="other-model"),
    ],
)
def test_same_model(source: str, served: str, same: bool) -> None:
    assert same_model(source, served) is same


def test_names_and_estimates() -> None:
    assert node_name("ai-max.lan") == "ai-max"
    assert node_name("192.168.1.30") == "node-192-168-1-30"
    assert node_name("::1") == "node-1"
    assert model_name("llama3:8b") == "llama3-8b"
    assert model_name("hf.co/org/model.gguf") == "model"
    assert model_name("nomic-embed-text:latest") == "nomic-embed-text"
    assert memory_estimate(4_700_000_000) == 6.0
    assert memory_estimate(None) is None


def test_plain_causes_name_no_python_types() -> None:
    assert plain_cause(ConnectionRefusedError(111, "Connection refused")) == (
        "connection refused (nothing listens on that port)"
    )
    assert plain_cause(TimeoutError("timed out")) == "no answer within the timeout"
    assert plain_cause(socket.gaierror(-2, "Name or service not known")) == (
        "the address does not resolve"
    )


def test_in_parallel_leaves_a_stuck_job_at_the_deadline() -> None:
    release = threading.Event()
    started = time.monotonic()
    results = in_parallel([lambda: "quick", lambda: release.wait(30)], started + 0.5)
    elapsed = time.monotonic() - started
    release.set()
    assert results == ["quick", None]
    assert elapsed < 0.5 + 1.0


def test_odd_runtime_names_are_skipped_never_fatal(cli: Cli, tmp_path: Path) -> None:
    odd = [LLAMA3, StandInModel("${OPENAI_API_KEY}"), StandInModel('weird "quoted" naïve/m.gguf')]
    mesh = tmp_path / "jarvis.yaml"
    with fakes(StandIn("box", port=free_ports(1), models=odd)) as [runtime]:
        result = cli("discover", runtime.url, "-o", mesh)
    assert result.exit_code == 0, result.stderr
    assert "warning: skipped 1 model(s) whose names cannot be a source" in result.stderr
    text = mesh.read_text(encoding="utf-8")
    assert "OPENAI_API_KEY" not in text
    assert 'source: "weird \\"quoted\\" na\\xEFve/m.gguf"' in text
    assert cli("validate", mesh).exit_code == 0


def test_a_note_is_a_github_notice() -> None:
    note = Problem(Location("mesh.yaml", 3, 5), "model-unused", "m", "$.x", None, Severity.NOTE)
    assert render_problems([note], "github") == (
        "::notice file=mesh.yaml,line=3,col=5,title=jarvis-config model-unused::"
        "[model-unused] m (at $.x)"
    )
    assert render_problems([note]) == "mesh.yaml:3:5: note[model-unused]: m (at $.x)"


def _vllm(port: int, source: str) -> Found:
    return Found("gpu", "gpu.lan", "vllm", port, (Served(source, 4096),))


@pytest.mark.parametrize(
    ("servers", "flagged"),
    [
        pytest.param([_vllm(8000, "org/a"), _vllm(8001, "org/b")], False, id="in-order"),
        pytest.param([_vllm(8000, "org/b"), _vllm(8001, "org/a")], True, id="swapped"),
        pytest.param([_vllm(8000, "org/a"), _vllm(8005, "org/b")], True, id="gap"),
    ],
)
def test_one_model_servers_off_the_build_order_are_flagged(
    servers: list[Found], flagged: bool
) -> None:
    assert ("# check: vllm serves one model per port" in starter_yaml(servers)) is flagged
