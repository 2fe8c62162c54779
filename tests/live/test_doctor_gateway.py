"""`doctor --gateway` against the stock LiteLLM proxy running the build of a small mesh over
fake runtimes: clean while the proxy runs what the mesh renders, drift once the mesh changes,
a refused key, and `--probe-completions` pinned through the gateway to each node."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jarvis_config.standin import StandIn
from tests.conftest import CliResult
from tests.e2e.harness import Proxy, build, free_ports, start_proxy
from tests.live.livekit import CODER, LLAMA3, fakes, mesh_text, two_node_ports

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
Cli = Callable[..., CliResult]
KEY = "sk-test-master-key"  # tests/conftest.py sets JARVIS_MASTER_KEY to this


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Proxy]]:
    """The mesh file and the proxy running its build, over its fakes."""
    workdir = tmp_path_factory.mktemp("doctor-gateway")
    ports = two_node_ports()
    mesh = workdir / "jarvis.yaml"
    # With an alias: 1.108.7's /model/info shows a per-node deployment only under an alias.
    mesh.write_text(mesh_text(ports) + "aliases:\n  chat: llama3\n", encoding="utf-8")
    listings = {"gpu1-ollama": [LLAMA3], "gpu1-vllm": [CODER], "cpu1-ollama": [LLAMA3]}
    runtimes = [
        StandIn(
            name, flavor="openai" if "vllm" in name else "ollama", port=port, models=listings[name]
        )
        for name, port in ports.items()
    ]
    env = {"JARVIS_MASTER_KEY": KEY}
    with fakes(*runtimes):
        out = build(mesh, workdir / "out", env)
        proxy = start_proxy(out / "litellm" / "config.yaml", env)
        try:
            yield mesh, proxy
        finally:
            proxy.stop()


def test_a_gateway_running_the_build_is_clean(cli: Cli, served: tuple[Path, Proxy]) -> None:
    mesh, proxy = served
    result = cli("doctor", mesh, "--gateway", proxy.url, "--probe-completions", "--timeout", "30")
    assert (result.exit_code, result.stdout.strip()) == (
        0,
        "doctor: the mesh runs as configured: 0 errors, 0 warnings, 0 notes",
    ), result.stderr


def test_a_changed_mesh_shows_the_gateway_drifted(
    cli: Cli, served: tuple[Path, Proxy], tmp_path: Path
) -> None:
    mesh, proxy = served
    changed = tmp_path / "jarvis.yaml"
    changed.write_text(
        mesh.read_text(encoding="utf-8")
        + "  code: coder\nrouting:\n  fallbacks: {coder: [llama3]}\n",
        encoding="utf-8",
    )
    result = cli("doctor", changed, "--gateway", proxy.url, "--timeout", "30")
    assert result.exit_code == 1
    drift = [line for line in result.stderr.splitlines() if "gateway-config-differs" in line]
    assert [line.split(": ", 2)[2] for line in drift] == [
        "the gateway does not list model 'code', which the build serves (at $.gateway)",
        "the gateway's router_settings.fallbacks differs from the build's (at $.gateway)",
        "the gateway's router_settings.model_group_alias differs from the build's (at $.gateway)",
    ]


def test_a_wrong_key_is_named_never_shown(
    cli: Cli, served: tuple[Path, Proxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh, proxy = served
    monkeypatch.setenv("OTHER_KEY", "sk-wrong-key-value")
    result = cli("doctor", mesh, "--gateway", proxy.url, "--gateway-key-env", "OTHER_KEY")
    assert result.exit_code == 1
    assert "error[gateway-auth-failed]: the gateway at " in result.stderr
    assert "refused the key from OTHER_KEY" in result.stderr
    assert "sk-wrong-key-value" not in result.stderr + result.stdout


def test_a_moved_runtime_shows_the_gateway_calls_the_old_address(
    cli: Cli, served: tuple[Path, Proxy], tmp_path: Path
) -> None:
    mesh, proxy = served
    text = mesh.read_text(encoding="utf-8")
    old = text.split("ollama: {port: ")[2].split("}")[0]  # cpu1's Ollama port
    new = str(free_ports(1))
    changed = tmp_path / "jarvis.yaml"
    changed.write_text(text.replace(f"port: {old}}}", f"port: {new}}}"), encoding="utf-8")
    result = cli("doctor", changed, "--gateway", proxy.url, "--node", "gpu1", "--timeout", "30")
    assert result.exit_code == 1
    drift = [line for line in result.stderr.splitlines() if "gateway-config-differs" in line]
    assert [line.split(": ", 2)[2] for line in drift] == [
        f"deployment 'llama3@cpu1': the gateway has api_base http://127.0.0.1:{old}, the build "
        f"renders http://127.0.0.1:{new} (at $.gateway)",
    ]
