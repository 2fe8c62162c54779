"""Real-engine harness: a rendered compose stack brought up in Docker against fake runtimes.

The stack runs exactly as rendered (its own bridge network, the published gateway port,
Redis and nginx found by service name). The example is first rewritten so that every node's
address is the name of a fake-runtime container in the same compose project (the fakes are
jarvis_config/standin.py run on its own by the local Debian image), and every hosted provider points
at a fake too. The test talks to the published port on 127.0.0.1; the gateway talks only to
the test's own containers. Nothing leaves the machine.

    copy = container_copy(EXAMPLES_DIR / "homelab", tmp / "mesh")
    out = build(copy.path, tmp / "out", copy.env)
    with ComposeProject.up(engine, out, "compose/gateway/compose.yaml", fakes) as project:
        project.wait_healthy()
        ...
    # afterwards: project.leftovers() is empty
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from jarvis_config import pipeline, standin
from jarvis_config.load import YAML_SUFFIXES
from jarvis_config.model.mesh import Mesh
from tests.docker.images import BASE_IMAGE
from tests.e2e.harness import free_ports, point_provider_at

STANDIN_SCRIPT = Path(standin.__file__).resolve()
PROVIDER_PORT = 9000
PROJECT_LABEL = "com.docker.compose.project"
HEALTH_TIMEOUT = 240.0


def fake_host(name: str) -> str:
    return f"fake-{name}"


@dataclass
class ContainerCopy:
    """An example rewritten so its nodes and providers are fake containers of the project."""

    path: Path
    mesh: Mesh
    env: dict[str, str]

    @property
    def master_key(self) -> str:
        ref = self.mesh.gateway.master_key
        return self.env[ref.var] if ref else ""

    @property
    def port(self) -> int:
        return self.mesh.gateway.port


def container_copy(
    example: Path, dest: Path, *, database: bool = False, free_runtime_ports: bool = False
) -> ContainerCopy:
    """Copy `example` to `dest`; nodes become `fake-<node>` hosts, providers `fake-<name>`,
    the gateway gets a free port on this machine (and, with `free_runtime_ports`, so does
    every runtime, for stacks that publish them on the machine itself)."""
    if example.is_dir():
        shutil.copytree(example, dest)
    else:
        dest.mkdir(parents=True)
        shutil.copy(example, dest / example.name)
    for file in sorted(p for p in dest.rglob("*") if p.suffix in YAML_SUFFIXES):
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            _rewrite(data, database, free_runtime_ports)
            file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    mesh = _compile(dest, {})
    env = {var: f"sk-fake-{var.lower()}" for var in mesh.referenced_env_vars}
    if mesh.gateway.master_key is not None:
        env[mesh.gateway.master_key.var] = "sk-master-" + secrets.token_hex(8)
    return ContainerCopy(dest, _compile(dest, env), env)


def _rewrite(data: dict[str, Any], database: bool, runtime_ports: bool) -> None:
    for name, node in (data.get("nodes") or {}).items():
        node["address"] = fake_host(name)
        for kind, runtime in (node.get("runtimes") or {}).items() if runtime_ports else ():
            # A block of ten: vLLM and llama.cpp count up from the runtime's port per model.
            node["runtimes"][kind] = {**(runtime or {}), "port": free_ports(10)}
    for name, provider in (data.get("providers") or {}).items():
        point_provider_at(provider, f"http://{fake_host(name)}:{PROVIDER_PORT}/v1")
    gateway = data.get("gateway")
    if isinstance(gateway, dict):
        gateway["port"] = free_ports(1)
        gateway["database"] = database


def _compile(path: Path, env: dict[str, str]) -> Mesh:
    compiled = pipeline.compile_config(path, environ=env)
    if compiled.mesh is None:
        raise ValueError(f"{path} does not compile: {compiled.problems}")
    return compiled.mesh


def proxies_logging_requests(compose_path: Path) -> dict[str, Any]:
    """Override entries that raise the rendered proxies' log level (LITELLM_LOG=ERROR, as
    LiteLLM advises for production) to INFO: the tests read uvicorn's access log (which proxy
    served) and its drain messages, which ERROR leaves out."""
    rendered = yaml.safe_load(compose_path.read_text(encoding="utf-8"))
    return {
        name: {"environment": {"LITELLM_LOG": "INFO"}}
        for name in rendered.get("services", {})
        if name.startswith("litellm")
    }


def fake_services(mesh: Mesh, token_delay: float = 0.0) -> dict[str, Any]:
    """Compose services for the fakes: one container per node or provider, one fake process
    per runtime port it serves, each answering "hello from <node>" (`token_delay` seconds
    between streamed chunks; a whole answer takes as long as its chunks would)."""
    ports: dict[str, dict[int, str]] = {}
    for deployment in mesh.deployments:
        split = urlsplit(deployment.api_base or "")
        name = deployment.node or str(deployment.provider)
        flavor = "ollama" if deployment.runtime == "ollama" else "openai"
        if split.port is not None:
            ports.setdefault(name, {})[split.port] = flavor
    return {
        fake_host(name): fake_service(name, served, token_delay)
        for name, served in sorted(ports.items())
    }


def fake_service(name: str, ports: dict[int, str], token_delay: float = 0.0) -> dict[str, Any]:
    options = ["--token-delay", str(token_delay)] if token_delay else []
    runs = [
        "python3 /standin/standin.py --host 0.0.0.0 "
        + shlex.join(["--name", name, "--port", str(port), "--flavor", flavor, *options])
        + " &"
        for port, flavor in sorted(ports.items())
    ]
    probe = "; ".join(
        f"socket.create_connection(('127.0.0.1', {port}), 2)" for port in sorted(ports)
    )
    return {
        "image": BASE_IMAGE,
        "command": ["sh", "-c", " ".join(runs) + " wait"],
        "volumes": [f"{STANDIN_SCRIPT}:/standin/standin.py:ro"],
        "healthcheck": {
            "test": ["CMD", "python3", "-c", f"import socket; {probe}"],
            "interval": "1s",
            "timeout": "3s",
            "retries": 30,
        },
    }


def write_env(out: Path, env: dict[str, str], path: Path | None = None) -> Path:
    """`path` (default OUT/.env) from OUT/.env.example: the mesh's fake secrets, fresh
    passwords for the rest."""
    lines = []
    for line in (out / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and line.endswith("="):
            name = line[:-1]
            lines.append(f"{name}={env.get(name) or secrets.token_hex(12)}")
    path = out / ".env" if path is None else path
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_env(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    )
    return {name: value for name, value in pairs}


class ComposeProject:
    """One `docker-compose` project: the rendered file plus the fakes' override.

    By default the env file (OUT/.env) and the override sit in OUT; with `beside`, a folder
    outside OUT, both sit there instead (`jarvis.env`), as they must when OUT is rebuilt
    under the running project (a build replaces OUT whole)."""

    def __init__(
        self,
        client: Any,
        out: Path,
        compose_file: str,
        fakes: dict[str, Any],
        *,
        beside: Path | None = None,
    ) -> None:
        self.out = out
        self.name = "jarvistest" + secrets.token_hex(4)
        self.client = client
        folder = out / Path(compose_file).parent if beside is None else beside
        override = folder / "test-fakes.yaml"
        services = {**fakes, **proxies_logging_requests(out / compose_file)}
        override.write_text(yaml.safe_dump({"services": services}, sort_keys=True))
        self.env_file = out / ".env" if beside is None else beside / "jarvis.env"
        self.files = [compose_file, os.path.relpath(override, out)]

    @classmethod
    @contextlib.contextmanager
    def up(
        cls,
        client: Any,
        out: Path,
        compose_file: str,
        fakes: dict[str, Any],
        *,
        beside: Path | None = None,
    ) -> Iterator[ComposeProject]:
        project = cls(client, out, compose_file, fakes, beside=beside)
        try:
            project.compose("up", "-d")
            yield project
        finally:
            project.down()

    def compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        files = [arg for file in self.files for arg in ("-f", file)]
        # Variables in the caller's environment would win over the env file: pass the file's.
        env = {**os.environ, **read_env(self.env_file)}
        env_file = os.path.relpath(self.env_file, self.out)
        command = ["docker-compose", "--ansi", "never", "-p", self.name, "--env-file", env_file]
        result = subprocess.run(
            [*command, *files, *args],
            cwd=self.out,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"docker-compose {' '.join(args)} failed:\n{result.stderr}")
        return result

    def containers(self) -> list[Any]:
        return list(
            self.client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={self.name}"})
        )

    def container(self, service: str) -> Any:
        found = [
            c for c in self.containers() if c.labels.get("com.docker.compose.service") == service
        ]
        assert len(found) == 1, f"expected one container for {service}, found {len(found)}"
        return found[0]

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT) -> dict[str, str]:
        """Wait until every container with a healthcheck reports healthy; returns the states."""
        deadline = time.monotonic() + timeout
        while True:
            states = {c.labels["com.docker.compose.service"]: _health(c) for c in self.containers()}
            if states and all(state in ("healthy", "none") for state in states.values()):
                return states
            if time.monotonic() > deadline or "exited" in states.values():
                raise AssertionError(f"stack not healthy: {states}\n{self.logs()}")
            time.sleep(1)

    def logs(self, tail: int = 30) -> str:
        return "\n".join(
            f"--- {c.name}\n{c.logs(tail=tail).decode(errors='replace')}" for c in self.containers()
        )

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "10")

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, networks and volumes of this project that still exist."""
        label = {"label": f"{PROJECT_LABEL}={self.name}"}
        return {
            "containers": [c.name for c in self.client.containers.list(all=True, filters=label)],
            "networks": [n.name for n in self.client.networks.list(filters=label)],
            "volumes": [v.name for v in self.client.volumes.list(filters=label)],
        }


def _health(container: Any) -> str:
    container.reload()
    state = container.attrs["State"]
    if state["Status"] == "exited":
        return "exited"
    return str(state.get("Health", {}).get("Status", "none"))
