"""`jarvis-config diff`: what a config change does to the mesh, then to the rendered files.

The two sides compared are built here (a config, a built folder, a config at a git revision);
`review.diff` compares them and formats the report.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jarvis_config import pipeline
from jarvis_config.commands.common import compile_or_fail
from jarvis_config.errors import CommandError, InvalidConfigError
from jarvis_config.outcome import echo
from jarvis_config.review.diff import REPORT_FORMATS, Side, build_report
from jarvis_config.review.facts import facts_of_files, facts_of_mesh
from jarvis_config.write import MARKER, scan_tree


@dataclass(frozen=True)
class DiffOptions:
    path: Path
    new: Path | None = None
    out: Path | None = None
    against: str | None = None
    fmt: str = "text"
    exit_code: bool = False


def diff(options: DiffOptions) -> int:
    """Exit 0, or 1 with --exit-code when anything differs."""
    with tempfile.TemporaryDirectory(prefix="jarvis-config-diff-") as workdir:
        old, new = _sides(options, Path(workdir))
        report = build_report(old, new)
    echo(REPORT_FORMATS[options.fmt](report))
    return 1 if options.exit_code and not report.identical else 0


def _sides(options: DiffOptions, workdir: Path) -> tuple[Side, Side]:
    if options.out is not None:
        built = out_side(options.out)
        mesh_side = config_side(options.path)
        # The folder holds no config: compare what both renders carry, like with like.
        return built, Side(mesh_side.label, facts_of_files(mesh_side.files), mesh_side.files)
    if options.against is not None:
        return revision_side(options.path, options.against, workdir), config_side(options.path)
    assert options.new is not None, "the CLI requires NEW, -o or --against"
    return config_side(options.path), config_side(options.new)


def config_side(path: Path, label: str | None = None) -> Side:
    mesh = compile_or_fail(path)
    return Side(label or str(path), facts_of_mesh(mesh), pipeline.render(mesh))


def out_side(out: Path) -> Side:
    """A built folder: its files (without the marker) and the facts they carry."""
    tree = scan_tree(out)
    if MARKER not in tree.files:
        what = "does not exist" if not out.exists() else "was not written by jarvis-config"
        raise CommandError(
            f"{out} {what}; build it first (jarvis-config build PATH -o {out}) "
            "or compare two configs (jarvis-config diff OLD NEW)"
        )
    refuse_irregular(str(out), tree.others)
    files = {k: v for k, v in tree.files.items() if k != MARKER}
    return Side(str(out), facts_of_files(files), files)


def refuse_irregular(where: str, others: Mapping[str, str]) -> None:
    """Links and other non-regular entries are reported, never followed or read."""
    if others:
        listed = "; ".join(f"{name} is {kind}" for name, kind in others.items())
        raise CommandError(
            f"{where} holds entries that are not regular files, which jarvis-config "
            f"does not read: {listed}"
        )


def revision_side(path: Path, rev: str, workdir: Path) -> Side:
    """The config at `path` as it was at git revision `rev`."""
    old_path = checkout_at(path, rev, workdir)
    compiled = pipeline.compile_config(old_path)
    if compiled.mesh is None:
        raise InvalidConfigError(
            f"{path} at {rev} is not a valid config; compare against another revision",
            [p for p in compiled.problems if p.is_error],
        )
    mesh = compiled.mesh
    return Side(f"{path} at {rev}", facts_of_mesh(mesh), pipeline.render(mesh))


def checkout_at(path: Path, rev: str, workdir: Path) -> Path:
    """Extract `path` (a file or folder) as of `rev` into `workdir` with `git archive`."""
    where = path if path.is_dir() else path.parent
    top = Path(_git(where, "rev-parse", "--show-toplevel").decode().strip())
    relative = path.resolve().relative_to(top.resolve()).as_posix()
    if rev.startswith("-"):
        raise CommandError(f"{rev!r} is not a git revision")
    archive = _git(top, "archive", "--format=tar", rev, "--", relative or ".")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        refuse_irregular(f"{path} at {rev}", _irregular_members(tar))
        if hasattr(tarfile, "data_filter"):
            tar.extractall(workdir, filter="data")
        else:  # pragma: no cover - Python < 3.11.4 (git archive writes no links outside)
            tar.extractall(workdir)
    return workdir / relative


def _irregular_members(tar: tarfile.TarFile) -> dict[str, str]:
    """Members of a git archive that are neither regular files nor folders (links, mostly)."""
    return {
        member.name: "a symbolic link" if member.issym() else "not a regular file"
        for member in tar.getmembers()
        if not (member.isfile() or member.isdir())
    }


def _git(cwd: Path, *args: str) -> bytes:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, check=False, timeout=120
        )
    except FileNotFoundError as exc:
        raise CommandError("git is not installed; --against needs it") from exc
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().removeprefix("fatal: ")
        raise CommandError(f"git {args[0]} failed: {message}")
    return result.stdout
