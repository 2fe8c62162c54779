"""`jarvis-config discover`: write a starter mesh from what running runtimes serve."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jarvis_config import pipeline
from jarvis_config.errors import CommandError
from jarvis_config.live.discover import Found, starter_yaml
from jarvis_config.live.discover import discover as ask
from jarvis_config.live.probes import DEFAULT_TIMEOUT
from jarvis_config.load import load_text
from jarvis_config.outcome import echo
from jarvis_config.problems import Problem, json_path
from jarvis_config.report import render_problems
from jarvis_config.write import write_file


@dataclass(frozen=True)
class DiscoverOptions:
    urls: tuple[str, ...]
    out: Path | None = None
    timeout: float = DEFAULT_TIMEOUT


def discover(options: DiscoverOptions) -> int:
    """Write (or print) the starter mesh; exit 1 without writing when a URL cannot be read."""
    results = ask(options.urls, options.timeout)
    failures = [r for r in results if isinstance(r, str)]
    if failures:
        raise CommandError(
            "cannot read every runtime; nothing written:\n  "
            + "\n  ".join(failures)
            + "\n  hint: check the URLs (http://HOST:PORT of each runtime) and that they run"
        )
    text = _starter([r for r in results if isinstance(r, Found)])
    if options.out is None:
        echo(text, nl=False)
        return 0
    write_file(options.out, text.encode())
    count = sum(len(r.models) for r in results if isinstance(r, Found))
    echo(f"wrote {options.out} ({count} models); next: jarvis-config validate {options.out}")
    return 0


def _starter(found: list[Found]) -> str:
    """The starter, validated. A runtime may name a model in a way no mesh accepts as a
    source (empty, `${VAR}`, a token look-alike): such models are left out, not fatal."""
    text = starter_yaml(found)
    bad = _faulty_models(text, _errors(text))
    if bad:
        echo(f"warning: skipped {len(bad)} model(s) whose names cannot be a source", err=True)
        text = starter_yaml(found, skip=frozenset(bad))
    problems = _errors(text)
    if problems:  # a bug here, never the user's: cli.run reports it as an internal error
        raise RuntimeError("the discovered mesh does not validate:\n" + render_problems(problems))
    return text


def _faulty_models(text: str, problems: list[Problem]) -> set[str]:
    doc, _ = load_text(text, "<discovered>")
    names = (doc.data.get("models") or {}) if doc is not None else {}
    return {
        name
        for name in names
        for p in problems
        if p.path is not None
        and re.match(re.escape(json_path(("models", name))) + r"($|[.\[])", p.path)
    }


def _errors(text: str) -> list[Problem]:
    doc, problems = load_text(text, "<discovered>")
    if doc is not None:
        problems += pipeline.validate(doc, environ={"JARVIS_MASTER_KEY": "set"})
    return [p for p in problems if p.is_error]
