"""The console entry point (`jarvis-config`, `python -m jarvis_config`).

`validate` runs as a pre-commit hook on every commit that touches the mesh, so its start-up is
its speed, and importing click alone costs about as much as parsing the mesh
(docs/benchmarks.md, "Start-up"). A `validate` call in its plain form,
`validate PATH... [--format FORMAT] [--strict]`, is therefore read here and run without click.
Every other call, and anything this reader is not sure of (help, a misspelt option, `--`, an
unknown format, no path), goes to click (`cli.main`), which parses it and prints help and usage
errors as documented. A test holds this reader to click's own reading of the same arguments.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

from jarvis_config.outcome import EXIT_INTERRUPTED, EXIT_OK, echo, finish
from jarvis_config.report import REPORTERS


class PlainValidate(NamedTuple):
    """The parameters of a plain `validate` call, named as click names them."""

    paths: tuple[Path, ...]
    fmt: str = "text"
    strict: bool = False


def plain_validate(args: list[str]) -> PlainValidate | None:
    """The parameters of `validate PATH... [--format FORMAT] [--strict]`, options anywhere
    among the paths (as click allows); None when click must read the arguments."""
    if not args or args[0] != "validate":
        return None
    paths: list[Path] = []
    fmt, strict = "text", False
    rest = iter(args[1:])
    for arg in rest:
        if arg == "--strict":
            strict = True
        elif arg == "--format" or arg.startswith("--format="):
            value = arg.removeprefix("--format=") if "=" in arg else next(rest, None)
            if value not in REPORTERS:
                return None
            fmt = value
        elif not arg or arg.startswith("-"):
            return None
        else:
            paths.append(Path(arg))
    return PlainValidate(tuple(paths), fmt, strict) if paths else None


def main() -> int:
    try:
        request = plain_validate(sys.argv[1:])
        if request is None:
            return _click()
        from jarvis_config.commands.validate import validate

        paths, fmt, strict = request
        return finish(lambda: validate(list(paths), fmt=fmt, strict=strict))
    except KeyboardInterrupt:  # while importing, before a command could say so
        echo("interrupted", err=True)
        return EXIT_INTERRUPTED


def _click() -> int:
    from jarvis_config.cli import main as click_main

    click_main()  # standalone mode: click exits with the command's code itself
    return EXIT_OK
