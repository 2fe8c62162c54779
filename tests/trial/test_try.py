"""`jarvis-config try`, run as a user runs it: every example served by the stock proxy over
stand-ins answers the printed commands (a pin from the pinned node, a stream ending with
[DONE]), and a signal stops everything it started, checked by process group."""

from __future__ import annotations

import json
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from jarvis_config.standin import StandIn
from jarvis_config.trial.loopback import LOOPBACK, free_ports
from jarvis_config.trial.session import PROXY_MISSING
from tests.kit import HOMELAB, ROOT, compile_mesh, example_params
from tests.live.livekit import fakes, mesh_text, two_node_ports
from tests.trial.trykit import (
    READY_LINE,
    TryRun,
    child_env,
    group_alive,
    python_without_litellm,
)

START_TIMEOUT = 120.0  # the proxy starts in 7-15 s alone; a loaded CI machine is slower
PINNED_TIMES = 5


def ask(command: str, **env: str) -> str:
    """Run a printed command (a curl, or jarvis-config from this tree); what it printed."""
    command = command.replace("jarvis-config ", f"{shlex.quote(sys.executable)} -m jarvis_config ")
    result = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=child_env(**env),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def answer(command: str, **env: str) -> str:
    body = ask(command, **env)
    reply = json.loads(body)
    assert "choices" in reply, body
    return str(reply["choices"][0]["message"]["content"])


def request_fields(command: str) -> dict[str, object]:
    words = shlex.split(command)
    fields: dict[str, object] = json.loads(words[words.index("-d") + 1])
    return fields


@pytest.mark.e2e
@pytest.mark.parametrize("example", example_params())
def test_try_answers_a_pin_from_its_node_streams_and_stops_on_ctrl_c(example: Path) -> None:
    mesh = compile_mesh(example)
    with TryRun.start(str(example), "--port", str(free_ports(1))) as run:
        run.wait_for(READY_LINE, START_TIMEOUT)
        groups = run.groups()
        assert len(groups) == 2, run.transcript()  # try's own, and the proxy's
        plain, *pinned, streamed = run.curls()
        assert answer(plain).startswith("hello from ")
        if any(d.node for d in mesh.deployments):
            (pin,) = pinned
            fields = request_fields(pin)
            node, model = str(fields["node"]), mesh.model(str(fields["model"]))
            expected = f"hello from {node} ({model.source})"
            assert [answer(pin) for _ in range(PINNED_TIMES)] == [expected] * PINNED_TIMES
        else:
            assert pinned == []  # a mesh of hosted providers only has no node to pin
        events = [line for line in ask(streamed).splitlines() if line.startswith("data: ")]
        assert events[-1] == "data: [DONE]" and len(events) > 2, events
        (doctor,) = [line.strip() for line in run.out if "jarvis-config doctor" in line]
        assert "the mesh runs as configured" in ask(doctor)  # the stand-ins list their models
        took = run.stop(signal.SIGINT)
        assert run.process.returncode == 130, run.transcript()
        assert took < 10
        assert [g for g in groups if group_alive(g)] == []


@pytest.mark.e2e
def test_try_stops_on_sigterm_while_the_proxy_starts_leaving_nothing() -> None:
    with TryRun.start(str(HOMELAB), "--port", str(free_ports(1))) as run:
        run.wait_for_child(60)
        groups = run.groups()
        assert len(groups) == 2, run.transcript()
        took = run.stop(signal.SIGTERM)
        assert run.process.returncode == 0, run.transcript()
        assert took < 10
        assert [g for g in groups if group_alive(g)] == []
        assert "stopping 4 stand-ins" in run.err  # the proxy, stopped as it started


def test_a_port_in_use_is_named() -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        with TryRun.start(str(HOMELAB), "--port", str(port)) as run:
            run.process.wait(timeout=60)
    assert run.process.returncode == 1, run.transcript()
    assert run.err[-1] == (
        f"error: port {port} on 127.0.0.1 is in use; stop what listens there, or pass --port N"
    )


def test_without_the_proxy_one_line_says_how_to_get_it(tmp_path: Path) -> None:
    python = python_without_litellm(tmp_path / "venv")
    with TryRun.start(str(HOMELAB), python=python, PATH="/usr/bin:/bin") as run:
        run.process.wait(timeout=60)
    assert run.process.returncode == 2, run.transcript()
    assert (run.out, run.err) == ([], [f"error: {PROXY_MISSING}"])
    assert "pip install 'jarvis-config[proxy]'" in PROXY_MISSING


README_CURL = re.compile(r"^curl -s localhost:4000/v1/chat/completions .*$", re.MULTILINE)
README_KEY = "sk-try"


@pytest.mark.e2e
def test_the_readme_try_line_and_its_pinned_curl_work_as_written() -> None:
    """The README's try line sets the master key; its curl is answered by the pinned node."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"JARVIS_MASTER_KEY={README_KEY} .venv/bin/jarvis-config try examples/homelab" in readme
    (written,) = README_CURL.findall(readme)
    port = free_ports(1)
    env = {"JARVIS_MASTER_KEY": README_KEY}
    with TryRun.start(str(HOMELAB), "--port", str(port), **env) as run:
        run.wait_for(READY_LINE, START_TIMEOUT)
        assert "Key:     the value of $JARVIS_MASTER_KEY" in run.out
        assert all('"Authorization: Bearer $JARVIS_MASTER_KEY"' in c for c in run.curls())
        command = written.replace("localhost:4000", f"127.0.0.1:{port}")
        assert answer(command) == "hello from mini (llama3:8b)"
        assert answer(run.curls()[1], **env).startswith("hello from mini")
        run.stop(signal.SIGTERM)
        assert run.process.returncode == 0, run.transcript()


@pytest.mark.e2e
def test_live_sends_to_the_meshs_own_runtimes(tmp_path: Path) -> None:
    """--live starts no stand-ins: the mesh's runtimes (here the test's, on loopback) answer."""
    ports = two_node_ports()
    config = tmp_path / "jarvis.yaml"
    config.write_text(mesh_text(ports), encoding="utf-8")
    own = [
        StandIn("gpu1", flavor="ollama", port=ports["gpu1-ollama"]),
        StandIn("gpu1", flavor="openai", port=ports["gpu1-vllm"]),
        StandIn("cpu1", flavor="ollama", port=ports["cpu1-ollama"]),
    ]
    with fakes(*own), TryRun.start(str(config), "--port", str(free_ports(1)), "--live") as run:
        run.wait_for(READY_LINE, START_TIMEOUT)
        assert not any("stand-in for node" in line for line in run.err)
        _, pinned, _ = run.curls()
        assert request_fields(pinned)["node"] == "cpu1"
        assert answer(pinned) == "hello from cpu1"  # the runtime's own answer, no model named
        asked = [r["body"] for r in own[2].requests() if isinstance(r["body"], dict)]
        assert any(b.get("messages", [{}])[-1].get("content") == "Hello" for b in asked)
        run.stop(signal.SIGINT)
        assert run.process.returncode == 130
