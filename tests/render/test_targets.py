"""The TARGETS registry: the single list of targets, rendered in dependency order, each once."""

from __future__ import annotations

import pytest
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
