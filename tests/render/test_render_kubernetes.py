"""The `kubernetes` target: every manifest of every example validates offline against the
Kubernetes OpenAPI schemas (kubernetes-validate, strict: no unknown field passes), references
hold together (Services select pod templates and name their ports, ConfigMaps exist, Secret keys
are in .env.example, the gateway's config reaches runtimes through Services that exist), names
are valid and collision-free, no secret value is written, and the output matches the goldens.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from jarvis_config import pipeline
from jarvis_config.errors import RenderError
from jarvis_config.model.catalog import gateway_start_seconds
from jarvis_config.model.mesh import Mesh, build_mesh
from jarvis_config.model.processes import processes
from jarvis_config.render import kubenames, kubernetes, render_text
from tests.kit import ROOT, check_golden, compile_mesh, example_params

EXAMPLES = example_params()
KUBERNETES_VERSION = "1.33.0"
WORKLOADS = ("Deployment", "StatefulSet", "Job")
# RFC 1035 label: what a Service name must be (and so every generated object name here).
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
# The gateway's ConfigMaps: `litellm-config-<digest>`, parts `litellm-config-<digest>-<NNN>`.
CONFIG_NAME = re.compile(r"^litellm-config-([0-9a-f]{10})(-[0-9]{3})?$")
SECRET_VALUES = {"JARVIS_MASTER_KEY": "sk-master-not-in-output", "OPENAI_API_KEY": "sk-oa-not-out"}


Documents = dict[str, list[dict[str, Any]]]  # file -> its objects


def manifests(mesh: Mesh) -> dict[str, str]:
    """The files of the kubernetes target alone (with the litellm files it needs, not kept)."""
    return render_text(mesh, ["kubernetes"])


def documents(files: dict[str, str]) -> Documents:
    return {
        name: [doc for doc in yaml.safe_load_all(text) if doc]
        for name, text in files.items()
        if name.startswith(f"{kubernetes.OUT_DIR}/")
    }


def objects(docs: Documents, *kinds: str) -> list[dict[str, Any]]:
    return [doc for file in docs.values() for doc in file if not kinds or doc["kind"] in kinds]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def mounted_config_maps(pod: dict[str, Any]) -> list[str]:
    """The ConfigMaps a pod mounts, directly or through a projected volume."""
    names = []
    for volume in pod.get("volumes", []):
        sources = [volume, *volume.get("projected", {}).get("sources", [])]
        names += [source["configMap"]["name"] for source in sources if "configMap" in source]
    return names


def gateway(docs: Documents) -> dict[str, Any]:
    (found,) = [d for d in objects(docs, "Deployment") if d["metadata"]["name"] == "litellm"]
    return found


@pytest.fixture(scope="module", params=EXAMPLES)
def rendered(request: pytest.FixtureRequest) -> Iterator[tuple[Mesh, dict[str, str], Documents]]:
    """(mesh, every file of the build, the kubernetes/ files parsed) for each example."""
    compiled = pipeline.compile_config(request.param, environ=SECRET_VALUES)
    assert compiled.mesh is not None
    files = {k: v.decode() for k, v in pipeline.render(compiled.mesh).items()}
    yield compiled.mesh, files, documents(files)


@pytest.mark.parametrize("example", EXAMPLES)
def test_rendered_files_match_the_golden_files(example: Path, update_golden: bool) -> None:
    files = manifests(compile_mesh(example))
    check_golden(example.name, files, owns=f"{kubernetes.OUT_DIR}/*", update=update_golden)


def test_every_manifest_validates_strictly(
    rendered: tuple[Mesh, dict[str, str], Documents],
) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="the test extra")
    _, _, docs = rendered
    checked = 0
    for doc in objects(docs):
        if doc["kind"] != "Kustomization":
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            checked += 1
    assert checked >= 4  # the namespace, the ConfigMap, the gateway and its Service at least


def test_the_strict_validation_refuses_an_unknown_field() -> None:
    """What the test above relies on: a misspelt field is an error, not ignored."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="the test extra")
    docs = documents(manifests(compile_mesh("homelab")))
    gateway = next(d for d in objects(docs, "Deployment") if d["metadata"]["name"] == "litellm")
    pod_spec(gateway)["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(gateway, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest(
    rendered: tuple[Mesh, dict[str, str], Documents],
) -> None:
    _, _, docs = rendered
    (kustomization,) = docs[f"{kubernetes.OUT_DIR}/kustomization.yaml"]
    listed = {f"{kubernetes.OUT_DIR}/{name}" for name in kustomization["resources"]}
    assert listed == set(docs) - {f"{kubernetes.OUT_DIR}/kustomization.yaml"}
    assert kustomization["namespace"] == kubernetes.NAMESPACE


