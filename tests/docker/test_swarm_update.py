"""A config rollout on a real single-node swarm: the update completes and drops nothing.

The homelab stack is deployed as in test_swarm_stack.py. Then, with traffic flowing (10 chat
completions a second and a stream of about 12 s every 3 s, sent without retries by the openai
SDK from a container on the stack's network, tests/docker/rollout_traffic.py), a model is added
to the mesh, the output rebuilt and `docker stack deploy` run again, as docs/deploy.md says.
The gateway's swarm configs are named by content, so the redeploy updates the gateway service:
start-first, the new task healthy before the old one is stopped; the old task leaves the
service's DNS, gets SIGTERM and drains the streams it has in flight.

The ingress routing mesh needs IPVS, which the test machines lack: the gateway publishes no
port during the test (a host-mode port cannot be held by the old and the new task on one
machine at once) and is found by DNS round robin (`endpoint_mode: dnsrr`) on the stack's
network, which the test makes attachable for its client. Everything is removed afterwards,
failed or not.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.docker.stack import ContainerCopy, fake_host, read_env, write_env
from tests.docker.swarm import SwarmStack, node_labels, single_node_swarm
from tests.docker.test_swarm_stack import HERE, swarm_copy
from tests.e2e.harness import build

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TRAFFIC_SCRIPT = Path(__file__).with_name("rollout_traffic.py")
STREAM_NODE = "mini"  # must match rollout_traffic.py
STREAM_DELAY = 4.0  # seconds between two chunks of the slow fake: a stream takes about 12 s
NEW_MODEL = "gpt-4o-mini"
UPDATE_TIMEOUT = 150.0
BEFORE_UPDATE = 4.0  # seconds of traffic (and a stream in flight) on the old task alone
AFTER_UPDATE = 2.0  # seconds of traffic on the new task alone


def reachable_without_ipvs(stack: dict[str, Any]) -> dict[str, Any]:
    """The test's stack: the gateway without a published port, found by DNS round robin on
    an attachable network; the streaming node's fake slowed down."""
    gateway = stack["services"]["gateway"]
    gateway.pop("ports", None)
    gateway["deploy"]["endpoint_mode"] = "dnsrr"
    fake = stack["services"][fake_host(STREAM_NODE)]
    shell, flag, script = fake["command"]
    slowed = script.replace("standin.py ", f"standin.py --stream-delay {STREAM_DELAY} ")
    fake["command"] = [shell, flag, slowed]
    return {**stack, "networks": {"default": {"attachable": True}}}


def add_model(copy: ContainerCopy, out: Path) -> None:
    """A hosted model more in the mesh, the output rebuilt (the env file kept)."""
    config = copy.path / "jarvis.yaml"
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["models"][NEW_MODEL] = {
        "category": "general",
        "description": "OpenAI GPT-4o mini, hosted.",
        "provider": "openai",
        "source": NEW_MODEL,
    }
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    env = read_env(out / ".env")
    build(copy.path, out, copy.env)
    write_env(out, env)


@dataclass(frozen=True)
class Task:
    container: str
    address: str


def gateway_task(stack: SwarmStack) -> Task:
    (task,) = stack.service("gateway").tasks(filters={"desired-state": "running"})
    (attachment,) = [
        a for a in task["NetworksAttachments"] if a["Network"]["Spec"]["Name"] == stack.network()
    ]
    address = attachment["Addresses"][0].split("/")[0]
    return Task(task["Status"]["ContainerStatus"]["ContainerID"], address)


@contextlib.contextmanager
def traffic(engine: Any, stack: SwarmStack, copy: ContainerCopy) -> Iterator[Traffic]:
    """rollout_traffic.py running in a container on the stack's network, sending once it
    reaches the gateway; the container is removed on the way out, whatever happened."""
    image = stack.service("gateway").attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    container = engine.containers.run(
        image.split("@")[0],
        entrypoint=["python3", "/traffic.py", "tasks.gateway", str(copy.port)],
        environment={"JARVIS_KEY": copy.master_key},
        volumes={str(TRAFFIC_SCRIPT): {"bind": "/traffic.py", "mode": "ro"}},
        network=stack.network(),
        detach=True,
    )
    try:
        client = Traffic(container)
        client.wait_ready()
        yield client
    finally:
        container.remove(force=True)


