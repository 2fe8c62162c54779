"""`jarvis-config build`: render every target into OUT, or check that OUT is up to date."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from jarvis_config import pipeline
from jarvis_config.commands.common import check_up_to_date, compile_or_fail
from jarvis_config.write import write_tree


@dataclass(frozen=True)
class BuildOptions:
    path: Path
    out: Path
    targets: tuple[str, ...] = ()
    check: bool = False
    force: bool = False
    fmt: str = "text"
    strict: bool = False


def build(options: BuildOptions) -> int:
    with _without_cycle_collection():
        return _build(options)


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """The build makes next to no cyclic garbage, but the cycle collector's full passes over
    the growing document, model and rendered data cost a third of a large build (20,000
    deployments: 10.6 s -> 7.6 s of CPU) and made it grow faster than linearly. Reference
    counting still frees everything; the collector is back on when the build returns."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(options: BuildOptions) -> int:
    mesh = compile_or_fail(options.path, fmt=options.fmt, strict=options.strict)
    files = pipeline.render(mesh, options.targets or None)
    if options.check:
        return check_up_to_date(
            options.out, files, "files", f"jarvis-config build {options.path} -o {options.out}"
        )
    write_tree(options.out, files, force=options.force, inputs=(options.path,))
    click.echo(f"wrote {len(files)} files to {options.out}")
    return 0
