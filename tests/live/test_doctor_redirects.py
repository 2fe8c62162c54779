"""`doctor` never follows a redirect: a runtime or gateway answering `302 Location: <other
origin>` gets its redirect reported, and the other origin never sees a request, let alone
the node's key or the master key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.live.hostile_server import Hostile, http_answer, serving

Cli = Callable[..., CliResult]
NODE_KEY = "sk-node-secret-0123456789abcdef"


def redirect_to(url: str, status: str = "302 Found") -> bytes:
    return http_answer("", status, f"Location: {url}\r\n")


def mesh(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "jarvis.yaml"
    path.write_text(
        "version: 1\ngateway:\n  master_key: ${JARVIS_MASTER_KEY}\nnodes:\n"
        f"  n1: {{address: 127.0.0.1, runtimes: {{vllm: {{port: {port}, "
        "api_key: '${VLLM_KEY}'}}}\n"
        "models:\n  coder: {runtime: vllm, source: org/coder, placement: {nodes: [n1]}}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "307 Temporary Redirect"])
def test_redirects_are_reported_never_followed(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    monkeypatch.setenv("VLLM_KEY", NODE_KEY)
    with serving(Hostile({})) as elsewhere:
        every_path = redirect_to(f"{elsewhere.url}/v1/models", status)
        with (
            serving(Hostile({}, default=every_path)) as runtime,
            serving(Hostile({}, default=every_path)) as gateway,
        ):
            result = cli(
                "doctor",
                mesh(tmp_path, runtime.port),
                "--gateway",
                gateway.url,
                "--timeout",
                "5",
            )
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output
    assert result.exit_code == 1, output
    assert elsewhere.seen == [], "a redirect was followed"
    assert f"redirects to '{elsewhere.url}/v1/models', which is not followed" in output, output
    # The runtime itself was asked with its key (the mesh names it); nothing went elsewhere.
    assert any(h.get("authorization") == f"Bearer {NODE_KEY}" for _, h in runtime.seen)
    assert NODE_KEY not in output and "sk-test-master-key" not in output
