"""The pipeline in one place: load -> validate -> model -> render; `write` takes the files.

Commands call these functions; each returns values (problems, files) instead of printing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jarvis_config.load import Document, load_path
from jarvis_config.model.mesh import Mesh, build_mesh
from jarvis_config.problems import Problem, Severity, has_errors
from jarvis_config.validate.hostile import check_hostile, check_hostile_mesh
from jarvis_config.validate.schema import check_schema
from jarvis_config.validate.semantics import check_mesh, check_semantics


@dataclass
class Compiled:
    """What loading and validating one config produced: the mesh only when no error was found."""

    document: Document | None
    mesh: Mesh | None
    problems: list[Problem] = field(default_factory=list)


def compile_config(
    path: Path, *, strict: bool = False, environ: Mapping[str, str] | None = None
) -> Compiled:
    """Load and validate one config path (a file, or a folder of split files)."""
    document, problems = load_path(path)
    if document is None or has_errors(problems):
        return Compiled(document, None, sorted(problems))
    compiled = compile_document(document, strict=strict, environ=environ)
    if problems:
        compiled.problems = sorted(set(problems + compiled.problems))
    return compiled


def compile_document(
    doc: Document, *, strict: bool = False, environ: Mapping[str, str] | None = None
) -> Compiled:
    """Validate a loaded document: the JSON Schema, then the semantic rules, then the rules that
    need the built mesh; warnings become errors under `strict`. The mesh is built once.

    Semantic rules run even when the schema failed: they skip what is malformed, so one run
    reports a typo'd field and a dangling reference together.
    """
    problems = check_schema(doc)
    environ = os.environ if environ is None else environ
    problems += check_semantics(doc, environ=environ)
    problems += check_hostile(doc, environ=environ)
    mesh = None
    if not has_errors(problems):
        mesh = build_mesh(doc.data)
        problems += check_mesh(mesh, doc) + check_hostile_mesh(mesh, doc)
    if strict:
        problems = [p if p.is_error else _promote(p) for p in problems]
    problems = sorted(set(problems))
    return Compiled(doc, None if has_errors(problems) else mesh, problems)


def validate(
    doc: Document, *, strict: bool = False, environ: Mapping[str, str] | None = None
) -> list[Problem]:
    """All problems of a loaded document."""
    return compile_document(doc, strict=strict, environ=environ).problems


def _promote(problem: Problem) -> Problem:
    return Problem(
        problem.location, problem.code, problem.message, problem.path, problem.hint, Severity.ERROR
    )


def render(mesh: Mesh, targets: Sequence[str] | None = None) -> dict[str, bytes]:
    """Every output file, relative path -> bytes, for the chosen targets (all by default)."""
    # Imported here so that `validate` never pays for the renderers, Jinja2 and the templates.
    from jarvis_config.render import render_targets

    return render_targets(mesh, targets)
