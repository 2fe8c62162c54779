"""`jarvis-config discover`: write a starter mesh from what running runtimes serve."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from jarvis_config import pipeline
from jarvis_config.errors import CommandError
from jarvis_config.live.discover import Found, starter_yaml
from jarvis_config.live.discover import discover as ask
from jarvis_config.live.probes import DEFAULT_TIMEOUT
from jarvis_config.load import load_text
from jarvis_config.problems import has_errors
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
    text = starter_yaml([r for r in results if isinstance(r, Found)])
    _check_valid(text)
    if options.out is None:
        click.echo(text, nl=False)
        return 0
    write_file(options.out, text.encode())
    count = sum(len(r.models) for r in results if isinstance(r, Found))
    click.echo(f"wrote {options.out} ({count} models); next: jarvis-config validate {options.out}")
    return 0


def _check_valid(text: str) -> None:
    """The starter must validate; if it does not, that is a bug here, never the user's."""
    doc, problems = load_text(text, "<discovered>")
    if doc is not None:
        problems += pipeline.validate(doc, environ={"JARVIS_MASTER_KEY": "set"})
    if doc is None or has_errors(problems):
        raise RuntimeError("the discovered mesh does not validate:\n" + render_problems(problems))
