"""A config rollout on the running HA gateway stack drops nothing: real engine, real traffic.

Two proxies behind nginx sharing Redis, fake runtimes whose answers take a few seconds, the
openai SDK (no retries) sending about 10 requests per second through the published port, a
fifth of them streamed. Meanwhile the mesh gains an alias, OUT is rebuilt in place, and the
rollout runs exactly as docs/deploy.md says, from OUT:

    sh compose/gateway/rollout.sh ../jarvis.env

Every request must succeed; each old proxy must have had requests in flight when it was
stopped (uvicorn logs that it waits for them) and finished them; afterwards both proxies serve
the new alias from the new files. The env file and the fakes' override sit beside OUT, where
a rebuild leaves them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from jarvis_config.render.compose import FILES_LABEL, ROLLOUT_FILE
from tests.docker.stack import ComposeProject, container_copy, fake_services, write_env
from tests.e2e.harness import build

pytestmark = [pytest.mark.docker, pytest.mark.slow]

GATEWAY_FILE = "compose/gateway/compose.yaml"
PROXIES = ("litellm-1", "litellm-2")
RATE = 10.0  # requests per second
STREAM_EVERY = 5  # every fifth request is streamed
TOKEN_DELAY = 0.75  # seconds between streamed chunks: a stream takes about 4 s, an answer 3 s
WARM_UP, COOL_DOWN = 4.0, 3.0  # seconds of traffic before and after the rollout
ROLLOUT_TIMEOUT = 240
DRAINING = "Waiting for connections to close"  # uvicorn, when requests are in flight at SIGTERM
MODEL = "general"
MESH = {
    "version": 1,
    "gateway": {"port": 4000, "master_key": "${JARVIS_MASTER_KEY}", "replicas": 2},
    "nodes": {
        name: {"address": f"{name}.internal", "runtimes": {"vllm": {"port": 8000}}}
        for name in ("inference-1", "inference-2")
    },
    "models": {
        # A name LiteLLM has no Hugging Face tokenizer for: for Llama models it downloads one
        # when it counts tokens, and offline each try blocks the proxy for seconds.
        MODEL: {
            "runtime": "vllm",
            "source": "example/general-7b",
            "context_window": 8192,
            "placement": {"nodes": ["inference-1", "inference-2"]},
        }
    },
    "aliases": {"chat": MODEL},
}
NEW_ALIAS = "rolled"
ANSWERS = {"hello from inference-1", "hello from inference-2"}


@dataclass(frozen=True)
class Outcome:
    streamed: bool
    error: str | None


class Traffic:
    """About RATE requests per second from a pool of threads until stopped."""

    def __init__(self, client: Any, model: str) -> None:
        self.client = client
        self.model = model
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def _send(self) -> None:
        with ThreadPoolExecutor(max_workers=100) as pool:
            index, next_at = 0, time.monotonic()
            while not self._stop.is_set():
                pool.submit(self._one, index % STREAM_EVERY == 0, index)
                index += 1
                next_at += 1 / RATE
                time.sleep(max(0.0, next_at - time.monotonic()))

    def _one(self, streamed: bool, index: int) -> None:
        messages = [{"role": "user", "content": f"request {index}"}]
        try:
            if streamed:
                stream = self.client.chat.completions.create(
                    model=self.model, messages=messages, stream=True
                )
                text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            else:
                reply = self.client.chat.completions.create(model=self.model, messages=messages)
                text = reply.choices[0].message.content or ""
            error = None if text in ANSWERS else f"unexpected answer {text!r}"
        except Exception as exc:  # every failure counts, whatever its kind
            error = f"{type(exc).__name__}: {exc}"
        self.outcomes.append(Outcome(streamed, error))


class LogFollower:
    """Everything a container logs until it is removed (the rollout removes the old proxies)."""

    def __init__(self, container: Any) -> None:
        self.lines: list[str] = []
        stream = container.logs(stream=True, follow=True, since=int(time.time()))
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Iterator[bytes]) -> None:
        for chunk in stream:
            self.lines.append(chunk.decode(errors="replace"))

    def text(self) -> str:
        self._thread.join(timeout=5)
        return "".join(self.lines)


def gateway_client(port: int, key: str) -> Any:
    import openai

    return openai.OpenAI(
        base_url=f"http://127.0.0.1:{port}", api_key=key, max_retries=0, timeout=60
    )


def served_models(project: ComposeProject, service: str, port: int, key: str) -> str:
    """The model list one proxy serves, asked inside its own container."""
    probe = (
        "import urllib.request; "
        f"r = urllib.request.Request('http://127.0.0.1:{port}/v1/models', "
        f"headers={{'Authorization': 'Bearer {key}'}}); "
        "print(urllib.request.urlopen(r, timeout=10).read().decode())"
    )
    result = project.container(service).exec_run(["python3", "-c", probe])
    assert result.exit_code == 0, result.output.decode(errors="replace")
    return str(result.output.decode())


def run_rollout(out: Path, project: ComposeProject) -> tuple[int, str]:
    """The docs' command, from OUT, in the test's compose project; (exit code, its output,
    each line with the seconds since the start). Killed with its compose children when it
    takes too long."""
    started = time.monotonic()
    with subprocess.Popen(
        ["sh", ROLLOUT_FILE, "../jarvis.env"],
        cwd=out,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "COMPOSE_PROJECT_NAME": project.name},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        watchdog = threading.Timer(ROLLOUT_TIMEOUT, os.killpg, (process.pid, signal.SIGKILL))
        watchdog.start()
        assert process.stdout is not None
        lines = [f"{time.monotonic() - started:6.1f} {line}" for line in process.stdout]
        watchdog.cancel()
        return process.wait(), "".join(lines)


@pytest.mark.usefixtures("local_images")
def test_a_rollout_onto_a_rebuilt_out_drops_no_request(engine: Any, tmp_path: Path) -> None:
    source = tmp_path / "source" / "jarvis.yaml"
    source.parent.mkdir()
    source.write_text(yaml.safe_dump(MESH, sort_keys=False), encoding="utf-8")
    copy = container_copy(source, tmp_path / "mesh")
    out = build(copy.path, tmp_path / "out", copy.env)
    write_env(out, copy.env, tmp_path / "jarvis.env")
    fakes = fake_services(copy.mesh, token_delay=TOKEN_DELAY)
    with ComposeProject.up(engine, out, GATEWAY_FILE, fakes, beside=tmp_path) as project:
        project.wait_healthy()
        old = {name: project.container(name) for name in PROXIES}
        for name in PROXIES:
            assert NEW_ALIAS not in served_models(project, name, copy.port, copy.master_key)

        add_alias(copy.path / "jarvis.yaml", NEW_ALIAS)
        build(copy.path, out, copy.env)  # the same OUT, under the running stack
        followers = {name: LogFollower(container) for name, container in old.items()}
        with gateway_client(copy.port, copy.master_key) as client:
            with Traffic(client, MODEL) as traffic:
                time.sleep(WARM_UP)
                code, output = run_rollout(out, project)
                time.sleep(COOL_DOWN)
            logs = {name: follower.text() for name, follower in followers.items()}
            old_logs = "".join(f"--- old {n}\n{t[-3000:]}" for n, t in logs.items())
            assert code == 0, output + old_logs + project.logs(tail=40)
            new_answer = client.chat.completions.create(
                model=NEW_ALIAS, messages=[{"role": "user", "content": "hi"}]
            )

        failed = [o.error for o in traffic.outcomes if o.error]
        assert failed == [], f"{len(failed)} of {len(traffic.outcomes)} failed: {failed[:5]}"
        streams = sum(o.streamed for o in traffic.outcomes)
        assert len(traffic.outcomes) >= 200 and streams >= 40, (len(traffic.outcomes), streams)
        for name, container in old.items():
            log = logs[name]
            assert DRAINING in log, f"{name} had nothing in flight when stopped:\n{log[-2000:]}"
            fresh = project.container(name)
            assert fresh.id != container.id
            assert fresh.labels[FILES_LABEL] != container.labels[FILES_LABEL]
            assert NEW_ALIAS in served_models(project, name, copy.port, copy.master_key)
        assert new_answer.choices[0].message.content in ANSWERS
    assert project.leftovers() == {"containers": [], "networks": [], "volumes": []}


def add_alias(config: Path, alias: str) -> None:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["aliases"][alias] = MODEL
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
