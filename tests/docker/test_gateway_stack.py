"""The rendered gateway stack in a real Docker engine, driven with the official openai SDK.

For each example: build OUT, bring up OUT/compose/gateway/compose.yaml with docker-compose
(plus fake-runtime containers standing in for the nodes), wait for every healthcheck, send chat
completions pinned to each node through the published gateway port, check that the node
answered, then tear the stack down and check that nothing of it is left.

The ha-gateway example runs with two proxy replicas behind nginx sharing Redis; its database
is switched off here, because LiteLLM's database mode needs Prisma engine binaries that cannot
be fetched on these machines (tests/render/test_render_compose.py checks that stack's structure).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.docker.stack import ComposeProject, container_copy, fake_services, write_env
from tests.e2e.harness import build
from tests.kit import EXAMPLES_DIR

pytestmark = [pytest.mark.docker, pytest.mark.slow]

GATEWAY_FILE = "compose/gateway/compose.yaml"
PINNED_REQUESTS = 4  # per node: one lucky answer proves nothing


def pinned_answers(client: Any, model: str, node: str) -> list[str]:
    answers = []
    for index in range(PINNED_REQUESTS):
        reply = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": f"hi {index}"}],
            extra_body={"node": node},
        )
        answers.append(reply.choices[0].message.content or "")
    return answers


def gateway_client(port: int, key: str) -> Any:
    import openai

    return openai.OpenAI(
        base_url=f"http://127.0.0.1:{port}", api_key=key, max_retries=2, timeout=60
    )


@dataclass
class Observed:
    project: ComposeProject
    proxy_logs: dict[str, str]  # proxy service -> its log
    redis_keys: list[str]


def run_stack(engine: Any, example: str, model: str, tmp_path: Path) -> Observed:
    copy = container_copy(EXAMPLES_DIR / example, tmp_path / "mesh")
    out = build(copy.path, tmp_path / "out", copy.env)
    write_env(out, copy.env)
    nodes = [d.node for d in copy.mesh.deployments_of(model) if d.node]
    assert len(nodes) >= 2, f"{example}: {model} should sit on two nodes for this test"
    with ComposeProject.up(engine, out, GATEWAY_FILE, fake_services(copy.mesh)) as project:
        states = project.wait_healthy()
        with gateway_client(copy.port, copy.master_key) as client:
            for node in nodes:
                answers = pinned_answers(client, model, node)
                assert answers == [f"hello from {node}"] * PINNED_REQUESTS
        logs = {
            name: project.container(name).logs().decode(errors="replace")
            for name in states
            if name.startswith("litellm")
        }
        keys = redis_keys(project) if "redis" in states else []
    return Observed(project, logs, keys)


def redis_keys(project: ComposeProject) -> list[str]:
    result = project.container("redis").exec_run(["redis-cli", "--scan"])
    assert result.exit_code == 0, result.output
    return sorted(result.output.decode().split())


@pytest.mark.usefixtures("local_images")
def test_homelab_gateway_stack_serves_pinned_requests_and_leaves_nothing(
    engine: Any, tmp_path: Path
) -> None:
    seen = run_stack(engine, "homelab", "llama3", tmp_path)
    assert list(seen.proxy_logs) == ["litellm"]
    assert seen.project.leftovers() == {"containers": [], "networks": [], "volumes": []}


@pytest.mark.usefixtures("local_images")
def test_two_replicas_share_redis_behind_one_port_and_leave_nothing(
    engine: Any, tmp_path: Path
) -> None:
    seen = run_stack(engine, "ha-gateway", "llama3-8b", tmp_path)
    assert sorted(seen.proxy_logs) == ["litellm-1", "litellm-2"]
    # nginx spread the pinned requests over both proxies ...
    for name, text in seen.proxy_logs.items():
        assert "POST /chat/completions" in text, f"{name} served no request:\n{text[-2000:]}"
    # ... which keep their per-deployment usage (the model's rpm/tpm limits) in the shared Redis.
    assert any(key.startswith("global_router:llama3-8b@inference-1:") for key in seen.redis_keys)
    assert any(key.startswith("global_router:llama3-8b@inference-2:") for key in seen.redis_keys)
    assert seen.project.leftovers() == {"containers": [], "networks": [], "volumes": []}
