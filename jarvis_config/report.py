"""Reporters: how problems reach the user. A registry, one function per format."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from jarvis_config.problems import Problem


def _at(problem: Problem) -> str:
    return f" (at {problem.path})" if problem.path is not None else ""


def _text(problems: Iterable[Problem]) -> str:
    lines = []
    for p in problems:
        lines.append(f"{p.location}: {p.severity.value}[{p.code}]: {p.message}{_at(p)}")
        if p.hint:
            lines.append(f"  hint: {p.hint}")
    return "\n".join(lines)


def _json(problems: Iterable[Problem]) -> str:
    items = [
        {
            "file": p.location.file,
            "line": None if p.location.whole_file else p.location.line,
            "col": None if p.location.whole_file else p.location.col,
            "severity": p.severity.value,
            "code": p.code,
            "message": p.message,
            "path": p.path,
            "hint": p.hint,
        }
        for p in problems
    ]
    return json.dumps({"problems": items}, indent=2)


def _github(problems: Iterable[Problem]) -> str:
    """GitHub workflow commands: annotations on the pull request's changed lines."""
    lines = []
    for p in problems:
        message = f"[{p.code}] {p.message}{_at(p)}" + (f" hint: {p.hint}" if p.hint else "")
        message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        title = f"jarvis-config {p.code}"
        where = "" if p.location.whole_file else f",line={p.location.line},col={p.location.col}"
        lines.append(f"::{p.severity.value} file={p.location.file}{where},title={title}::{message}")
    return "\n".join(lines)


REPORTERS: dict[str, Callable[[Iterable[Problem]], str]] = {
    "text": _text,
    "json": _json,
    "github": _github,
}


def render_problems(problems: Iterable[Problem], fmt: str = "text") -> str:
    return REPORTERS[fmt](sorted(problems))
