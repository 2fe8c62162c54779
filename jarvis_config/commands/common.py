"""What several commands share: compile a config and print its problems, the --check drift
report, the cycle collector paused while a mesh is built."""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jarvis_config import pipeline
from jarvis_config.errors import DriftError, InvalidConfigError
from jarvis_config.load import Document
from jarvis_config.model.mesh import Mesh
from jarvis_config.outcome import echo
from jarvis_config.problems import Problem
from jarvis_config.report import render_problems


def without_cycle_collection(action: Callable[[], int]) -> int:
    """Run a command that loads (and renders) a mesh with Python's cycle collector paused.
    The pipeline makes next to no cyclic garbage, but the collector's full passes over the
    growing document, model and rendered data would make large meshes cost more than linear
    time. Reference counting still frees everything; the collector is back on when the
    command returns."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return action()
    finally:
        if enabled:
            gc.enable()


def report(problems: Sequence[Problem], fmt: str = "text") -> None:
    if problems:
        echo(render_problems(problems, fmt), err=fmt == "text", raw=True)


@dataclass(frozen=True, slots=True)
class Valid:
    """A config that passed validation: its loaded document (positions) and its mesh."""

    document: Document
    mesh: Mesh


def compile_or_fail(path: Path, *, fmt: str = "text", strict: bool = False) -> Valid:
    """Load and validate one config; print its problems; raise when there are errors."""
    compiled = pipeline.compile_config(path, strict=strict)
    report(compiled.problems, fmt)
    if compiled.mesh is None or compiled.document is None:
        count = sum(1 for p in compiled.problems if p.is_error)
        # The problems are printed above; the error carries only the summary line.
        raise InvalidConfigError(f"{path}: {count} error{'s' if count != 1 else ''}")
    return Valid(compiled.document, compiled.mesh)


def check_up_to_date(
    out: Path,
    files: Mapping[str, bytes],
    noun: str,
    rebuild: str,
    elsewhere: Collection[str] = (),
) -> int:
    """`--check`: print a short diff and fail when `out` differs from `files`; `rebuild` is
    the command to rerun, with the options given; `elsewhere`, files left out of the check."""
    from jarvis_config.write import drift  # not on `validate`'s path: only --check reads OUT

    stale = drift(out, files, elsewhere=elsewhere)
    if stale:
        echo("\n".join(stale))
        raise DriftError(f"{out} is stale; run: {rebuild}")
    echo(f"{out} is up to date ({len(files)} {noun})")
    return 0
