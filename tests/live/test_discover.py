"""`jarvis-config discover` over fake runtimes of each kind, and the round trip: the starter
it writes validates, builds, and `doctor` finds the mesh running as written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jarvis_config.standin import StandIn, StandInModel
from tests.conftest import CliResult
from tests.e2e.harness import free_ports, run_cli
from tests.live.livekit import CODER, LLAMA3, fakes

pytestmark = [pytest.mark.e2e]
Cli = Callable[..., CliResult]
EMBED = StandInModel("nomic-embed-text:latest", context=2048, size=270_000_000)
PHI = StandInModel("phi-3-mini-q4", context=4096)
PLAIN = StandInModel("some-model")


def _four_kinds() -> list[StandIn]:
    taken: set[int] = set()
    return [
        StandIn("ollama", port=free_ports(1, taken), models=[LLAMA3, EMBED]),
        StandIn("vllm", flavor="openai", port=free_ports(1, taken), models=[CODER]),
        StandIn(
            "llamacpp", flavor="openai", port=free_ports(1, taken), models=[PHI], llamacpp=True
        ),
        StandIn("plain", flavor="openai", port=free_ports(1, taken), models=[PLAIN]),
    ]


def test_discover_validate_build_doctor_round_trip(tmp_path: Path) -> None:
    """Each step a child process, as an operator runs them."""
    mesh = tmp_path / "jarvis.yaml"
    with fakes(*_four_kinds()) as runtimes:
        wrote = run_cli("discover", *[r.url for r in runtimes], "-o", mesh)
        assert wrote.returncode == 0, wrote.stderr
        assert run_cli("validate", mesh).returncode == 0
        assert run_cli("build", mesh, "-o", tmp_path / "out").returncode == 0
        doctor = run_cli("doctor", mesh)
    assert (doctor.returncode, doctor.stdout.strip()) == (
        0,
        "doctor: the mesh runs as configured: 0 errors, 0 warnings, 0 notes",
    )
    text = mesh.read_text(encoding="utf-8")
    ports = {r.name: r.port for r in runtimes}
    for line in (
        f"      ollama: {{port: {ports['ollama']}}}",
        f"      vllm: {{port: {ports['vllm']}}}",
        f"      llamacpp: {{port: {ports['llamacpp']}}}",
        f"      openai-compatible: {{port: {ports['plain']}}}",
        "    source: llama3:8b",
        "    context_window: 8192",
        "    quantization: Q4_0",
        "    memory_gb: 6   # estimate: 4.7 GB of weights + 20 %",
        "  nomic-embed-text:\n    category: embedding",
        "    # roles: [gpu]           # decide: labels that requests and placements can target",
        "# aliases:                  # decide: the names clients use, e.g.",
    ):
        assert line in text


def test_an_existing_file_is_kept_without_force(cli: Cli, tmp_path: Path) -> None:
    mesh = tmp_path / "jarvis.yaml"
    mesh.write_text("keep me\n", encoding="utf-8")
    with fakes(StandIn("ollama", port=free_ports(1), models=[LLAMA3])) as [runtime]:
        refused = cli("discover", runtime.url, "-o", mesh)
        assert (refused.exit_code, mesh.read_text(encoding="utf-8")) == (2, "keep me\n")
        assert f"{mesh} exists; pass --force to overwrite it" in refused.stderr
        forced = cli("discover", runtime.url, "-o", mesh, "--force")
        printed = cli("discover", runtime.url)
    assert forced.exit_code == 0
    assert mesh.read_text(encoding="utf-8").startswith("# A starter mesh")
    assert printed.stdout == mesh.read_text(encoding="utf-8")  # the same, run after run


def test_an_unreachable_url_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    mesh = tmp_path / "jarvis.yaml"
    port = free_ports(1)
    result = cli("discover", f"http://127.0.0.1:{port}", "-o", mesh)
    assert result.exit_code == 1
    assert not mesh.exists()
    assert (
        f"http://127.0.0.1:{port}: connection refused (nothing listens on that port)"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
