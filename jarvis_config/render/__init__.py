"""Stage 4, render: one module per target; `TARGETS` is the single list of targets.

A target module has `render(mesh, needed) -> {relative path: text}` and `NEEDS`, the names of
the targets whose files it reads (`needed` holds them, already rendered: compose embeds
digests of the LiteLLM files in its Swarm configs, kubernetes puts them in the gateway's
ConfigMap). Modules are imported when a build asks for them, so `validate` never pays for the
renderers. Adding a target is one module and one line in TARGETS (and a template folder under
templates/ for a file that is layout rather than data).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from jarvis_config.errors import RenderError
from jarvis_config.model.budget import budget_fault, too_large

if TYPE_CHECKING:  # the CLI reads TARGETS at start-up: keep this module light
    from jarvis_config.model.mesh import Mesh

# Target name -> the module that renders it, in the order `build` renders them. Its NEEDS:
# compose and kubernetes both read the files of litellm (rendered once, before them).
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
        from jarvis_config.wording import did_you_mean

        raise RenderError(
            f"unknown target {name!r}; known targets: {', '.join(sorted(TARGETS))}"
            f"{did_you_mean(name, TARGETS)}"
        )
    module: Target = importlib.import_module(TARGETS[name])
    return module


def render_text(mesh: Mesh, targets: Sequence[str] | None = None) -> dict[str, str]:
    """The files of the chosen targets (all by default) as text, sorted by path. A target's
    needs are rendered once, first, and left out unless chosen as well."""
    over = budget_fault(mesh)
    if over is not None:  # validation refuses it first; this guards an unvalidated mesh
        raise RenderError(too_large(over))
    chosen = list(targets) if targets else list(TARGETS)
    done: dict[str, dict[str, str]] = {}
    for name in chosen:
        _render_into(mesh, name, done)
    files = {path: text for name in chosen for path, text in done[name].items()}
    return dict(sorted(files.items()))


def _render_into(mesh: Mesh, name: str, done: dict[str, dict[str, str]]) -> None:
    if name in done:
        return
    module = target(name)
    needed: dict[str, str] = {}
    for need in module.NEEDS:
        _render_into(mesh, need, done)
        needed.update(done[need])
    done[name] = module.render(mesh, needed)


def render_targets(mesh: Mesh, targets: Sequence[str] | None = None) -> dict[str, bytes]:
    """Every output file, relative path -> UTF-8 bytes, for the chosen targets."""
    return {path: text.encode("utf-8") for path, text in render_text(mesh, targets).items()}
