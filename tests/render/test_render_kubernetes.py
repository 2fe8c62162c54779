"""The `kubernetes` target: every manifest of every example validates offline against the
Kubernetes OpenAPI schemas (kubernetes-validate, strict: no unknown field passes), references
hold together (Services select pod templates and name their ports, ConfigMaps exist, Secret keys
are in .env.example, the gateway's config reaches runtimes through Services that exist), names
are valid and collision-free, no secret value is written, and the output matches the goldens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from jarvis_config import pipeline
from jarvis_config.model.mesh import Mesh, build_mesh
from jarvis_config.render import kubernetes
from tests.kit import check_golden, compile_mesh, example_params

EXAMPLES = example_params()
KUBERNETES_VERSION = "1.33.0"
WORKLOADS = ("Deployment", "StatefulSet", "Job")
# RFC 1035 label: what a Service name must be (and so every generated object name here).
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
CHECKSUM = "jarvis-config/config-checksum"
SECRET_VALUES = {"JARVIS_MASTER_KEY": "sk-master-not-in-output", "OPENAI_API_KEY": "sk-oa-not-out"}


Documents = dict[str, list[dict[str, Any]]]  # file -> its objects


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


@pytest.fixture(scope="module", params=EXAMPLES)
def rendered(request: pytest.FixtureRequest) -> Iterator[tuple[Mesh, dict[str, str], Documents]]:
    """(mesh, every file of the build, the kubernetes/ files parsed) for each example."""
    compiled = pipeline.compile_config(request.param, environ=SECRET_VALUES)
    assert compiled.mesh is not None
    files = {k: v.decode() for k, v in pipeline.render(compiled.mesh).items()}
    yield compiled.mesh, files, documents(files)


@pytest.mark.parametrize("example", EXAMPLES)
def test_rendered_files_match_the_golden_files(example: Path, update_golden: bool) -> None:
    files = kubernetes.render(compile_mesh(example))
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
    docs = documents(kubernetes.render(compile_mesh("homelab")))
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
    for workload in objects(docs, *WORKLOADS):
        pod = pod_spec(workload)
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps
        for env in (e for c in pod["containers"] for e in c.get("env", [])):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                assert ref["name"] == kubernetes.SECRET
                assert ref["key"] in listed, f"{ref['key']} is not in .env.example"


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


def test_gateway_has_replicas_budget_checksum_and_probes(
    rendered: tuple[Mesh, dict[str, str], Documents],
) -> None:
    mesh, _, docs = rendered
    (gateway,) = [d for d in objects(docs, "Deployment") if d["metadata"]["name"] == "litellm"]
    assert gateway["spec"]["replicas"] == mesh.gateway.replicas
    annotations = gateway["spec"]["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"[0-9a-f]{64}", annotations[CHECKSUM])
    container = pod_spec(gateway)["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/liveliness"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
    budgets = objects(docs, "PodDisruptionBudget")
    redis = [d for d in objects(docs, "Deployment") if d["metadata"]["name"] == "redis"]
    assert len(budgets) == len(redis) == (1 if mesh.gateway.replicas > 1 else 0)
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
    docs = documents(kubernetes.render(mesh))
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
    (ingress,) = objects(documents(kubernetes.render(mesh)), "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "llm.example.org"
    assert rule["http"]["paths"][0]["backend"]["service"] == {
        "name": "litellm",
        "port": {"number": 4000},
    }


def test_the_checksum_follows_the_config() -> None:
    def checksum(source: str) -> str:
        nodes = {"box": {"address": "10.0.0.1", "runtimes": {"ollama": {}}}}
        models = {"m": {"runtime": "ollama", "source": source, "placement": {"nodes": ["box"]}}}
        docs = documents(kubernetes.render(_mesh(nodes, models)))
        gateway = next(d for d in objects(docs, "Deployment") if d["metadata"]["name"] == "litellm")
        return str(gateway["spec"]["template"]["metadata"]["annotations"][CHECKSUM])

    assert checksum("llama3:8b") == checksum("llama3:8b")
    assert checksum("llama3:8b") != checksum("llama3:70b")
