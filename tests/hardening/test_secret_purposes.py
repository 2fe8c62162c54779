"""One variable, one purpose: a provider's or runtime's key never reads the gateway's own
credentials (the proxy would send them as bearer tokens to that upstream), and a client's key
never reads one of the gateway's passwords."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

GATEWAY = (
    "version: 1\ngateway:\n  master_key: ${{JARVIS_MASTER_KEY}}\n"
    "  keys:\n    app: {{key: '{client}'}}\n"
)
NODES = "nodes:\n  n1: {{address: n1.lan, runtimes: {{vllm: {{api_key: '{runtime}'}}}}}}\n"
PROVIDERS = (
    "providers:\n  up: {{kind: openai-compatible, api_base: 'https://llm.example.net/v1', "
    "api_key: '{provider}'}}\n"
    "  up2: {{kind: openai-compatible, api_base: 'https://other.example.net/v1', "
    "api_key: '{provider2}'}}\n"
)
MODELS = (
    "models:\n  big: {runtime: vllm, source: org/big, placement: {nodes: [n1]}}\n"
    "  hosted: {provider: up, source: gpt-4o}\n"
)
FINE = {
    "client": "${JARVIS_KEY_APP}",
    "runtime": "${VLLM_KEY}",
    "provider": "${UP_KEY}",
    "provider2": "${UP2_KEY}",
}


def config(tmp_path: Path, **secrets: str) -> Path:
    path = tmp_path / "jarvis.yaml"
    path.write_text((GATEWAY + NODES + PROVIDERS).format(**{**FINE, **secrets}) + MODELS)
    return path


@pytest.mark.parametrize(
    ("secrets", "at", "which"),
    [
        pytest.param({"provider": "${JARVIS_MASTER_KEY}"}, "providers.up", "the master key"),
        pytest.param({"runtime": "${JARVIS_MASTER_KEY}"}, "nodes.n1", "the master key"),
        pytest.param({"provider": "${JARVIS_KEY_APP}"}, "providers.up", "the key of client"),
        pytest.param({"runtime": "${JARVIS_KEY_APP}"}, "nodes.n1", "the key of client"),
        pytest.param({"provider": "${REDIS_PASSWORD}"}, "providers.up", "gateway's Redis"),
        pytest.param({"runtime": "${POSTGRES_PASSWORD}"}, "nodes.n1", "gateway's database"),
        pytest.param({"provider2": "${DATABASE_URL}"}, "providers.up2", "database URL"),
        pytest.param({"client": "${REDIS_PASSWORD}"}, "gateway.keys.app", "gateway's Redis"),
        pytest.param({"client": "${UP_KEY}"}, "providers.up", "the key of client"),
    ],
)
def test_a_secret_read_for_another_purpose_is_an_error(
    cli: Callable[..., Any], tmp_path: Path, secrets: dict[str, str], at: str, which: str
) -> None:
    result = cli("validate", "--strict", config(tmp_path, **secrets))
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "error[secret-purpose]" in line]
    assert len(lines) == 1, result.stderr
    assert f"(at $.{at}." in lines[0] and which in lines[0], lines[0]


def test_each_secret_in_its_own_variable_passes(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli("validate", config(tmp_path))
    assert "secret-purpose" not in result.stderr
    assert result.exit_code == 0, result.stderr


def test_upstreams_may_share_an_upstream_key(cli: Callable[..., Any], tmp_path: Path) -> None:
    """Two upstream keys reading one variable is one credential sent where it was meant."""
    result = cli("validate", config(tmp_path, provider2="${UP_KEY}", runtime="${UP_KEY}"))
    assert "secret-purpose" not in result.stderr
