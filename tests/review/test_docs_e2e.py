"""The examples on the generated pages work: run against the real LiteLLM proxy serving the
homelab example over fake runtimes on loopback, the curl and openai-SDK examples answer, and a
pinned example is answered by the node it pins."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from jarvis_config.review import sitedocs
from tests.e2e.harness import Gateway
from tests.kit import HOMELAB

markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (test extra) is needed")
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def examples_in(page: bytes) -> list[tuple[str, str]]:
    tokens = markdown_it.MarkdownIt("commonmark").parse(page.decode("utf-8"))
    return [(t.info, t.content) for t in tokens if t.type == "fence"]


def run_example(language: str, body: str, env: dict[str, str]) -> str:
    command = [sys.executable, "-c", body] if language == "python" else ["bash", "-c", body]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **env, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"},
    )
    assert result.returncode == 0, f"{language} example failed:\n{body}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with Gateway.start(HOMELAB, tmp_path_factory.mktemp("docs-e2e")) as gw:
        yield gw


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_page_examples_answer_and_pins_reach_their_node(gateway: Gateway) -> None:
    pages = sitedocs.render_docs(gateway.copy.mesh, gateway_url=gateway.url)
    env = dict(gateway.copy.env)
    first = examples_in(pages["README.md"])
    assert [language for language, _ in first] == ["sh", "python"]
    for language, body in first:
        assert "hello from" in run_example(language, body, env)
    pinned = examples_in(pages["nodes.md"])
    nodes = [n.name for n in gateway.copy.mesh.nodes]
    assert len(pinned) == 2 * len(nodes)
    for node, (language, body) in zip([n for n in nodes for _ in (0, 1)], pinned, strict=True):
        for _ in range(3):  # one lucky answer proves nothing
            assert f"hello from {node}" in run_example(language, body, env), (node, language)