def test_every_service_selects_a_pod_template_and_names_its_port(
    rendered: tuple[Mesh, dict[str, str], Documents],
) -> None:
    _, _, docs = rendered
    templates = [w["spec"]["template"] for w in objects(docs, "Deployment", "StatefulSet")]
    for svc in objects(docs, "Service"):
        selector = svc["spec"]["selector"]
        chosen = [t for t in templates if selector.items() <= t["metadata"]["labels"].items()]
        assert len(chosen) == 1, f"Service {svc['metadata']['name']} selects {len(chosen)} pods"
        ports = {p["name"] for c in chosen[0]["spec"]["containers"] for p in c["ports"]}
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= ports


def test_config_maps_exist_and_secret_keys_are_in_the_env_example(
    rendered: tuple[Mesh, dict[str, str], Documents],
) -> None:
    _, files, docs = rendered
    config_maps = {d["metadata"]["name"] for d in objects(docs, "ConfigMap")}
    listed = {line[:-1] for line in files[".env.example"].splitlines() if line.endswith("=")}
    mounted = set()
    for workload in objects(docs, *WORKLOADS):
        pod = pod_spec(workload)
        mounted.update(mounted_config_maps(pod))
        for env in (e for c in pod["containers"] for e in c.get("env", [])):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                assert ref["name"] == kubernetes.SECRET
                assert ref["key"] in listed, f"{ref['key']} is not in .env.example"
    assert mounted == config_maps  # none missing, none left over


def test_no_secret_value_is_written(rendered: tuple[Mesh, dict[str, str], Documents]) -> None:
    _, files, _ = rendered
    for name, text in files.items():
        for value in SECRET_VALUES.values():
            assert value not in text, f"{name} holds a secret value"


def test_no_yaml_anchors_or_aliases(rendered: tuple[Mesh, dict[str, str], Documents]) -> None:
    _, files, _ = rendered
    for name, text in files.items():
        if name.startswith(f"{kubernetes.OUT_DIR}/"):
            assert not re.search(r"[&*]id[0-9]{3}", text), name


def test_the_gateway_reaches_each_runtime_through_its_service(
    rendered: tuple[Mesh, dict[str, str], Documents],
) -> None:
    _, files, docs = rendered
    (config_map,) = objects(docs, "ConfigMap")
    shipped = yaml.safe_load(config_map["data"]["config.yaml"])
    plain = yaml.safe_load(files["litellm/config.yaml"])
    services = {
        (s["metadata"]["name"], p["port"])
        for s in objects(docs, "Service")
        for p in s["spec"]["ports"]
    }
    for cluster, local in zip(shipped["model_list"], plain["model_list"], strict=True):
        base = cluster["litellm_params"].pop("api_base", None)
        local_base = local["litellm_params"].pop("api_base", None)
        assert cluster == local  # only the address differs
        if cluster["model_info"].get("node"):
            split = urlsplit(base)
            assert (split.hostname, split.port) in services
            assert split.path == urlsplit(local_base).path
    assert config_map["data"]["jarvis_router.py"] == files["litellm/jarvis_router.py"]
    assert config_map["data"]["routes.json"] == files["litellm/routes.json"]


def test_model_servers_are_pinned_and_get_the_nodes_gpus(
    rendered: tuple[Mesh, dict[str, str], Documents],
) -> None:
    mesh, _, docs = rendered
    for node in mesh.nodes:
        for workload in docs.get(f"{kubernetes.OUT_DIR}/nodes/{node.name}.yaml", []):
            if workload["kind"] != "Deployment":
                continue
            pod = pod_spec(workload)
            assert pod["nodeSelector"] == {kubernetes.NODE_LABEL: node.name}
            limits = pod["containers"][0].get("resources", {}).get("limits", {})
            assert limits.get("nvidia.com/gpu", 0) == node.gpus
            assert "readinessProbe" in pod["containers"][0]


