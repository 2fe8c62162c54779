"""Problems as values: what every stage reports instead of raising at the first fault, each
with where it stands in the input, a catalogued code, a message and a hint."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

# A place in the document's data: keys and list indexes from the root, ("models", "a", 0).
PathParts = tuple[str | int, ...]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"  # worth knowing, nothing to fix (doctor: a model the mesh does not use)


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """Where a value stands in the input: 1-based line and column; line 0 means the file as
    a whole (it is missing, unreadable, or not YAML at all), printed as the file name alone."""

    file: str
    line: int = 1
    col: int = 1

    @property
    def whole_file(self) -> bool:
        return self.line == 0

    def __str__(self) -> str:
        return self.file if self.whole_file else f"{self.file}:{self.line}:{self.col}"


def whole_file(file: str) -> Location:
    return Location(file, 0, 0)


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One finding, printed as `FILE:LINE:COL: error[CODE]: message (at $.path)` + hint.
    `path` is None for problems of the file itself (YAML syntax, encoding), which have no
    place in the document's data.

    Problems are equal, hashed and sorted by where, what code, what message and which path:
    the hint and the severity don't make a finding another one (two rules reporting the same
    finding, one of them with a hint, are one problem)."""

    location: Location
    code: str
    message: str
    path: str | None = None
    hint: str | None = field(default=None, compare=False)
    severity: Severity = field(default=Severity.ERROR, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_error(self) -> Problem:
        """The same problem as an error (`--strict` promotes warnings)."""
        return replace(self, severity=Severity.ERROR)


def json_path(parts: PathParts) -> str:
    """A path tuple as JSONPath: ('models', 'llama3') -> $.models.llama3."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier() or _is_plain_name(part):
            out.append(f".{part}")
        else:
            out.append(f"[{part!r}]")
    return "".join(out)


def _is_plain_name(text: str) -> bool:
    return bool(text) and all(ch.isalnum() or ch in "-_" for ch in text)


def has_errors(problems: list[Problem]) -> bool:
    return any(problem.is_error for problem in problems)
