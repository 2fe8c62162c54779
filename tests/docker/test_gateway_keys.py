"""Keys in the gateway container: the clients example's stack in a real Docker engine.

The image's LiteLLM runs the rendered `custom_auth` exactly as the pip-installed proxy does
(tests/e2e/test_e2e_clients.py): no key and a wrong key are 401, the master key and the
declared keys work, a model outside a key's list is 403. Without a database, as that stack
runs by default (the database stack needs Prisma engine binaries these machines cannot fetch;
docs/clients.md says how declared keys sit beside LiteLLM's virtual keys there).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.docker.stack import ComposeProject, container_copy, fake_services, write_env
from tests.e2e.harness import build
from tests.kit import EXAMPLES_DIR as EXAMPLES

pytestmark = [pytest.mark.docker, pytest.mark.slow]

GATEWAY_FILE = "compose/gateway/compose.yaml"


def post_chat(port: int, model: str, key: str | None) -> tuple[int, str]:
    """(status, answer or error message) of one chat completion sent with `key`."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]})
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions", data=body.encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.load(reply)["choices"][0]["message"]["content"]
    except urllib.error.HTTPError as exc:
        payload: dict[str, Any] = json.loads(exc.read() or b"{}")
        return exc.code, str(payload.get("error", {}).get("message", ""))


@pytest.mark.usefixtures("local_images")
def test_gateway_container_enforces_keys(engine: Any, tmp_path: Path) -> None:
    copy = container_copy(EXAMPLES / "clients", tmp_path / "mesh")
    out = build(copy.path, tmp_path / "out", copy.env)
    write_env(out, copy.env)
    n8n = copy.env["JARVIS_KEY_N8N"]
    with ComposeProject.up(engine, out, GATEWAY_FILE, fake_services(copy.mesh)) as project:
        project.wait_healthy()
        port = copy.port
        seen = {
            "master": post_chat(port, "llama3@mini", copy.master_key),
            "n8n": post_chat(port, "chat@gpu-2", n8n),
            "n8n-outside": post_chat(port, "qwen-coder", n8n),
            "wrong": post_chat(port, "llama3", "sk-wrong-key-0123456789"),
            "none": post_chat(port, "llama3", None),
        }
    assert seen["master"] == (200, "hello from mini")
    assert seen["n8n"] == (200, "hello from gpu-2")
    assert seen["n8n-outside"] == (
        403,
        "key 'n8n' may not use model 'qwen-coder'; it may use: chat, fast",
    )
    assert seen["wrong"][0] == 401 and seen["wrong"][1].startswith("invalid API key")
    assert seen["none"][0] == 401 and seen["none"][1].startswith("missing API key")
    assert not any(n8n in message or "sk-wrong" in message for _, message in seen.values())
    assert project.leftovers() == {"containers": [], "networks": [], "volumes": []}
