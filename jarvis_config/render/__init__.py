"""Stage 4, render: one module per target; `TARGETS` is the single list of targets.

A target module has `render(mesh, needed) -> {relative path: text}` and `NEEDS`, the names of
the targets whose files it reads (`needed` holds them, already rendered: compose embeds
digests of the LiteLLM files in its Swarm configs). Modules are imported when a build asks for
them, so `validate` never pays for Jinja2 and the templates. Adding a target is one module, one
template folder under templates/ and one line in TARGETS.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from jarvis_config.errors import RenderError
from jarvis_config.model.budget import budget_fault, too_large

if TYPE_CHECKING:  # the CLI reads TARGETS at start-up: keep this module light
    from jarvis_config.model.mesh import Mesh

# Target name -> the module that renders it, in the order `build` renders them.
TARGETS: dict[str, str] = {
    "litellm": "jarvis_config.render.litellm",
    "compose": "jarvis_config.render.compose",
    "kubernetes": "jarvis_config.render.kubernetes",
}


class Target(Protocol):
    """What a target module provides."""

    NEEDS: tuple[str, ...]

    def render(self, mesh: Mesh, needed: Mapping[str, str]) -> dict[str, str]: ...


def target(name: str) -> Target:
    """The module of a target; a clear error for an unknown name."""
    if name not in TARGETS:
        from jarvis_config.validate.wording import did_you_mean

        raise RenderError(
            f"unknown target {name!r}; known targets: {', '.join(sorted(TARGETS))}"
            f"{did_you_mean(name, TARGETS)}"
        )
    module: Target = importlib.import_module(TARGETS[name])
    return module


def render_text(mesh: Mesh, targets: Sequence[str] | None = None) -> dict[str, str]:
    """The files of the chosen targets (all by default) as text, sorted by path. A target's
    needs are rendered once, first, and left out unless chosen as well. Targets that need
    nothing of each other render in two processes when the mesh is large enough to gain."""
    from jarvis_config.render import workers  # here: the CLI reads TARGETS at start-up

    over = budget_fault(mesh)
    if over is not None:  # validation refuses it first; this guards an unvalidated mesh
        raise RenderError(too_large(over))
    chosen = list(targets) if targets else list(TARGETS)
    *others, last = _independent_groups(chosen)
    if others and workers.can_fork(len(mesh.deployments)):
        # The child pays for the fork and for sending its files back, so it takes the groups
        # before the last; in the registry's order the last is kubernetes, the heaviest
        # target (it renders the gateway's config a second time, for the cluster).
        rest = [name for group in others for name in group]
        with workers.in_child(lambda: _render_group(mesh, rest)) as rest_files:
            files = _render_group(mesh, last)
            files.update(rest_files())
    else:
        files = _render_group(mesh, chosen)
    return dict(sorted(files.items()))


def _render_group(mesh: Mesh, names: Sequence[str]) -> dict[str, str]:
    done: dict[str, dict[str, str]] = {}
    for name in names:
        _render_into(mesh, name, done)
    return {path: text for name in names for path, text in done[name].items()}


def _render_into(mesh: Mesh, name: str, done: dict[str, dict[str, str]]) -> None:
    if name in done:
        return
    module = target(name)
    needed: dict[str, str] = {}
    for need in module.NEEDS:
        _render_into(mesh, need, done)
        needed.update(done[need])
    done[name] = module.render(mesh, needed)


def _independent_groups(chosen: Sequence[str]) -> list[list[str]]:
    """The chosen targets in groups that share no need: each group renders on its own."""
    groups: list[tuple[set[str], list[str]]] = []  # (every target rendered, those chosen)
    for name in chosen:
        closure = _with_needs(name)
        joined = [group for group in groups if group[0] & closure]
        merged: tuple[set[str], list[str]] = (closure, [])
        for group in joined:
            groups.remove(group)
            merged[0].update(group[0])
            merged[1].extend(group[1])
        merged[1].append(name)
        groups.append(merged)
    groups.sort(key=lambda group: chosen.index(group[1][0]))
    return [names for _, names in groups]


def _with_needs(name: str) -> set[str]:
    closure = {name}
    for need in target(name).NEEDS:
        closure |= _with_needs(need)
    return closure


def render_targets(mesh: Mesh, targets: Sequence[str] | None = None) -> dict[str, bytes]:
    """Every output file, relative path -> UTF-8 bytes, for the chosen targets."""
    return {path: text.encode("utf-8") for path, text in render_text(mesh, targets).items()}
