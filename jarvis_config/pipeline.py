"""The pipeline in one place: load -> validate -> model -> render; `write` takes the files.

Commands call these functions; each returns values (problems, files) instead of printing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from jarvis_config.load import Document, load_path
from jarvis_config.model.mesh import Mesh, build_mesh
from jarvis_config.problems import Problem, has_errors
from jarvis_config.validate.hostile import check_hostile, check_hostile_mesh
from jarvis_config.validate.outputs import check_outputs, check_outputs_mesh
from jarvis_config.validate.schema import check_schema
from jarvis_config.validate.semantics import check_mesh, check_semantics

STRICT_NOTE = "--strict makes this an error"


@dataclass(frozen=True, slots=True)
class Compiled:
    """What loading and validating one config produced: the loaded document (its positions),
    the mesh model (None when there are errors) and every problem found, sorted."""

    document: Document | None
    mesh: Mesh | None
    problems: list[Problem]


def compile_config(
    path: Path, *, strict: bool = False, environ: Mapping[str, str] | None = None
) -> Compiled:
    """Load and validate one config path (a file, or a folder of split files)."""
    document, problems = load_path(path)
    if document is None or has_errors(problems):
        return Compiled(document, None, sorted(problems))
    compiled = compile_document(document, strict=strict, environ=environ)
    if not problems:
        return compiled
    return replace(compiled, problems=sorted(set(problems + compiled.problems)))


def compile_document(
    doc: Document, *, strict: bool = False, environ: Mapping[str, str] | None = None
) -> Compiled:
    """Validate a loaded document: the JSON Schema, then the semantic rules, then the rules that
    need the built mesh; warnings become errors under `strict`. The mesh is built once.

    Semantic rules run even when the schema failed: they skip what is malformed, so one run
    reports a typo'd field and a dangling reference together.
    """
    environ = os.environ if environ is None else environ
    problems = check_schema(doc)
    problems += check_semantics(doc, environ=environ)
    problems += _one_per_number(check_hostile(doc, environ=environ), problems)
    problems += check_outputs(doc, environ=environ)
    mesh = None
    if not has_errors(problems):
        mesh = build_mesh(doc.data)
        problems += check_mesh(mesh, doc) + check_hostile_mesh(mesh, doc)
        problems += check_outputs_mesh(mesh, doc)
    problems = sorted({p.as_error() if strict else _noting_strict(p) for p in problems})
    return Compiled(doc, None if has_errors(problems) else mesh, problems)


def _one_per_number(hostile: list[Problem], others: list[Problem]) -> list[Problem]:
    """A huge number where the schema sets a range is one problem, the range's (it says what
    the value may be), not that and number-too-large."""
    bounded = {p.path for p in others if p.code == "out-of-range"}
    return [p for p in hostile if not (p.code == "number-too-large" and p.path in bounded)]


def validate(
    doc: Document, *, strict: bool = False, environ: Mapping[str, str] | None = None
) -> list[Problem]:
    """All problems of a loaded document."""
    return compile_document(doc, strict=strict, environ=environ).problems


def _noting_strict(problem: Problem) -> Problem:
    """A warning says that --strict would fail on it (an error, or under --strict, does not)."""
    if problem.is_error:
        return problem
    hint = f"{problem.hint}; {STRICT_NOTE}" if problem.hint else STRICT_NOTE
    return replace(problem, hint=hint)


def render(mesh: Mesh, targets: Sequence[str] | None = None) -> dict[str, bytes]:
    """Every output file, relative path -> bytes, for the chosen targets (all by default)."""
    # Imported here so that `validate` never pays for the renderers, Jinja2 and the templates.
    from jarvis_config.render import render_targets

    return render_targets(mesh, targets)
