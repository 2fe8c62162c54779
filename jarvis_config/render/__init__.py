"""Stage 4, render: one module per target, in a registry.

A renderer takes the normalised `Mesh` and returns {relative path: text}. Adding a target is one
module, one template folder under templates/, and one line in TARGETS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from jarvis_config.errors import RenderError
from jarvis_config.model.mesh import Mesh
from jarvis_config.validate.wording import did_you_mean

Renderer = Callable[[Mesh], dict[str, str]]


def _targets() -> dict[str, Renderer]:
    # Imported lazily so `validate` never pays for Jinja2 and the templates.
    from jarvis_config.render import compose, kubernetes, litellm

    return {"litellm": litellm.render, "compose": compose.render, "kubernetes": kubernetes.render}


TARGET_NAMES = ("litellm", "compose", "kubernetes")


def render_targets(mesh: Mesh, targets: Sequence[str] | None = None) -> dict[str, bytes]:
    registry = _targets()
    chosen = list(targets) if targets else list(registry)
    unknown = [name for name in chosen if name not in registry]
    if unknown:
        hint = did_you_mean(unknown[0], registry)
        raise RenderError(
            f"unknown target {unknown[0]!r}; known targets: {', '.join(sorted(registry))}{hint}"
        )
    files: dict[str, bytes] = {}
    for name in chosen:
        for relative, text in registry[name](mesh).items():
            files[relative] = text.encode("utf-8")
    return dict(sorted(files.items()))
