"""The TARGETS registry: the single list of targets, rendered in dependency order, each once."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from jarvis_config.cli import main
from jarvis_config.errors import RenderError
from jarvis_config.render import TARGETS, litellm, render_text, target
from tests.kit import compile_mesh


def test_build_offers_exactly_the_registered_targets() -> None:
    result = CliRunner().invoke(main, ["build", "--help"])
    assert f"[{'|'.join(TARGETS)}]" in result.stdout


def test_an_unknown_target_names_the_known_ones() -> None:
    with pytest.raises(RenderError) as raised:
        target("compse")
    assert str(raised.value) == (
        "unknown target 'compse'; known targets: compose, kubernetes, litellm; "
        "did you mean 'compose'?"
    )


def test_compose_alone_leaves_out_the_litellm_files_it_reads() -> None:
    files = render_text(compile_mesh("homelab"), ["compose"])
    assert files and all(not name.startswith("litellm/") for name in files)
    assert "compose/swarm/stack.yaml" in files


def test_a_build_renders_the_litellm_files_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    original = litellm.render

    def counted(*args: object) -> dict[str, str]:
        calls.append(args)
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(litellm, "render", counted)
    mesh = compile_mesh("homelab")
    files = render_text(mesh)
    # Once for the build's mesh; the kubernetes target renders its own cluster copy of it.
    assert len([args for args in calls if args[0] is mesh]) == 1
    assert {"litellm/config.yaml", "compose/swarm/stack.yaml"} <= set(files)


def test_every_need_is_a_registered_target_and_kubernetes_needs_litellm() -> None:
    for name in TARGETS:
        assert set(target(name).NEEDS) <= set(TARGETS) - {name}, name
    assert target("kubernetes").NEEDS == ("litellm",)


def test_the_kubernetes_config_map_holds_the_litellm_files_it_needs() -> None:
    """routes.json and the callback as the litellm target wrote them; config.yaml differs only
    in the api_bases, which point at the cluster's Services."""
    files = render_text(compile_mesh("homelab"))
    docs = yaml.safe_load_all(files["kubernetes/gateway.yaml"])
    (config_map,) = [doc for doc in docs if doc["kind"] == "ConfigMap"]
    data = config_map["data"]
    for name in ("routes.json", "jarvis_router.py"):
        assert data[name] == files[f"litellm/{name}"]
    host, cluster = (
        yaml.safe_load(text) for text in (files["litellm/config.yaml"], data["config.yaml"])
    )
    for entry in host["model_list"] + cluster["model_list"]:
        entry["litellm_params"].pop("api_base", None)
    assert host == cluster
