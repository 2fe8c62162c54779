"""`jarvis-config build`: render every target into OUT, or check that OUT is up to date."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jarvis_config import pipeline
from jarvis_config.commands.common import (
    check_up_to_date,
    compile_or_fail,
    without_cycle_collection,
)
from jarvis_config.outcome import echo
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
    return without_cycle_collection(lambda: _build(options))


def _build(options: BuildOptions) -> int:
    mesh = compile_or_fail(options.path, fmt=options.fmt, strict=options.strict)
    files = pipeline.render(mesh, options.targets or None)
    if options.check:
        return check_up_to_date(
            options.out, files, "files", f"jarvis-config build {options.path} -o {options.out}"
        )
    write_tree(options.out, files, force=options.force, inputs=(options.path,))
    echo(f"wrote {len(files)} files to {options.out}")
    return 0
