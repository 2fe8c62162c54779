"""The test plumbing, one helper each: where things are (ROOT and the folders below it), which
examples are meshes, compiling an example, and comparing rendered text with golden files."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from jarvis_config import pipeline
from jarvis_config.model.mesh import Mesh

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"
GOLDEN = ROOT / "tests" / "golden"
CASES = ROOT / "tests" / "cases"
HOMELAB = EXAMPLES_DIR / "homelab"
# The examples reference these; tests pass them explicitly so no env-unset warning interferes.
TEST_ENV = {"JARVIS_MASTER_KEY": "unused", "OPENAI_API_KEY": "unused"}
SECTIONS = {"version", "gateway", "nodes", "providers", "models", "aliases", "routing"}
YAML_SUFFIXES = (".yaml", ".yml")
# One line of the text report: FILE:LINE:COL (or FILE alone for a problem of the whole file),
# the severity and code, the message, and the JSON path unless the problem has none.
PROBLEM = re.compile(
    r"^(?P<file>.+?)(?::(?P<line>\d+):(?P<col>\d+))?: (?P<severity>error|warning)"
    r"\[(?P<code>[A-Za-z0-9_.-]+)\]: (?P<message>.+?)(?: \(at \$(?P<path>.*)\))?$"
)


def mesh_examples() -> list[Path]:
    """Every example mesh under examples/: a YAML file, or a folder whose YAML files all hold
    mesh sections (so CI recipes and other YAML that sits there are left out)."""
    found = []
    for entry in sorted(EXAMPLES_DIR.iterdir()):
        if entry.is_dir():
            files = sorted(p for p in entry.rglob("*") if p.suffix in YAML_SUFFIXES)
        else:
            files = [entry] if entry.suffix in YAML_SUFFIXES else []
        docs = [yaml.safe_load(p.read_text("utf-8")) for p in files]
        if (
            docs
            and all(isinstance(d, dict) and set(d) <= SECTIONS for d in docs)
            and any("version" in d for d in docs)
        ):
            found.append(entry)
    return found


def example_params() -> list[object]:
    return [pytest.param(p, id=p.name) for p in mesh_examples()]


def compile_mesh(example: Path | str) -> Mesh:
    """The mesh of an example (a name under examples/) or of any config path."""
    path = EXAMPLES_DIR / example if isinstance(example, str) else example
    compiled = pipeline.compile_config(path, environ=TEST_ENV)
    assert compiled.mesh is not None, [str(p) for p in compiled.problems]
    return compiled.mesh


def check_golden(
    example: str,
    files: Mapping[str, str],
    *,
    owns: str | tuple[str, ...],
    update: bool,
    root: Path = GOLDEN,
) -> None:
    """Compare rendered `files` (paths relative to tests/golden/<example>/) with the golden
    files there that match the glob patterns `owns`, exactly and as a set: a golden file that
    nothing renders any more fails too. `--update-golden` rewrites them and deletes leftovers;
    review the diff."""
    folder = root / example
    patterns = (owns,) if isinstance(owns, str) else owns

    def owned(relative: str) -> bool:
        return any(fnmatch(relative, pattern) for pattern in patterns)

    rendered = {name: text for name, text in files.items() if owned(name)}
    assert rendered, f"nothing rendered matches {patterns}"
    stored = {
        p.relative_to(folder).as_posix()
        for p in (folder.rglob("*") if folder.is_dir() else ())
        if p.is_file() and owned(p.relative_to(folder).as_posix())
    }
    if update:
        _rewrite(folder, rendered, stored)
        return
    missing = sorted(set(rendered) - stored)
    assert not missing, f"no golden file for {missing} in {folder}; run pytest --update-golden"
    for name, text in sorted(rendered.items()):
        assert text == (folder / name).read_text(encoding="utf-8"), (
            f"{name} differs from {folder / name}; if the change is intended, run "
            "pytest --update-golden and review the diff"
        )
    leftover = sorted(stored - set(rendered))
    assert not leftover, f"golden files nothing renders any more: {leftover} in {folder}"


def _rewrite(folder: Path, rendered: Mapping[str, str], stored: set[str]) -> None:
    for name, text in rendered.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    for name in stored - set(rendered):
        (folder / name).unlink()


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` as a throwaway identity; its stdout, stripped."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()
