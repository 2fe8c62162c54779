"""A gateway of several processes in every target: Redis for their shared router state whenever
there is more than one (workers x replicas), and CPU and memory that grow with the workers."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml

from jarvis_config.model.mesh import Mesh
from jarvis_config.render import render_text
from tests.kit import compile_mesh


def with_processes(workers: int, replicas: int) -> Mesh:
    mesh = compile_mesh("homelab")
    gateway = dataclasses.replace(mesh.gateway, workers=workers, replicas=replicas)
    return dataclasses.replace(mesh, gateway=gateway)


def rendered(mesh: Mesh) -> dict[str, Any]:
    files = render_text(mesh, ["litellm", "compose", "kubernetes"])
    gateway = [
        d for d in yaml.safe_load_all(files["kubernetes/gateway.yaml"]) if d["kind"] == "Deployment"
    ]
    return {
        "config": yaml.safe_load(files["litellm/config.yaml"]),
        "compose": yaml.safe_load(files["compose/gateway/compose.yaml"])["services"],
        "swarm": yaml.safe_load(files["compose/swarm/stack.yaml"])["services"],
        "kubernetes": gateway[0]["spec"]["template"]["spec"]["containers"][0],
        "files": files,
    }


@pytest.mark.parametrize(
    ("workers", "replicas", "shared"),
    [
        pytest.param(1, 1, False, id="one-process"),
        pytest.param(2, 1, True, id="two-workers"),
        pytest.param(1, 2, True, id="two-replicas"),
    ],
)
def test_redis_is_rendered_exactly_when_the_gateway_runs_several_processes(
    workers: int, replicas: int, *, shared: bool
) -> None:
    out = rendered(with_processes(workers, replicas))
    settings = out["config"]["router_settings"]
    assert ("redis_host" in settings) == shared
    assert ("redis" in out["compose"]) == shared
    assert ("redis" in out["swarm"]) == shared
    assert ("kubernetes/redis.yaml" in out["files"]) == shared
    assert ("REDIS_PASSWORD=" in out["files"][".env.example"]) == shared
    proxy = out["compose"]["litellm" if replicas == 1 else "litellm-1"]
    assert ("REDIS_HOST" in proxy["environment"]) == shared
    assert ("redis" in proxy.get("depends_on", {})) == shared
    kube_env = {entry["name"] for entry in out["kubernetes"]["env"]}
    assert ({"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"} <= kube_env) == shared


@pytest.mark.parametrize(
    ("workers", "cpus", "compose_memory", "kube_memory"),
    [
        pytest.param(1, ("1", "2"), "2G", ("1Gi", "2Gi"), id="one-worker"),
        pytest.param(2, ("2", "3"), "3G", ("1536Mi", "3Gi"), id="two-workers"),
        pytest.param(4, ("4", "5"), "5G", ("2560Mi", "5Gi"), id="four-workers"),
    ],
)
def test_cpu_and_memory_grow_with_the_workers(
    workers: int, cpus: tuple[str, str], compose_memory: str, kube_memory: tuple[str, str]
) -> None:
    out = rendered(with_processes(workers, 1))
    limits = {"cpus": cpus[1], "memory": compose_memory}
    assert out["compose"]["litellm"]["deploy"]["resources"]["limits"] == limits
    assert out["swarm"]["gateway"]["deploy"]["resources"]["limits"] == limits
    resources = out["kubernetes"]["resources"]
    assert resources["requests"] == {"cpu": cpus[0], "memory": kube_memory[0]}
    assert resources["limits"] == {"cpu": cpus[1], "memory": kube_memory[1]}
    command = out["compose"]["litellm"]["command"]
    assert command == out["kubernetes"]["args"]
    if workers > 1:
        assert command[command.index("--num_workers") + 1] == str(workers)
