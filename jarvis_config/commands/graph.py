"""`jarvis-config graph`: draw the mesh."""

from __future__ import annotations

from pathlib import Path

from jarvis_config.commands.common import compile_or_fail
from jarvis_config.outcome import echo
from jarvis_config.review.graph import render_graph


def graph(path: Path, *, fmt: str) -> int:
    """Print the picture of the mesh at `path` in format `fmt`."""
    echo(render_graph(compile_or_fail(path), fmt), nl=False)
    return 0
