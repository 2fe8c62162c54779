"""`jarvis-config validate`: check configs, reporting every problem."""

from __future__ import annotations

from pathlib import Path

from jarvis_config import pipeline
from jarvis_config.commands.common import report, without_cycle_collection
from jarvis_config.outcome import echo
from jarvis_config.problems import Problem, has_errors


def validate(paths: list[Path], *, fmt: str, strict: bool) -> int:
    return without_cycle_collection(lambda: _validate(paths, fmt=fmt, strict=strict))


def _validate(paths: list[Path], *, fmt: str, strict: bool) -> int:
    problems: list[Problem] = []
    for path in paths:
        problems += pipeline.compile_config(path, strict=strict).problems
    report(problems, fmt)
    errors = sum(1 for p in problems if p.is_error)
    if fmt == "text":
        warnings = len(problems) - errors
        verdict = "invalid" if errors else "valid"
        echo(
            f"{len(paths)} config{'s' if len(paths) != 1 else ''} {verdict}: "
            f"{errors} error{'s' if errors != 1 else ''}, "
            f"{warnings} warning{'s' if warnings != 1 else ''}",
            err=bool(errors),
        )
    return 1 if has_errors(problems) else 0