def test_gateway_has_replicas_budget_content_named_config_and_probes(
    rendered: tuple[Mesh, dict[str, str], Documents],
) -> None:
    mesh, _, docs = rendered
    (gateway,) = [d for d in objects(docs, "Deployment") if d["metadata"]["name"] == "litellm"]
    assert gateway["spec"]["replicas"] == mesh.gateway.replicas
    # The content-named ConfigMaps roll the pods; no checksum annotation beside them.
    assert "annotations" not in gateway["spec"]["template"]["metadata"]
    (config_map,) = mounted_config_maps(pod_spec(gateway))
    match = CONFIG_NAME.match(config_map)
    assert match and match[2] is None
    (shipped,) = objects(docs, "ConfigMap")
    assert shipped["immutable"] is True
    assert shipped["metadata"]["labels"][kubernetes.CONFIG_LABEL] == match[1]
    container = pod_spec(gateway)["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/liveliness"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
    budgets = objects(docs, "PodDisruptionBudget")
    redis = [d for d in objects(docs, "Deployment") if d["metadata"]["name"] == "redis"]
    assert len(budgets) == (1 if mesh.gateway.replicas > 1 else 0)
    assert len(redis) == (1 if processes(mesh.gateway) > 1 else 0)
    assert len(objects(docs, "StatefulSet")) == (1 if mesh.gateway.database else 0)


def test_every_object_name_is_a_dns_label_and_unique(
    rendered: tuple[Mesh, dict[str, str], Documents],
) -> None:
    _, _, docs = rendered
    seen: set[tuple[str, str]] = set()
    for doc in objects(docs):
        if doc["kind"] == "Kustomization":
            continue
        name = doc["metadata"]["name"]
        assert DNS_LABEL.match(name), name
        assert (doc["kind"], name) not in seen
        seen.add((doc["kind"], name))


def _mesh(nodes: dict[str, Any], models: dict[str, Any], **gateway: Any) -> Mesh:
    return build_mesh({"version": 1, "gateway": gateway, "nodes": nodes, "models": models})


def test_names_that_would_clash_or_break_the_rules_get_a_digest() -> None:
    mesh = _mesh(
        {
            "a-pull-b": {"address": "10.0.0.1", "runtimes": {"ollama": {}}},
            "a": {"address": "10.0.0.2", "runtimes": {"ollama": {}}},
            "GPU.Box_1": {"address": "10.0.0.3", "runtimes": {"vllm": {}}},
        },
        {
            "b-ollama": {"runtime": "ollama", "source": "x", "placement": {"nodes": ["a"]}},
            "m": {"runtime": "vllm", "source": "y", "placement": {"nodes": ["GPU.Box_1"]}},
        },
    )
    docs = documents(manifests(mesh))
    names = sorted(d["metadata"]["name"] for d in objects(docs, *WORKLOADS))
    # Node `a-pull-b`'s Ollama and node `a`'s pull of model `b-ollama` read alike: both digested.
    assert names[0] == "a-ollama"
    assert all(re.fullmatch(r"a-pull-b-ollama-[0-9a-f]{8}", name) for name in names[1:3])
    assert names[1] != names[2]
    assert re.fullmatch(r"gpu-box-1-vllm-m-[0-9a-f]{8}", names[3])
    (vllm,) = docs[f"{kubernetes.OUT_DIR}/nodes/GPU.Box_1.yaml"][:1]
    assert re.fullmatch(
        r"gpu-box-1-[0-9a-f]{8}", pod_spec(vllm)["nodeSelector"][kubernetes.NODE_LABEL]
    )


def test_an_ingress_when_asked_for() -> None:
    mesh = _mesh({}, {}, port=4000, ingress={"host": "llm.example.org", "class_name": "nginx"})
    (ingress,) = objects(documents(manifests(mesh)), "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "llm.example.org"
    assert rule["http"]["paths"][0]["backend"]["service"] == {
        "name": "litellm",
        "port": {"number": 4000},
    }


def test_the_gateway_rolls_one_pod_at_a_time_and_drains_its_longest_stream(
    rendered: tuple[Mesh, dict[str, str], Documents],
) -> None:
    """A new pod is ready before an old one stops; a stopping pod first waits while the
    endpoints drop it (preStop), then drains on SIGTERM for the longest stream's budget, and
    the kubelet's grace covers both, so a stream within its budget is never cut."""
    mesh, _, docs = rendered
    deployment = gateway(docs)
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    pod = pod_spec(deployment)
    (container,) = pod["containers"]
    wait = container["lifecycle"]["preStop"]["exec"]["command"]
    assert wait[0] == "sleep" and int(wait[1]) > 0
    env = {e["name"]: e.get("value") for e in container["env"]}
    drain = int(env["GRACEFUL_SHUTDOWN_TIMEOUT"])
    assert drain > mesh.routing.stream_max_seconds
    assert pod["terminationGracePeriodSeconds"] > int(wait[1]) + drain


def config_names(source: str) -> tuple[list[str], list[str]]:
    """(ConfigMaps written, ConfigMaps the gateway mounts) of a one-model mesh."""
    nodes = {"box": {"address": "10.0.0.1", "runtimes": {"ollama": {}}}}
    models = {"m": {"runtime": "ollama", "source": source, "placement": {"nodes": ["box"]}}}
    docs = documents(manifests(_mesh(nodes, models)))
    written = [d["metadata"]["name"] for d in objects(docs, "ConfigMap")]
    return written, mounted_config_maps(pod_spec(gateway(docs)))


def test_the_config_map_names_follow_the_config() -> None:
    """The same config gives the same names (a rebuild rolls nothing); a changed one gives new
    names, which the pod template mounts, so `kubectl apply` rolls the pods onto new files
    while the old pods' ConfigMaps stay as they were (a `rollout undo` gets its own files)."""
    before = config_names("llama3:8b")
    assert before == config_names("llama3:8b")
    after = config_names("llama3:70b")
    assert before[0] == before[1] and after[0] == after[1]
    assert not set(before[0]) & set(after[0])


def test_a_small_mesh_keeps_one_config_map_and_no_init_container(
    rendered: tuple[Mesh, dict[str, str], Documents],
) -> None:
    _, _, docs = rendered
    (config_map,) = objects(docs, "ConfigMap")
    assert CONFIG_NAME.match(config_map["metadata"]["name"])
    assert set(config_map["data"]) == {"config.yaml", "routes.json", "jarvis_router.py"}
    assert "initContainers" not in pod_spec(gateway(docs))


# --- a mesh whose gateway files outgrow one ConfigMap ----------------------------------------


def large_mesh(tmp_path: Path) -> Mesh:
    """benchmarks/synth.py's role-placed shape: 400 deployments, about 0.5 MB of files."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import synth

    data = synth.replicated(400, 10, pinning="strict")
    return compile_mesh(synth.write_data(tmp_path / "large.yaml", data))


def unlimited(mesh: Mesh, monkeypatch: pytest.MonkeyPatch) -> Documents:
    """The manifests as they would be were a ConfigMap's size not limited: one ConfigMap."""
    with monkeypatch.context() as patch:
        patch.setattr(kubernetes, "CONFIG_MAP_BUDGET", 1 << 40)
        return documents(manifests(mesh))


def kubelet_volume(docs: Documents, parts: Path) -> None:
    """Lay out `parts` as kubelet lays out a projected volume of every ConfigMap: the files in
    a timestamped folder, `..data` linking to it, and a link per key through `..data`."""
    timestamped = parts / "..2025_01_01_00_00_00.000000000"
    timestamped.mkdir(parents=True)
    for config_map in objects(docs, "ConfigMap"):
        for key, text in config_map["data"].items():
            (timestamped / key).write_bytes(text.encode())
            (parts / key).symlink_to(Path("..data") / key)
    (parts / "..data").symlink_to(timestamped.name)


def assemble(docs: Documents, tmp_path: Path) -> dict[str, bytes]:
    """Run the gateway's init container as rendered, over a folder laid out as kubelet lays
    out a projected ConfigMap volume; return the files it wrote."""
    pod = pod_spec(gateway(docs))
    (init,) = pod["initContainers"]
    mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
    (litellm,) = pod["containers"]
    assert litellm["volumeMounts"] == [
        {"name": "config", "mountPath": mounts["config"], "readOnly": True}
    ]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"] == {"name": "config", "emptyDir": {}}
    assert mounted_config_maps(pod) == [d["metadata"]["name"] for d in objects(docs, "ConfigMap")]
    parts, out = tmp_path / "parts", tmp_path / "out"
    kubelet_volume(docs, parts)
    out.mkdir()
    interpreter, *arguments, parts_mount, config_mount = init["command"]
    assert interpreter == "python3"
    assert (parts_mount, config_mount) == (mounts["config-parts"], mounts["config"])
    subprocess.run([sys.executable, *arguments, str(parts), str(out)], check=True, timeout=60)
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}


@pytest.mark.slow  # renders a mesh large enough to need several ConfigMaps
def test_a_large_mesh_splits_its_files_over_config_maps_within_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = large_mesh(tmp_path)
    docs = documents(manifests(mesh))
    config_maps = objects(docs, "ConfigMap")
    whole = unlimited(mesh, monkeypatch)
    (single,) = objects(whole, "ConfigMap")
    assert kubernetes.data_size(single["data"]) > kubernetes.CONFIG_MAP_BUDGET  # the premise
    digest = kubernetes.config_digest(single["data"])
    assert [c["metadata"]["name"] for c in config_maps] == [
        kubernetes.config_map_name(digest, i) for i in range(len(config_maps))
    ]
    assert single["metadata"]["name"] == kubernetes.config_map_name(digest)
    assert {c["metadata"]["labels"][kubernetes.CONFIG_LABEL] for c in config_maps} == {digest}
    assert len(config_maps) >= 2
    for config_map in config_maps:
        size = kubernetes.data_size(config_map["data"])
        assert size <= kubernetes.CONFIG_MAP_BUDGET < 1 << 20, config_map["metadata"]["name"]
    # As few as hold the files: each but the last is full to within a line.
    for config_map in config_maps[:-1]:
        assert kubernetes.data_size(config_map["data"]) > kubernetes.CONFIG_MAP_BUDGET - 1024
    (kustomization,) = docs[f"{kubernetes.OUT_DIR}/kustomization.yaml"]
    assert "gateway.yaml" in kustomization["resources"]
    # The digest is of the files, not their chunks: one build's parts share it.
    assert all(CONFIG_NAME.match(name) for name in mounted_config_maps(pod_spec(gateway(docs))))
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="the test extra")
    for doc in objects(docs):
        if doc["kind"] != "Kustomization":
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.slow  # renders a large mesh and reassembles its ConfigMap
def test_the_init_container_puts_the_files_back_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = large_mesh(tmp_path)
    (single,) = objects(unlimited(mesh, monkeypatch), "ConfigMap")
    assembled = assemble(documents(manifests(mesh)), tmp_path)
    assert assembled == {name: text.encode() for name, text in sorted(single["data"].items())}


