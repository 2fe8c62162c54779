"""`jarvis-config doctor` against fake runtimes on loopback: each kind of drift is one problem
at the YAML position it is about; a dead or frozen node costs the timeout, never more."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from jarvis_config.standin import StandIn, StandInModel
from tests.conftest import CliResult
from tests.e2e.harness import free_ports
from tests.live.livekit import (
    CODER,
    LLAMA3,
    fakes,
    fanout_mesh,
    frozen_runtime,
    mesh_text,
    two_node_ports,
)

pytestmark = [pytest.mark.e2e]
Cli = Callable[..., CliResult]
CLEAN = "doctor: the mesh runs as configured: 0 errors, 0 warnings, 0 notes"


def _mesh(tmp_path: Path, ports: dict[str, int]) -> Path:
    path = tmp_path / "jarvis.yaml"
    path.write_text(mesh_text(ports), encoding="utf-8")
    return path


def _runtimes(
    ports: dict[str, int],
    skip: str = "",
    tweak: Mapping[str, Mapping[str, Any]] | None = None,
    **listings: list[StandInModel],
) -> list[StandIn]:
    """The fakes of the two-node mesh but `skip`; `listings` overrides what one lists and
    `tweak` adds StandIn arguments (flavor, context_chars) to one."""
    models = {"gpu1-ollama": [LLAMA3], "gpu1-vllm": [CODER], "cpu1-ollama": [LLAMA3]}
    models.update({k.replace("_", "-"): v for k, v in listings.items()})
    return [
        StandIn(
            name,
            port=port,
            models=models[name],
            **{
                "flavor": "openai" if name.endswith("vllm") else "ollama",
                **(tweak or {}).get(name, {}),
            },
        )
        for name, port in ports.items()
        if name != skip
    ]


def test_a_mesh_that_runs_as_configured_is_clean(cli: Cli, tmp_path: Path) -> None:
    ports = two_node_ports()
    with fakes(*_runtimes(ports)):
        result = cli("doctor", _mesh(tmp_path, ports))
    assert (result.exit_code, result.stdout.strip()) == (0, CLEAN)


def test_a_missing_model_is_an_error_at_that_model(cli: Cli, tmp_path: Path) -> None:
    ports = two_node_ports()
    mesh = _mesh(tmp_path, ports)
    mistral = StandInModel("mistral:7b", context=32768)
    with fakes(*_runtimes(ports, cpu1_ollama=[mistral])):
        result = cli("doctor", mesh)
    port = ports["cpu1-ollama"]
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{mesh}:13:7: note[model-unused]: ollama on node 'cpu1' serves models the mesh does "
        "not place there: mistral:7b (at $.nodes.cpu1.runtimes.ollama)",
        "  hint: place them in the mesh (jarvis-config discover writes a starter), or remove "
        "them from the runtime to free memory",
        f"{mesh}:15:3: error[model-not-served]: model 'llama3' (llama3:8b) is placed on node "
        f"'cpu1', but ollama at 127.0.0.1:{port} does not serve it (at $.models.llama3)",
        "  hint: run `ollama pull llama3:8b` on cpu1, or change its source or placement; "
        "it serves: mistral:7b",
        "doctor: drift or faults found: 1 error, 0 warnings, 1 note",
    ]


def test_a_context_window_larger_than_served_is_an_error(cli: Cli, tmp_path: Path) -> None:
    ports = two_node_ports()
    mesh = _mesh(tmp_path, ports)
    small = StandInModel("org/coder-7b", context=4096)
    with fakes(*_runtimes(ports, gpu1_vllm=[small])):
        result = cli("doctor", mesh, "--format", "json")
    assert result.exit_code == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert problem == {
        "file": str(mesh),
        "line": 25,
        "col": 5,
        "severity": "error",
        "code": "context-window-exceeds-served",
        "message": "model 'coder' declares context_window 16384, but vllm on node 'gpu1' "
        "serves org/coder-7b with 4096 tokens",
        "path": "$.models.coder.context_window",
        "hint": "lower context_window to 4096, or serve the model with a larger context "
        "(Ollama: num_ctx; vLLM: --max-model-len; llama.cpp: --ctx-size)",
    }


def test_another_quantization_is_a_warning_only(cli: Cli, tmp_path: Path) -> None:
    ports = two_node_ports()
    mesh = _mesh(tmp_path, ports)
    q8 = StandInModel("llama3:8b", context=8192, quantization="Q8_0")
    with fakes(*_runtimes(ports, gpu1_ollama=[q8])):
        result = cli("doctor", mesh, "--format", "github")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"::warning file={mesh},line=19,col=5,title=jarvis-config quantization-differs::"
        "[quantization-differs] model 'llama3' declares quantization Q4_0, but ollama on node "
        "'gpu1' serves Q8_0 (at $.models.llama3.quantization) hint: correct quantization in "
        "the mesh, or pull the declared variant on that node"
    ]


def test_a_down_node_names_node_runtime_address_and_cause(cli: Cli, tmp_path: Path) -> None:
    ports = two_node_ports()
    mesh = _mesh(tmp_path, ports)
    with fakes(*_runtimes(ports, skip="cpu1-ollama")):  # nothing listens on cpu1's port
        result = cli("doctor", mesh)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        f"{mesh}:13:7: error[runtime-unreachable]: node 'cpu1': ollama at "
        f"127.0.0.1:{ports['cpu1-ollama']} is unreachable: connection refused (nothing listens "
        "on that port) (at $.nodes.cpu1.runtimes.ollama)",
        "  hint: start the runtime on that node, or correct the node's address or the "
        "runtime's port",
    ]
    assert "Traceback" not in result.stderr


def test_node_limits_the_probe_to_one_node(cli: Cli, tmp_path: Path) -> None:
    ports = two_node_ports()
    mesh = _mesh(tmp_path, ports)
    with fakes(*_runtimes(ports, skip="cpu1-ollama")):  # cpu1 is down, but not asked
        assert cli("doctor", mesh, "--node", "gpu1").exit_code == 0
        wrong = cli("doctor", mesh, "--node", "gpu2")
    assert wrong.exit_code == 1
    assert "error: node 'gpu2' is not in the mesh; did you mean 'gpu1'?" in wrong.stderr


@pytest.mark.slow
def test_a_frozen_node_is_bounded_by_the_timeout(cli: Cli, tmp_path: Path) -> None:
    ports = two_node_ports()
    mesh = _mesh(tmp_path, ports)
    up = _runtimes(ports, skip="cpu1-ollama")
    with fakes(*up), frozen_runtime(ports["cpu1-ollama"], [LLAMA3]):
        started = time.monotonic()
        result = cli("doctor", mesh, "--timeout", "2")
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert "is unreachable: no answer within the timeout" in result.stderr
    assert elapsed < 2 + 1, f"doctor took {elapsed:.1f} s with a 2 s timeout"


@pytest.mark.slow
def test_fifty_nodes_with_a_frozen_one_answer_within_timeout_plus_one(
    cli: Cli, tmp_path: Path
) -> None:
    taken: set[int] = set()
    ports = [free_ports(1, taken) for _ in range(50)]
    mesh = tmp_path / "fifty.yaml"
    mesh.write_text(fanout_mesh(ports), encoding="utf-8")
    live = [StandIn(f"n{i:03}", port=p, models=[LLAMA3]) for i, p in enumerate(ports[1:], 1)]
    with fakes(*live), frozen_runtime(ports[0], [LLAMA3]):
        started = time.monotonic()
        result = cli("doctor", mesh, "--timeout", "3")
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert result.stderr.count("error[") == 1
    assert "node 'n000': ollama" in result.stderr
    assert elapsed < 3 + 1, f"doctor took {elapsed:.1f} s with a 3 s timeout"


def test_a_gateway_that_does_not_answer_is_an_error(cli: Cli, tmp_path: Path) -> None:
    ports = two_node_ports()
    port = free_ports(1)
    with fakes(*_runtimes(ports)):
        result = cli("doctor", _mesh(tmp_path, ports), "--gateway", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        f"{tmp_path / 'jarvis.yaml'}:2:1: error[gateway-unreachable]: the gateway at "
        f"http://127.0.0.1:{port} is not ready: connection refused (nothing listens on that "
        "port) (at $.gateway)",
        "  hint: start the gateway, or pass the URL it listens on to --gateway",
    ]


def test_another_server_on_the_port_is_a_bad_answer(cli: Cli, tmp_path: Path) -> None:
    ports = two_node_ports()
    mesh = _mesh(tmp_path, ports)
    with fakes(*_runtimes(ports, tweak={"cpu1-ollama": {"flavor": "openai"}})):
        result = cli("doctor", mesh)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        f"{mesh}:13:7: error[runtime-bad-answer]: node 'cpu1': 127.0.0.1:{ports['cpu1-ollama']} "
        "answers, but not as ollama does: HTTP 404 Not Found (at $.nodes.cpu1.runtimes.ollama)",
        "  hint: check the runtime kind and port in the mesh (another server may hold that "
        "port), and the runtime's api_key",
    ]


def test_probe_completions_sends_one_per_model_and_node(cli: Cli, tmp_path: Path) -> None:
    ports = two_node_ports()
    mesh = _mesh(tmp_path, ports)
    with fakes(*_runtimes(ports)) as runtimes:
        result = cli("doctor", mesh, "--probe-completions")
        sent = {
            (r.name, q["path"], q["body"]["model"])
            for r in runtimes
            for q in r.requests()
            if q["method"] == "POST" and "chat" in q["path"]
        }
    assert (result.exit_code, result.stdout.strip()) == (0, CLEAN)
    assert sent == {
        ("gpu1-ollama", "/api/chat", "llama3:8b"),
        ("cpu1-ollama", "/api/chat", "llama3:8b"),
        ("gpu1-vllm", "/v1/chat/completions", "org/coder-7b"),
    }


def test_a_failing_completion_is_an_error_at_the_model(cli: Cli, tmp_path: Path) -> None:
    ports = two_node_ports()
    mesh = _mesh(tmp_path, ports)
    refusing = {"gpu1-vllm": {"context_chars": 1}}  # refuses every prompt: context too long
    with fakes(*_runtimes(ports, tweak=refusing)):
        result = cli("doctor", mesh, "--probe-completions")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{mesh}:21:3: error[completion-failed]: model 'coder' on node 'gpu1': a one-token "
        f"completion through vllm at 127.0.0.1:{ports['gpu1-vllm']} failed: HTTP 400 Bad "
        "Request (at $.models.coder)"
    )
