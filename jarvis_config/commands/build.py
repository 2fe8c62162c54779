"""`jarvis-config build`: render every target into OUT, or check that OUT is up to date."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from jarvis_config import pipeline
from jarvis_config.commands.common import (
    check_up_to_date,
    compile_or_fail,
    without_cycle_collection,
)
from jarvis_config.outcome import echo
from jarvis_config.render import TARGETS
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
    mesh = compile_or_fail(options.path, fmt=options.fmt, strict=options.strict).mesh
    files = pipeline.render(mesh, options.targets or None)
    if options.check:
        # Checking some targets: the others' files in OUT are theirs, not unexpected.
        others = [t for t in TARGETS if options.targets and t not in options.targets]
        elsewhere = set(pipeline.render(mesh, others)) if others else set()
        return check_up_to_date(options.out, files, "files", rebuild(options), elsewhere)
    write_tree(options.out, files, force=options.force, inputs=(options.path,))
    echo(f"wrote {len(files)} files to {options.out}")
    return 0


def rebuild(options: BuildOptions) -> str:
    """The command that brings OUT up to date: this one, without --check."""
    words = ["jarvis-config", "build", str(options.path), "-o", str(options.out)]
    for target in options.targets:
        words += ["--target", target]
    if options.strict:
        words.append("--strict")
    return shlex.join(words)
