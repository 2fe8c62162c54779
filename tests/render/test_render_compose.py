"""The `compose` target: the gateway, node and swarm stacks and .env.example, for every example.

Each rendered stack must pass Debian's `docker-compose config -q` and the compose-spec JSON
Schema, match the reviewed golden files (regenerate with `pytest --update-golden`, then read
the diff), publish what the gateway's config expects and nothing else, and keep every secret
a `${VAR}` reference listed in .env.example. The database mode is checked here by structure
only: LiteLLM needs Prisma engine binaries for it that cannot be fetched on these machines.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from jarvis_config import pipeline
from jarvis_config.model.catalog import (
    GATEWAY_START_BUSY_FACTOR,
    gateway_start_seconds,
)
from jarvis_config.model.mesh import Mesh, build_mesh, serving_ports
from jarvis_config.model.processes import processes
from jarvis_config.model.servers import LOCAL_RUNTIMES, gpu_memory_share
from jarvis_config.render import compose, litellm, render_text
from jarvis_config.render.envfile import required_ref, stack_env_vars
from jarvis_config.write import write_tree
from tests.kit import ROOT, check_golden, compile_mesh, example_params

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")
COMPOSE_HINT = "Debian's docker-compose is not installed (apt-get install docker-compose)"


EXAMPLES = example_params()


def stack_files(files: dict[str, str]) -> list[str]:
    return sorted(
        name for name in files if name.endswith((".yaml", ".yml")) and name.startswith("compose/")
    )


def services(text: str) -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = yaml.safe_load(text)["services"]
    return loaded


@pytest.fixture(scope="module", params=EXAMPLES)
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Mesh, Path]]:
    """(example, mesh, OUT) with every target written and an env file made from the example."""
    example: Path = request.param
    mesh = compile_mesh(example)
    out = tmp_path_factory.mktemp(example.name) / "out"
    write_tree(out, pipeline.render(mesh))
    names = [
        line[:-1]
        for line in (out / ".env.example").read_text().splitlines()
        if line.endswith("=") and not line.startswith("#")
    ]
    (out / ".env").write_text(
        "".join(f"{name}={'/srv/models' if name.endswith('_DIR') else 'value'}\n" for name in names)
    )
    yield example, mesh, out


def docker_compose(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("docker-compose") is None:
        pytest.skip(COMPOSE_HINT)
    return subprocess.run(
        ["docker-compose", *args],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(out)},
    )


@pytest.mark.parametrize("example", EXAMPLES)
def test_rendered_files_match_the_golden_files(example: Path, update_golden: bool) -> None:
    files = render_text(compile_mesh(example), ["compose"])
    assert set(files) == {f for f in files if f.startswith("compose/")} | {".env.example"}
    check_golden(example.name, files, owns=("compose/*", ".env.example"), update=update_golden)


@pytest.mark.slow  # runs docker-compose on every stack of every example
def test_every_stack_passes_docker_compose_config(built: tuple[Path, Mesh, Path]) -> None:
    _, _, out = built
    for name in stack_files(written(out)):
        result = docker_compose(out, "--env-file", ".env", "-f", name, "config", "-q")
        assert result.returncode == 0, f"{name}:\n{result.stderr}"


def test_every_stack_matches_the_compose_spec_schema(built: tuple[Path, Mesh, Path]) -> None:
    _, _, out = built
    checker = Path(sys.executable).with_name("check-jsonschema")
    command = str(checker) if checker.exists() else shutil.which("check-jsonschema")
    assert command, "check-jsonschema is part of the test extra"
    names = stack_files(written(out))
    result = subprocess.run(
        [command, "--builtin-schema", "vendor.compose-spec", *names],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # runs docker-compose on every stack of every example
def test_a_stack_without_its_secrets_refuses_to_start(built: tuple[Path, Mesh, Path]) -> None:
    _, mesh, out = built
    if mesh.gateway.master_key is None:
        pytest.skip("this example has no master key")
    var = mesh.gateway.master_key.var
    (out / "empty.env").write_text("")
    result = docker_compose(
        out, "--env-file", "empty.env", "-f", "compose/gateway/compose.yaml", "config", "-q"
    )
    assert result.returncode != 0
    assert f"set {var} in the env file, see .env.example" in result.stderr


def written(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): "" for p in out.rglob("*") if p.is_file()}


@pytest.mark.parametrize("example", EXAMPLES)
def test_images_are_pinned_and_secrets_are_references(example: Path) -> None:
    mesh = compile_mesh(example)
    files = render_text(mesh, ["compose"])
    listed = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=$", files[".env.example"], re.MULTILINE))
    for name in stack_files(files):
        for service in services(files[name]).values():
            image = service["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image
        referenced = set(REFERENCE.findall(files[name]))
        assert referenced <= listed, f"{name} reads variables .env.example lacks"
    proxies = [
        s
        for name, s in services(files["compose/gateway/compose.yaml"]).items()
        if name.startswith("litellm")
    ]
    for var in mesh.referenced_env_vars:
        assert var in listed
        assert all(proxy["environment"][var] == required_ref(var) for proxy in proxies), var


@pytest.mark.parametrize("example", EXAMPLES)
def test_node_stacks_publish_exactly_the_ports_the_gateway_calls(example: Path) -> None:
    mesh = compile_mesh(example)
    files = render_text(mesh, ["compose"])
    for node in mesh.nodes:
        expected = {
            urlsplit(d.api_base or "").port
            for d in mesh.deployments
            if d.node == node.name and d.runtime in LOCAL_RUNTIMES
        }
        name = f"compose/nodes/{node.name}/compose.yaml"
        if name not in files:
            assert not expected, f"{node.name} serves {expected} but has no stack"
            continue
        published = {
            int(port.split(":")[0])
            for service in services(files[name]).values()
            for port in service.get("ports", [])
        }
        assert published == expected, node.name


@pytest.mark.parametrize("example", EXAMPLES)
def test_gateway_stack_matches_the_litellm_config(example: Path) -> None:
    """Redis and Postgres appear exactly when the proxy's config reads them, with the
    environment variables it reads them from."""
    mesh = compile_mesh(example)
    gateway = services(render_text(mesh, ["compose"])["compose/gateway/compose.yaml"])
    config = yaml.safe_load(litellm.render(mesh)["litellm/config.yaml"])
    proxies = {name: s for name, s in gateway.items() if name.startswith("litellm")}
    assert len(proxies) == mesh.gateway.replicas
    needed = {
        v.removeprefix("os.environ/")
        for v in _values(config)
        if isinstance(v, str) and v.startswith("os.environ/")
    }
    for proxy in proxies.values():
        assert needed <= set(proxy["environment"]), needed - set(proxy["environment"])
        assert proxy["volumes"] == ["../../litellm:/etc/litellm:ro"]
        assert proxy["healthcheck"]["test"][-1].endswith("/health/liveliness', timeout=4)")
    assert ("redis" in gateway) == (processes(mesh.gateway) > 1)
    assert ("postgres" in gateway) == mesh.gateway.database


def _values(data: Any) -> Iterator[Any]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _values(value)
    elif isinstance(data, list):
        for value in data:
            yield from _values(value)
    else:
        yield data


def test_the_database_stack_waits_for_a_healthy_postgres() -> None:
    mesh = compile_mesh(ROOT / "examples" / "ha-gateway")
    assert mesh.gateway.database and mesh.gateway.replicas == 2
    stack = yaml.safe_load(render_text(mesh, ["compose"])["compose/gateway/compose.yaml"])
    postgres = stack["services"]["postgres"]
    assert postgres["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert postgres["healthcheck"]["test"] == ["CMD-SHELL", "pg_isready -U litellm -d litellm"]
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "postgres-data" in stack["volumes"]
    for name in ("litellm-1", "litellm-2"):
        proxy = stack["services"][name]
        assert proxy["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert proxy["depends_on"]["redis"] == {"condition": "service_healthy"}
        assert proxy["environment"]["DATABASE_URL"].startswith(
            "postgresql://litellm:${POSTGRES_PASSWORD:?"
        )
        assert proxy["environment"]["DATABASE_URL"].endswith("}@postgres:5432/litellm")
    front = stack["services"]["gateway"]
    assert front["ports"] == [f"{mesh.gateway.port}:{mesh.gateway.port}"]
    assert set(front["depends_on"]) == {"litellm-1", "litellm-2"}


def test_the_swarm_stack_pins_node_services_and_replicates_the_gateway() -> None:
    mesh = compile_mesh(ROOT / "examples" / "homelab")
    files = render_text(mesh, ["compose"])
    stack = yaml.safe_load(files["compose/swarm/stack.yaml"])
    gateway = stack["services"]["gateway"]
    assert gateway["deploy"]["replicas"] == mesh.gateway.replicas
    assert gateway["deploy"]["placement"]["constraints"] == ["node.labels.jarvis.gateway == true"]
    # Every file the litellm target writes reaches the proxy as a swarm config.
    written = {name.removeprefix("litellm/") for name in litellm.render(mesh)}
    assert {c["target"].removeprefix("/etc/litellm/") for c in gateway["configs"]} == written
    assert {c["file"].removeprefix("../../litellm/") for c in stack["configs"].values()} == written
    ollama = stack["services"]["ai-max-ollama"]
    assert ollama["deploy"]["placement"]["constraints"] == [
        "node.labels.jarvis.node == ai-max",
        "node.labels.jarvis.role.gpu == true",
    ]
    assert ollama["ports"] == [
        {"target": 11434, "published": 11434, "protocol": "tcp", "mode": "host"}
    ]
    assert ollama["deploy"]["resources"]["reservations"]["generic_resources"] == [
        {"discrete_resource_spec": {"kind": "NVIDIA-GPU", "value": 1}}
    ]
    pull = stack["services"]["ai-max-pull-llama3"]
    assert pull["environment"]["OLLAMA_HOST"] == "http://ai-max-ollama:11434"
    assert pull["deploy"]["restart_policy"]["condition"] == "on-failure"


GPU_NODE = {
    "address": "10.0.0.5",
    "roles": ["gpu"],
    "memory_gb": 48,
    "runtimes": {"vllm": {"port": 8000, "api_key": "${BIG_VLLM_KEY}"}, "ollama": {}},
}
IDLE_NODE = {"address": "10.0.0.6", "runtimes": {"vllm": {}, "ollama": {}}}


def two_vllm_models() -> Mesh:
    return build_mesh(
        {
            "version": 1,
            "nodes": {"big": GPU_NODE, "idle": IDLE_NODE},
            "models": {
                "b-coder": {
                    "runtime": "vllm",
                    "source": "org/coder",
                    "memory_gb": 16,
                    "placement": {"nodes": ["big"]},
                },
                "a-chat": {
                    "runtime": "vllm",
                    "source": "org/chat",
                    "memory_gb": 24,
                    "context_window": 8192,
                    "placement": {"nodes": ["big"]},
                },
                "llama3": {
                    "runtime": "ollama",
                    "source": "llama3:8b",
                    "placement": {"nodes": ["big"]},
                },
            },
        }
    )


def test_one_model_per_process_runtimes_get_consecutive_ports() -> None:
    mesh = two_vllm_models()
    nodes = {n.name: n for n in mesh.nodes}
    assert serving_ports(mesh.models, nodes) == {
        ("a-chat", "big"): 8000,
        ("b-coder", "big"): 8001,
        ("llama3", "big"): 11434,
    }
    assert {d.id: d.api_base for d in mesh.deployments} == {
        "a-chat@big": "http://10.0.0.5:8000/v1",
        "b-coder@big": "http://10.0.0.5:8001/v1",
        "llama3@big": "http://10.0.0.5:11434",
    }


def test_each_vllm_server_gets_its_model_its_port_and_its_gpu_share() -> None:
    mesh = two_vllm_models()
    node = services(render_text(mesh, ["compose"])["compose/nodes/big/compose.yaml"])
    chat, coder = node["vllm-a-chat"], node["vllm-b-coder"]
    assert chat["command"] == [
        "--model",
        "org/chat",
        "--served-model-name",
        "org/chat",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        "--gpu-memory-utilization",
        "0.5",
        "--max-model-len",
        "8192",
    ]
    assert coder["command"][coder["command"].index("--port") + 1] == "8001"
    assert coder["command"][coder["command"].index("--gpu-memory-utilization") + 1] == "0.33"
    assert (chat["ports"], coder["ports"]) == (["8000:8000"], ["8001:8001"])
    assert chat["deploy"]["resources"]["reservations"]["devices"][0]["count"] == 1
    assert node["pull-llama3"]["command"] == ["pull", "llama3:8b"]
    # The node's API key reaches each vLLM server, which checks what the gateway sends.
    assert chat["environment"]["VLLM_API_KEY"] == required_ref("BIG_VLLM_KEY")
    assert [v.stacks for v in stack_env_vars(mesh) if v.name == "BIG_VLLM_KEY"] == [
        ("gateway", "node big")
    ]


def test_a_runtime_without_models_runs_only_what_it_can() -> None:
    idle = yaml.safe_load(
        render_text(two_vllm_models(), ["compose"])["compose/nodes/idle/compose.yaml"]
    )
    assert list(idle["services"]) == ["ollama"]  # a vLLM server needs a model; Ollama does not
    assert idle["volumes"] == {"ollama-models": {}}


def test_gpu_share_rounds_down_and_defaults_to_vllms_own() -> None:
    mesh = two_vllm_models()
    node = mesh.nodes[0]
    shares = [gpu_memory_share(m, node) for m in mesh.models if m.runtime == "vllm"]
    assert shares == [0.5, 0.33]
    assert gpu_memory_share(mesh.models[-1], node) == 0.9  # llama3: no memory_gb given


# The stock proxy's start-up CPU seconds measured per number of deployments (docs/benchmarks.md,
# "Proxy start-up"; 10,000 from the scale issue's run).
MEASURED_START_CPU = {100: 12.3, 1000: 19.5, 2000: 29.3, 5000: 82.8, 10000: 224.0}


@pytest.mark.parametrize("deployments", sorted(MEASURED_START_CPU))
def test_the_gateway_start_budget_covers_the_measured_start_on_a_busy_host(
    deployments: int,
) -> None:
    budget = gateway_start_seconds(deployments)
    assert budget >= 0.85 * GATEWAY_START_BUSY_FACTOR * MEASURED_START_CPU[deployments]
    assert budget >= gateway_start_seconds(deployments - 100)


def seconds(text: str) -> int:
    assert text.endswith("s"), text
    return int(text.removesuffix("s"))


@pytest.mark.parametrize("deployments", [14, 2000, 5000, 10000])
def test_gateway_health_checks_wait_for_a_large_mesh_to_start(deployments: int) -> None:
    """Swarm replaces a gateway that turns unhealthy: its checks must allow the start-up
    of its deployments, or a large mesh's gateway is restarted forever."""
    mesh = compile_mesh("homelab")
    many = (mesh.deployments * (deployments // len(mesh.deployments) + 1))[:deployments]
    mesh = dataclasses.replace(mesh, deployments=many)
    budget = gateway_start_seconds(deployments)
    port = mesh.gateway.port
    for service, least in (
        (compose.proxy_service(mesh, "litellm", port), 20),
        (compose.swarm_gateway(mesh, ()), 300),
    ):
        check = service.healthcheck
        assert check is not None
        allowed = seconds(check.start_period) + check.retries * seconds(check.interval)
        assert seconds(check.start_period) >= least
        assert allowed >= budget, (service.name, check)


def file_labels(files: dict[str, str]) -> dict[str, str]:
    stack = services(files["compose/gateway/compose.yaml"])
    return {name: s["labels"][compose.FILES_LABEL] for name, s in stack.items() if "labels" in s}


def with_alias(tmp_path: Path, alias: str) -> Mesh:
    config = tmp_path / "jarvis.yaml"
    data = yaml.safe_load((ROOT / "examples" / "ha-gateway" / "jarvis.yaml").read_text())
    data["aliases"][alias] = "llama3-8b"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return compile_mesh(config)


def test_each_gateway_service_carries_the_digest_of_the_files_it_mounts(tmp_path: Path) -> None:
    """So `up -d` after a rebuild recreates exactly the services whose files changed."""
    mesh = compile_mesh(ROOT / "examples" / "ha-gateway")
    files = render_text(mesh, ["litellm", "compose"])
    proxy_files = {k: v for k, v in files.items() if k.startswith("litellm/")}
    assert sorted(proxy_files) == [
        "litellm/config.yaml",
        "litellm/jarvis_router.py",
        "litellm/routes.json",
    ]
    labels = file_labels(files)
    assert labels == {
        "gateway": compose.files_digest({"nginx.conf": files["compose/gateway/nginx.conf"]}),
        "litellm-1": compose.files_digest(proxy_files),
        "litellm-2": compose.files_digest(proxy_files),
    }
    changed = file_labels(render_text(with_alias(tmp_path, "rolled"), ["compose"]))
    assert changed["gateway"] == labels["gateway"]
    assert changed["litellm-1"] == changed["litellm-2"] != labels["litellm-1"]
    single = file_labels(render_text(compile_mesh(ROOT / "examples" / "homelab"), ["compose"]))
    assert list(single) == ["litellm"]


def test_the_rollout_script_rolls_each_proxy_in_turn_and_only_with_replicas() -> None:
    files = render_text(compile_mesh(ROOT / "examples" / "ha-gateway"), ["compose"])
    script = files[compose.ROLLOUT_FILE]
    assert re.findall(r"^roll (\S+)$", script, re.MULTILINE) == ["litellm-1", "litellm-2"]
    assert "http://127.0.0.1:4000/health/liveliness" in script
    checked = subprocess.run(["sh", "-n"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr
    single = render_text(compile_mesh(ROOT / "examples" / "homelab"), ["compose"])
    assert compose.ROLLOUT_FILE not in single


def test_the_rollout_script_refuses_a_missing_env_file(tmp_path: Path) -> None:
    files = render_text(compile_mesh(ROOT / "examples" / "ha-gateway"), ["compose"])
    (tmp_path / "rollout.sh").write_text(files[compose.ROLLOUT_FILE])
    result = subprocess.run(
        ["sh", "rollout.sh", "../missing.env"], cwd=tmp_path, capture_output=True, text=True
    )
    assert (result.returncode, result.stderr) == (
        2,
        "usage: sh compose/gateway/rollout.sh ENV_FILE (run it from the output folder)\n",
    )
