"""Real-engine harness: the rendered Swarm stack deployed on a single-node swarm.

`single_node_swarm()` makes the local engine a swarm manager with `docker swarm init
--advertise-addr 127.0.0.1` and leaves the swarm afterwards; an engine that already is a
manager is reused and left as it was (only the labels the test added are removed). The node is
labelled the way docs/deploy.md tells operators to label theirs: the gateway label, and the
name and role labels of the one mesh node it stands in for.

`SwarmStack.deploy()` runs `docker stack deploy` with the rendered stack.yaml, changed only
where the test needs it: the services of the mesh node the machine stands in for run a fake
runtime in place of the real image (same placement, same host-mode ports); the other nodes'
services are scaled to 0 (one machine carries one `jarvis.node` label); the gateway reaches
the fakes (`fake-<node>`, as in the compose tests) on the stack's overlay network; where the
kernel has no IPVS (see `routing_mesh_available`) the gateway port is published in host mode
and the fakes are found by DNS round robin instead of a virtual IP.
`docker stack rm` runs on the way out, whatever happened, and waits until nothing of the
stack is left.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jarvis_config.model.mesh import Mesh, Node
from jarvis_config.render.compose import DATABASE_LABEL, GATEWAY_LABEL, NODE_LABEL, ROLE_LABEL
from tests.docker.stack import fake_service, fake_services, read_env

STACK_FILE = "compose/swarm/stack.yaml"
STACK_LABEL = "com.docker.stack.namespace"
DEPLOY_TIMEOUT = 240.0
REMOVE_TIMEOUT = 60.0
Adjust = Callable[[dict[str, Any]], dict[str, Any]]  # the test's stack, changed further


def docker(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=cwd,
        timeout=180,
    )
    if result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


@dataclass
class Swarm:
    node_id: str
    created: bool  # by us: we leave it afterwards


@contextlib.contextmanager
def single_node_swarm(engine: Any) -> Iterator[Swarm]:
    swarm = engine.info().get("Swarm", {})
    state = swarm.get("LocalNodeState")
    if state == "active" and not swarm.get("ControlAvailable"):
        raise RuntimeError("this engine is a swarm worker; the test needs a manager")
    created = state != "active"
    if created:
        docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    try:
        yield Swarm(engine.info()["Swarm"]["NodeID"], created)
    finally:
        if created:
            docker("swarm", "leave", "--force")


@contextlib.contextmanager
def node_labels(swarm: Swarm, node: Node) -> Iterator[list[str]]:
    """Label the machine as the gateway's and as mesh node `node` (its name and roles)."""
    labels = [f"{GATEWAY_LABEL}=true", f"{DATABASE_LABEL}=true", f"{NODE_LABEL}={node.name}"]
    labels += [f"{ROLE_LABEL.format(role=role)}=true" for role in node.roles]
    docker(
        "node", "update", *(a for label in labels for a in ("--label-add", label)), swarm.node_id
    )
    try:
        yield labels
    finally:
        keys = [label.split("=", 1)[0] for label in labels]
        docker("node", "update", *(a for key in keys for a in ("--label-rm", key)), swarm.node_id)


def for_test(mesh: Mesh, stack: dict[str, Any], here: Node) -> dict[str, Any]:
    """The rendered stack as the test deploys it (see the module docstring). Written out as a
    whole file: `docker stack deploy -c A -c B` appends lists such as a healthcheck's test."""
    services: dict[str, Any] = {}
    for name, service in stack["services"].items():
        node = next((n for n in mesh.nodes if name.startswith(f"{n.name}-")), None)
        if node is not None and node.name != here.name:
            service["deploy"]["replicas"] = 0
        elif node is not None and service["deploy"]["restart_policy"]["condition"] == "on-failure":
            service.update(image=fake_service(here.name, {})["image"], command=["true"])
        elif node is not None:
            target = service["ports"][0]["target"]
            flavor = "ollama" if name.endswith("-ollama") else "openai"
            fake = fake_service(here.name, {target: flavor})
            service.update(image=fake["image"], command=fake["command"])
            service["healthcheck"]["test"] = fake["healthcheck"]["test"]
            service["volumes"] = [*service.get("volumes", []), *fake["volumes"]]
        services[name] = service
    fakes = fake_services(mesh)
    if not routing_mesh_available():
        for port in stack["services"]["gateway"]["ports"]:
            port["mode"] = "host"
        for fake in fakes.values():  # reached by their containers' addresses, not a VIP
            fake["deploy"] = {"endpoint_mode": "dnsrr"}
    return {**stack, "services": {**services, **fakes}}


