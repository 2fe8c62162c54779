"""The pipeline in one place: load -> validate -> model -> render -> write.

The CLI calls these functions; each returns values (problems, files) instead of printing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jarvis_config.load import Document, load_path
from jarvis_config.model import Mesh, build_mesh
from jarvis_config.problems import Problem, has_errors
from jarvis_config.render import render_targets
from jarvis_config.validate import validate


@dataclass
class Compiled:
    """What loading and validating one config path produced."""

    path: Path
    document: Document | None
    mesh: Mesh | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mesh is not None and not has_errors(self.problems)


def compile_config(
    path: Path, *, strict: bool = False, environ: Mapping[str, str] | None = None
) -> Compiled:
    """Load and validate; build the mesh model only when no error was found."""
    document, problems = load_path(path)
    if document is None or has_errors(problems):
        return Compiled(path, document, None, sorted(problems))
    problems = sorted(set(problems + validate(document, strict=strict, environ=environ)))
    mesh = None if has_errors(problems) else build_mesh(document.data)
    return Compiled(path, document, mesh, problems)


def render(mesh: Mesh, targets: Sequence[str] | None = None) -> dict[str, bytes]:
    """Every output file, relative path -> bytes, for the chosen targets (all by default)."""
    return render_targets(mesh, targets)