@dataclass
class Traffic:
    container: Any

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until the client reaches the gateway and sends (its `ready` line)."""
        deadline = time.monotonic() + timeout
        while b'"kind": "ready"' not in self.container.logs(stdout=True, stderr=False):
            if time.monotonic() > deadline:
                raise AssertionError(f"the client never got ready:\n{self.container.logs()!r}")
            time.sleep(0.5)

    def stop(self) -> list[dict[str, Any]]:
        """Stop sending, wait for the requests in flight; every record it printed."""
        self.container.kill(signal="SIGTERM")
        self.container.wait(timeout=90)
        text = self.container.logs(stdout=True, stderr=False).decode()
        records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        return [r for r in records if r["kind"] != "ready"]


def wait_update(stack: SwarmStack, old: Task, timeout: float = UPDATE_TIMEOUT) -> str:
    """The gateway's update state once it has ended and the old task's container is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = stack.service("gateway").attrs.get("UpdateStatus", {})
        state = str(status.get("State", ""))
        if state not in ("", "updating") and not _running(stack, old.container):
            return state
        time.sleep(1)
    raise AssertionError(f"the update did not end in {timeout:.0f} s:\n{stack.logs()}")


def _running(stack: SwarmStack, container: str) -> bool:
    try:
        return bool(stack.engine.api.inspect_container(container)["State"]["Running"])
    except Exception:  # removed: not running
        return False


@contextlib.contextmanager
def gateway_events(stack: SwarmStack) -> Iterator[dict[tuple[str, str], float]]:
    """(container, action) -> when (epoch seconds) the gateway's containers first did it, from
    the engine's event stream while the block runs (the engine keeps too few past events to
    ask afterwards: every healthcheck run is three)."""
    found: dict[tuple[str, str], float] = {}
    label = f"com.docker.swarm.service.name={stack.name}_gateway"
    stream = stack.engine.events(decode=True, filters={"type": "container", "label": label})

    def record() -> None:
        with contextlib.suppress(Exception):  # the stream ends when it is closed
            for event in stream:
                found.setdefault((event["id"], event["Action"]), event["timeNano"] / 1e9)

    reader = threading.Thread(target=record, daemon=True)
    reader.start()
    try:
        yield found
    finally:
        stream.close()
        reader.join(timeout=10)


@pytest.mark.usefixtures("local_images")
def test_a_config_rollout_completes_drains_the_old_task_and_drops_nothing(
    engine: Any, tmp_path: Path
) -> None:
    copy, out = swarm_copy(tmp_path)
    here = copy.mesh.node(HERE)
    with single_node_swarm(engine) as swarm, node_labels(swarm, here):
        with SwarmStack.deploy(engine, out, copy.mesh, here, reachable_without_ipvs) as stack:
            stack.wait_running()
            old = gateway_task(stack)
            with traffic(engine, stack, copy) as client, gateway_events(stack) as events:
                time.sleep(BEFORE_UPDATE)
                add_model(copy, out)
                stack.redeploy()
                state = wait_update(stack, old)
                exit_code = engine.api.inspect_container(old.container)["State"]["ExitCode"]
                new = gateway_task(stack)
                time.sleep(AFTER_UPDATE)
                records = client.stop()
        assert not any(stack.leftovers().values())
    # what was measured, for a reader of a failure (and of docs/deploy.md's figures)
    measured = {
        "exit_code": exit_code,
        "old": old.__dict__,
        "new": new.__dict__,
        "events": sorted([c[:12], action[:30], at] for (c, action), at in events.items()),
        "records": records,
    }
    (tmp_path / "rollout.json").write_text(json.dumps(measured, indent=1), encoding="utf-8")
    assert state == "completed"
    requests = [r for r in records if r["kind"] in ("chat", "stream")]
    failed = [r for r in requests if "error" in r or not r.get("text")]
    assert not failed, [
        (r["kind"], r.get("address"), r.get("error") or r.get("text")) for r in failed
    ]
    # start-first: the new task was healthy before the old one was told to stop
    assert (new.container, "health_status: healthy") in events, events
    healthy = events[new.container, "health_status: healthy"]
    stopped = events[old.container, "kill"]
    assert healthy < stopped
    # the old task drained: a stream it was serving when SIGTERM came finished whole
    drained = [
        r
        for r in requests
        if r["kind"] == "stream" and r["address"] == old.address and r["start"] < stopped < r["end"]
    ]
    assert drained and all(r["text"] == f"hello from {STREAM_NODE}" for r in drained)
    assert events[old.container, "die"] >= max(r["end"] for r in drained)
    assert exit_code == 0  # it exited on its own, not killed at the end of its grace period
    # the new config is served, by the new task alone
    (served,) = [r for r in records if r["kind"] == "models"]
    assert served["address"] == new.address != old.address
    assert NEW_MODEL in served["models"]
    assert len(requests) >= 10 * (BEFORE_UPDATE + AFTER_UPDATE)
