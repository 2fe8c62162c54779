"""A large build renders independent targets in a forked child: the same files as one
process renders, errors raised again in the build, a child that dies reported plainly."""

from __future__ import annotations

import os

import pytest

from jarvis_config.errors import RenderError
from jarvis_config.render import _independent_groups, compose, render_text, workers
from tests.kit import compile_mesh

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this system")


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork for any mesh, and on any machine (the choice is tested on its own below)."""
    monkeypatch.setattr(workers, "can_fork", lambda deployments: True)


def test_targets_that_share_no_need_render_apart() -> None:
    assert _independent_groups(["litellm", "compose", "kubernetes"]) == [
        ["litellm", "compose"],
        ["kubernetes"],
    ]
    assert _independent_groups(["compose", "kubernetes", "litellm"]) == [
        ["compose", "litellm"],
        ["kubernetes"],
    ]
    assert _independent_groups(["kubernetes"]) == [["kubernetes"]]


@pytest.mark.parametrize("example", ["homelab", "ha-gateway", "roles"])
@pytest.mark.usefixtures("forking")
def test_a_forked_render_writes_what_one_process_writes(
    example: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = compile_mesh(example)
    forked = render_text(mesh)
    monkeypatch.setattr(workers, "can_fork", lambda deployments: False)
    assert render_text(mesh) == forked
    assert list(forked) == sorted(forked)


@pytest.mark.usefixtures("forking")
def test_an_error_in_the_child_is_raised_in_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> dict[str, str]:
        if os.getpid() == build:
            pytest.fail("compose was rendered in the build's own process, not in the child")
        raise RenderError("template 'compose/stack.yaml.j2' failed: boom")

    build = os.getpid()
    monkeypatch.setattr(compose, "render", broken)
    with pytest.raises(RenderError, match="boom"):
        render_text(compile_mesh("homelab"))


@pytest.mark.usefixtures("forking")
def test_a_child_that_dies_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def dies(*args: object) -> dict[str, str]:
        if os.getpid() == build:
            pytest.fail("compose was rendered in the build's own process, not in the child")
        os._exit(9)

    build = os.getpid()
    monkeypatch.setattr(compose, "render", dies)
    with pytest.raises(RenderError, match="stopped before it finished"):
        render_text(compile_mesh("homelab"))


def test_small_meshes_and_threaded_processes_render_in_one_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workers, "_cores", lambda: 2)
    assert not workers.can_fork(workers.MIN_DEPLOYMENTS - 1)
    assert workers.can_fork(workers.MIN_DEPLOYMENTS)
    monkeypatch.setattr(workers, "_cores", lambda: 1)
    assert not workers.can_fork(workers.MIN_DEPLOYMENTS)
    monkeypatch.setattr(workers, "_cores", lambda: 2)
    monkeypatch.setattr(workers.threading, "active_count", lambda: 2)
    assert not workers.can_fork(workers.MIN_DEPLOYMENTS)
