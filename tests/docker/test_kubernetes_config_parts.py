"""The init container that rebuilds a large mesh's gateway files from their ConfigMap parts
runs its rendered command in the gateway image itself (the locally built stand-in of the
pinned LiteLLM image): the image has what the command needs, and the files come back byte
for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jarvis_config.render import kubernetes
from tests.kit import compile_mesh
from tests.render.test_render_kubernetes import (
    documents,
    gateway,
    kubelet_volume,
    manifests,
    objects,
    pod_spec,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.mark.usefixtures("local_images")
def test_the_init_container_rebuilds_the_files_in_the_gateway_image(
    engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = compile_mesh("homelab")
    (single,) = objects(documents(manifests(mesh)), "ConfigMap")
    monkeypatch.setattr(kubernetes, "CONFIG_MAP_BUDGET", 5000)  # several parts, small mesh
    docs = documents(manifests(mesh))
    assert len(objects(docs, "ConfigMap")) > 1
    (init,) = pod_spec(gateway(docs))["initContainers"]
    mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
    parts, out = tmp_path / "parts", tmp_path / "out"
    kubelet_volume(docs, parts)
    out.mkdir()
    out.chmod(0o777)  # the image may run as another user
    engine.containers.run(
        init["image"],
        entrypoint=init["command"],
        volumes={
            str(parts): {"bind": mounts["config-parts"], "mode": "ro"},
            str(out): {"bind": mounts["config"], "mode": "rw"},
        },
        network_disabled=True,
        remove=True,
    )
    rebuilt = {path.name: path.read_bytes() for path in sorted(out.iterdir())}
    assert rebuilt == {name: text.encode() for name, text in sorted(single["data"].items())}
