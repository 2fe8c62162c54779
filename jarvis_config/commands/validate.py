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
    invalid = 0
    for path in paths:
        found = pipeline.compile_config(path, strict=strict).problems
        invalid += has_errors(found)
        problems += found
    report(problems, fmt)
    if fmt == "text":
        echo(summary(len(paths), invalid, problems), err=bool(invalid))
    return 1 if invalid else 0


def summary(given: int, invalid: int, problems: list[Problem]) -> str:
    """'2 configs valid: ...', '2 configs invalid: ...', '1 of 3 configs invalid: ...'."""
    errors = sum(1 for p in problems if p.is_error)
    warnings = len(problems) - errors
    configs = f"config{'s' if given != 1 else ''}"
    if not invalid:
        verdict = f"{given} {configs} valid"
    elif invalid == given:
        verdict = f"{given} {configs} invalid"
    else:
        verdict = f"{invalid} of {given} {configs} invalid"
    return (
        f"{verdict}: {errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}"
    )
