"""Stage 2, validate: the JSON Schema first, then the semantic rules, every problem in one run."""

from __future__ import annotations

import os
from collections.abc import Mapping

from jarvis_config.load import Document
from jarvis_config.model import build_mesh
from jarvis_config.problems import Problem, Severity, has_errors
from jarvis_config.validate_schema import check_schema
from jarvis_config.validate_semantics import check_mesh, check_semantics


def validate(
    doc: Document, *, strict: bool = False, environ: Mapping[str, str] | None = None
) -> list[Problem]:
    """All problems of a loaded document. Warnings become errors under `strict`.

    Semantic rules run even when the schema failed: they skip what is malformed, so one run
    reports a typo'd field and a dangling reference together.
    """
    problems = check_schema(doc)
    problems += check_semantics(doc, environ=os.environ if environ is None else environ)
    if not has_errors(problems):
        problems += check_mesh(build_mesh(doc.data), doc)
    if strict:
        problems = [p if p.is_error else _promote(p) for p in problems]
    return sorted(set(problems))


def _promote(problem: Problem) -> Problem:
    return Problem(problem.location, problem.code, problem.message, problem.path, problem.hint,
                   Severity.ERROR)
