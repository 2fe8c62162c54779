"""What each CLI command does: small functions that run the pipeline and return an exit code.

They print results to stdout and problems to stderr; they raise `JarvisConfigError` for the
failures that `cli.run` reports.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from jarvis_config import pipeline, resources
from jarvis_config.errors import DriftError, ValidationError, WriteError
from jarvis_config.model import Mesh
from jarvis_config.problems import Problem, has_errors
from jarvis_config.report import render_problems
from jarvis_config.write import drift, write_tree


def report(problems: Sequence[Problem], fmt: str = "text") -> None:
    if problems:
        click.echo(render_problems(problems, fmt), err=fmt == "text")


def compile_or_fail(path: Path, *, fmt: str = "text", strict: bool = False) -> Mesh:
    """Load and validate one config; print its problems; raise when there are errors."""
    compiled = pipeline.compile_config(path, strict=strict)
    report(compiled.problems, fmt)
    if compiled.mesh is None:
        count = sum(1 for p in compiled.problems if p.is_error)
        # The problems are printed above; the error carries only the summary line.
        raise ValidationError(f"{path}: {count} error{'s' if count != 1 else ''}")
    return compiled.mesh


def validate(paths: list[Path], *, fmt: str, strict: bool) -> int:
    problems: list[Problem] = []
    for path in paths:
        problems += pipeline.compile_config(path, strict=strict).problems
    report(problems, fmt)
    errors = sum(1 for p in problems if p.is_error)
    if fmt == "text":
        warnings = len(problems) - errors
        verdict = "invalid" if errors else "valid"
        click.echo(f"{len(paths)} config{'s' if len(paths) != 1 else ''} {verdict}: "
                   f"{errors} error{'s' if errors != 1 else ''}, "
                   f"{warnings} warning{'s' if warnings != 1 else ''}", err=bool(errors))
    return 1 if has_errors(problems) else 0


def print_schema() -> int:
    click.echo(resources.schema_text().rstrip("\n"))
    return 0


def init(path: Path) -> int:
    starter = resources.read_text("templates", "init/jarvis.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(starter, encoding="utf-8")
    # The starter's modeline points editors at a schema file beside it.
    schema = path.parent / resources.SCHEMA_FILE
    if not schema.exists():
        schema.write_text(resources.schema_text(), encoding="utf-8")
        click.echo(f"wrote {schema}")
    click.echo(f"wrote {path}; next: jarvis-config validate {path}")
    return 0


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
    mesh = compile_or_fail(options.path, fmt=options.fmt, strict=options.strict)
    files = pipeline.render(mesh, options.targets or None)
    if options.check:
        return check_up_to_date(options.out, files, "files",
                                f"jarvis-config build {options.path} -o {options.out}")
    _refuse_out_holding_config(options.path, options.out)
    write_tree(options.out, files, force=options.force)
    click.echo(f"wrote {len(files)} files to {options.out}")
    return 0


def check_up_to_date(out: Path, files: Mapping[str, bytes], noun: str, rebuild: str) -> int:
    """`--check`: print a short diff and fail when `out` differs from `files`."""
    stale = drift(out, files)
    if stale:
        click.echo("\n".join(stale))
        raise DriftError(f"{out} is stale; run: {rebuild}")
    click.echo(f"{out} is up to date ({len(files)} {noun})")
    return 0


def _refuse_out_holding_config(config: Path, out: Path) -> None:
    """Replacing OUT must never delete the config it was built from (`-o .` with --force)."""
    config, out = config.resolve(), out.resolve()
    if config == out or out in config.parents:
        raise WriteError(f"{out} holds the config {config}; choose an output folder outside it")


def routes(path: Path, *, as_json: bool) -> int:
    from jarvis_config.render import routes as routes_target

    mesh = compile_or_fail(path)
    table = routes_target.routing_table(mesh)
    if as_json:
        click.echo(json.dumps(table, indent=2, sort_keys=True))
    else:
        click.echo(routes_target.format_table(table))
    return 0