def routing_mesh_available() -> bool:
    """Swarm's ingress routing mesh and its service VIPs are built on the kernel's IPVS;
    without it (a kernel or container without the ip_vs module) neither a port published in
    ingress mode nor a service's VIP answers. The test then publishes the gateway in host mode
    and lets the gateway find the fakes by DNS round robin, which a single node serves alike."""
    return Path("/proc/net/ip_vs").exists()


class SwarmStack:
    def __init__(
        self, engine: Any, out: Path, mesh: Mesh, here: Node, adjust: Adjust | None = None
    ) -> None:
        self.engine = engine
        self.out = out
        self.mesh = mesh
        self.here = here
        self.adjust = adjust
        self.name = "jarvisswarm" + secrets.token_hex(3)
        # Beside the rendered file, so its relative paths (the litellm/ configs) resolve alike.
        self.file = out / "compose" / "swarm" / "test-stack.yaml"

    @classmethod
    @contextlib.contextmanager
    def deploy(
        cls, engine: Any, out: Path, mesh: Mesh, here: Node, adjust: Adjust | None = None
    ) -> Iterator[SwarmStack]:
        """The stack deployed; `adjust` changes the test's stack further before it is."""
        stack = cls(engine, out, mesh, here, adjust)
        try:
            stack.redeploy()
            yield stack
        finally:
            stack.remove()

    def redeploy(self) -> None:
        """`docker stack deploy` with the rendered stack as it is in OUT now (after a rebuild:
        an update of the services whose spec changed)."""
        rendered = yaml.safe_load((self.out / STACK_FILE).read_text(encoding="utf-8"))
        stack = for_test(self.mesh, rendered, self.here)
        if self.adjust is not None:
            stack = self.adjust(stack)
        self.file.write_text(yaml.safe_dump(stack, sort_keys=True))
        # `docker stack deploy` reads no env file: the variables come from its environment.
        env = {**os.environ, **read_env(self.out / ".env")}
        file = str(self.file.relative_to(self.out))
        docker(
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "-c",
            file,
            self.name,
            env=env,
            cwd=self.out,
        )

    def network(self) -> str:
        """The stack's own overlay network (`<stack>_default`)."""
        return f"{self.name}_default"

    def service(self, name: str) -> Any:
        return self.engine.services.get(f"{self.name}_{name}")

    def services(self) -> list[Any]:
        return list(self.engine.services.list(filters={"label": f"{STACK_LABEL}={self.name}"}))

    def wait_running(self, timeout: float = DEPLOY_TIMEOUT) -> dict[str, str]:
        """Until every service runs as many healthy tasks as it wants (one-shot ones have
        completed); returns service -> state of its tasks."""
        deadline = time.monotonic() + timeout
        while True:
            states = {s.name.removeprefix(f"{self.name}_"): _state(s) for s in self.services()}
            if states and all(
                state in ("running", "complete", "scaled to 0") for state in states.values()
            ):
                return states
            if time.monotonic() > deadline:
                raise AssertionError(f"stack not running: {states}\n{self.logs()}")
            time.sleep(2)

    def logs(self, tail: int = 30) -> str:
        parts = []
        for service in self.services():
            text = b"".join(service.logs(stdout=True, stderr=True, tail=tail))
            parts.append(f"--- {service.name}\n{text.decode(errors='replace')}")
        return "\n".join(parts)

    def remove(self) -> None:
        """`docker stack rm`, then wait for its containers and networks to be gone."""
        docker("stack", "rm", self.name)
        deadline = time.monotonic() + REMOVE_TIMEOUT
        while any(self.leftovers().values()) and time.monotonic() < deadline:
            time.sleep(1)

    def leftovers(self) -> dict[str, list[str]]:
        label = {"label": f"{STACK_LABEL}={self.name}"}
        return {
            "services": [s.name for s in self.engine.services.list(filters=label)],
            "containers": [
                c["Id"][:12] for c in self.engine.api.containers(all=True, filters=label)
            ],
            "networks": [n.name for n in self.engine.networks.list(filters=label)],
            "configs": [c.name for c in self.engine.configs.list(filters=label)],
        }


def _state(service: Any) -> str:
    mode = service.attrs["Spec"]["Mode"]
    wanted = mode.get("Replicated", {}).get("Replicas", 1)
    if wanted == 0:
        return "scaled to 0"
    tasks = service.tasks(filters={"desired-state": "running"})
    states = {t["Status"]["State"] for t in tasks}
    if not tasks:
        shutdown = {t["Status"]["State"] for t in service.tasks()}
        return "complete" if "complete" in shutdown else "pending"
    return states.pop() if len(states) == 1 and len(tasks) >= wanted else "starting"
