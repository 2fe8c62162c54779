"""Stage 2d, values and their outputs: rules that keep a value harmless in every file and
every line of text it reaches, whichever format that is.

A value written by a pull request's author travels into a CI log (`diff`, `explain`), a
Kubernetes manifest, a compose file and the proxy's config. The rules here refuse what no
output can carry as written: line breaks and control characters in single-line fields, and
secret variables read for a purpose other than their own (the gateway's master key sent as a
provider's bearer token). They run beside the hostile-value rules (`check_outputs`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

from jarvis_config.load import Document, PathParts
from jarvis_config.problems import Problem
from jarvis_config.validate.codes import emits
from jarvis_config.validate.schema import subject
from jarvis_config.validate.semantics import View, _problem, _walk

# Control characters (C0, DEL, C1 with NEL), the Unicode line and paragraph separators, and the
# bidirectional overrides that make text read differently than it is ("Trojan source").
UNSAFE_ANYWHERE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
UNSAFE = re.compile(f"[\t\n{UNSAFE_ANYWHERE}]")
UNSAFE_IN_PROSE = re.compile(f"[{UNSAFE_ANYWHERE}]")
# Fields that are text of several lines by nature: prose, and stop strings ("\n\nUser:") that
# a model's output is matched against. Every other string is one line: a name, a source, an
# address, a version, a URL. Their own rules check addresses and URLs.
MULTI_LINE = ("description", "stop")
CHECKED_ELSEWHERE = ("address", "api_base")


def check_outputs(doc: Document, *, environ: Mapping[str, str]) -> list[Problem]:
    """Every problem of values that no output could carry safely, sorted."""
    view = View(doc, environ)
    return sorted({problem for rule in RULES for problem in rule(view)})


# --- one line is one line --------------------------------------------------------------------


def _is_multi_line(path: PathParts) -> bool:
    """description, params.stop as a string and each item of params.stop as a list."""
    named = [part for part in path if isinstance(part, str)]
    return bool(named) and named[-1] in MULTI_LINE


def _unsafe_in(path: PathParts, value: str) -> str | None:
    pattern = UNSAFE_IN_PROSE if _is_multi_line(path) else UNSAFE
    match = pattern.search(value)
    return None if match is None else match.group()


def _spelled(char: str) -> str:
    return {"\n": "a line break", "\t": "a tab"}.get(char, f"the character U+{ord(char):04X}")


@emits("control-character")
def control_characters(view: View) -> Iterator[Problem]:
    """No runtime serves a name with a line break, and a line break in a value printed by
    `diff` or `explain` in CI starts a line the CI reads as a command (`::error ...`)."""
    for path, value in _walk(view.doc.data):
        if not isinstance(value, str) or not path or path[-1] in CHECKED_ELSEWHERE:
            continue
        char = _unsafe_in(path, value)
        if char is not None:
            where = "a description or stop string" if _is_multi_line(path) else "a one-line field"
            yield _problem(
                view.doc.locate(path),
                "control-character",
                f"{subject(path)} holds {_spelled(char)}, which {where} cannot hold",
                path,
                "remove it: names, sources and settings are one line of printable text"
                if not _is_multi_line(path)
                else "remove it; line breaks and tabs are the only control characters allowed",
            )


Rule = Callable[[View], Iterator[Problem]]
RULES: tuple[Rule, ...] = (control_characters,)
