"""Reporters: how problems reach the user. A registry, one function per format."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

from jarvis_config.problems import Problem

# Line breaks and other control characters (from a file name, say) would split a problem
# over several lines of a line-based report: they are written as escapes.
_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    return _BREAKING.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


def _at(problem: Problem) -> str:
    return f" (at {problem.path})" if problem.path is not None else ""


def _text(problems: Iterable[Problem]) -> str:
    lines = []
    for p in problems:
        lines.append(one_line(f"{p.location}: {p.severity.value}[{p.code}]: {p.message}{_at(p)}"))
        if p.hint:
            lines.append(one_line(f"  hint: {p.hint}"))
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


# GitHub's workflow command for each severity (it calls a note a "notice").
_GITHUB_LEVELS = {"error": "error", "warning": "warning", "note": "notice"}


def _github(problems: Iterable[Problem]) -> str:
    """GitHub workflow commands: annotations on the pull request's changed lines. Every value
    is escaped by GitHub's rules (data: `%`, CR, LF; properties also `:` and `,`), so no input
    can end the command early or start another one."""
    lines = []
    for p in problems:
        message = f"[{p.code}] {p.message}{_at(p)}" + (f" hint: {p.hint}" if p.hint else "")
        properties = {"file": p.location.file}
        if not p.location.whole_file:
            properties |= {"line": str(p.location.line), "col": str(p.location.col)}
        properties["title"] = f"jarvis-config {p.code}"
        listed = ",".join(f"{k}={_github_property(v)}" for k, v in properties.items())
        lines.append(f"::{_GITHUB_LEVELS[p.severity.value]} {listed}::{_github_data(message)}")
    return "\n".join(lines)


def _github_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


REPORTERS: dict[str, Callable[[Iterable[Problem]], str]] = {
    "text": _text,
    "json": _json,
    "github": _github,
}


def render_problems(problems: Iterable[Problem], fmt: str = "text") -> str:
    return REPORTERS[fmt](sorted(problems))