@pytest.mark.parametrize("budget", [2000, 4900])  # cut points depend on the files
def test_small_budgets_cut_files_anywhere_between_lines_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    """Many chunks: some start with indented lines or empty ones, some end in empty lines;
    each reads back from its literal block as cut, and the files reassemble exactly. (A few
    budgets near `budget`, so that where the cuts fall does not hang on the files' text.)"""
    mesh = compile_mesh("homelab")
    (single,) = objects(documents(manifests(mesh)), "ConfigMap")
    chunks: list[str] = []
    for near in range(budget, budget + 64, 16):
        monkeypatch.setattr(kubernetes, "CONFIG_MAP_BUDGET", near)
        docs = documents(manifests(mesh))
        chunks += [v for c in objects(docs, "ConfigMap") for v in c["data"].values()]
        for config_map in objects(docs, "ConfigMap"):
            assert kubernetes.data_size(config_map["data"]) <= near
        assembled = assemble(docs, tmp_path / str(near))
        assert assembled == {name: text.encode() for name, text in sorted(single["data"].items())}
    assert any(text.startswith(" ") for text in chunks)
    assert any(text.endswith("\n\n") for text in chunks)


def test_a_line_longer_than_a_config_map_is_an_error() -> None:
    with pytest.raises(RenderError, match="longer than a ConfigMap"):
        kubernetes.split_files({"routes.json": "x" * 100 + "\n"}, 64)


def test_the_gateway_names_are_reserved_against_generated_names() -> None:
    """A node `litellm` running a server named `config` would read `litellm-config`."""
    source = ("server", "litellm", "config")
    names = kubenames.allocate([source], kubernetes.reserved_names())
    assert names[source] != "litellm-config"
    assert {"litellm", "litellm-config", "redis", "postgres"} <= set(kubernetes.reserved_names())


@pytest.mark.parametrize("deployments", [14, 2000, 5000, 10000])
def test_the_gateway_startup_probe_waits_for_a_large_mesh_to_start(deployments: int) -> None:
    """The kubelet restarts a container whose startup probe gives up: it must allow the
    start-up of the gateway's deployments (model/catalog.py, gateway_start_seconds)."""
    mesh = compile_mesh("homelab")
    many = (mesh.deployments * (deployments // len(mesh.deployments) + 1))[:deployments]
    manifest = kubernetes.gateway_deployment(
        dataclasses.replace(mesh, deployments=many), ("litellm-config-0123456789",)
    )
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    probe = container["startupProbe"]
    allowed = probe["periodSeconds"] * probe["failureThreshold"]
    assert allowed >= max(120, gateway_start_seconds(deployments))
