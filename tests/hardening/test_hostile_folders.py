"""Hostile output folders and input files: links, look-alikes, inputs inside OUT, FIFOs.

Every command that writes a folder goes through one guarded writer, and every command that
reads an output folder (or a git tree) back never follows a link. Each test sets up one state
an attacker (or a slip of the keyboard) could leave, runs the real CLI, and checks what was
refused and what was left exactly as it was.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hardkit import HOMELAB, ROOT, assert_no_traceback, run_cli, tree

from jarvis_config.errors import WriteError
from jarvis_config.write import MARKER, STAGING_GRACE_S, STAGING_STAMP, guard_out, write_tree

SECRET = "TOP-SECRET-5f1c0de"
CliRunner = Callable[..., Any]


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file outside every OUT whose content must never reach any output."""
    path = tmp_path / "elsewhere" / "secret.yaml"
    path.parent.mkdir()
    path.write_text(f"version: 1\n# {SECRET}\nnodes: {{}}\n", encoding="utf-8")
    return path


@pytest.fixture
def built(tmp_path: Path, cli: CliRunner) -> Path:
    out = tmp_path / "out"
    result = cli("build", HOMELAB, "-o", out)
    assert result.exit_code == 0, result.stderr
    return out


def _aged(folder: Path) -> Path:
    then = time.time() - STAGING_GRACE_S - 5
    os.utime(folder, (then, then))
    return folder


# --- writing: OUT itself -------------------------------------------------------------------


@pytest.mark.parametrize("dangling", [False, True], ids=["to-a-folder", "dangling"])
def test_a_symlink_as_out_is_refused_and_nothing_is_created(
    tmp_path: Path, cli: CliRunner, dangling: bool
) -> None:
    target = tmp_path / "target"
    if not dangling:
        target.mkdir()
        (target / "keep.txt").write_text("mine")
    out = tmp_path / "out"
    out.symlink_to(target)
    for command in (("build", HOMELAB), ("docs", HOMELAB)):
        result = cli(*command, "-o", out, "--force")
        assert_no_traceback(result)
        assert result.exit_code == 1
        assert "is a symbolic link" in result.stderr
    assert out.is_symlink() and os.readlink(out) == str(target)
    assert target.exists() is not dangling
    if not dangling:
        assert tree(target) == {"keep.txt": b"mine"}


def test_root_and_home_are_never_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(WriteError, match="refusing to replace /"):
        guard_out(Path("/"), (), force=True)
    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(WriteError, match="refusing to replace"):
        write_tree(home, {"a.txt": b"x"}, force=True)
    assert sorted(p.name for p in home.iterdir()) == ["work"]


@pytest.mark.parametrize("where", ["input-folder", "ancestor", "the-file-itself"])
@pytest.mark.parametrize("command", ["build", "docs"])
def test_out_holding_the_input_is_refused_even_with_force(
    tmp_path: Path, cli: CliRunner, where: str, command: str
) -> None:
    mesh = tmp_path / "repo" / "mesh"
    mesh.mkdir(parents=True)
    config = mesh / "jarvis.yaml"
    config.write_bytes(HOMELAB.read_bytes())
    out = {"input-folder": mesh, "ancestor": tmp_path / "repo", "the-file-itself": config}[where]
    before = tree(tmp_path / "repo")
    result = cli(command, config, "-o", out, "--force")
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert "holds the input" in result.stderr or "is not a folder" in result.stderr
    assert tree(tmp_path / "repo") == before


# --- writing: staging look-alikes ------------------------------------------------------------


def test_staging_look_alikes_without_this_outs_stamp_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    mine = tmp_path / ".out.notes.new"  # a user's folder that merely looks like staging
    (mine / "a").mkdir(parents=True)
    other = tmp_path / ".out.k1ll3d.new"  # stamped, but for another OUT
    other.mkdir()
    (other / STAGING_STAMP).write_bytes(b"jarvis-config staging for /elsewhere/out\n")
    linked = tmp_path / ".out.l1nk3d.new"  # its stamp is a link to a real stamp
    linked.mkdir()
    real_stamp = tmp_path / "stamp"
    real_stamp.write_bytes(b"jarvis-config staging for " + os.fsencode(out) + b"\n")
    (linked / STAGING_STAMP).symlink_to(real_stamp)
    for folder in (mine, other, linked):
        _aged(folder)
    write_tree(out, {"a.txt": b"x"})
    assert mine.is_dir() and (mine / "a").is_dir()
    assert other.is_dir() and linked.is_dir()


def test_a_users_dot_old_folder_survives_the_fallback_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without renameat2 the writer swaps through a second folder: never `.OUT.old`."""
    import jarvis_config.write as write

    out = tmp_path / "out"
    write_tree(out, {"old.txt": b"old"})
    users = tmp_path / ".out.old"
    users.mkdir()
    (users / "notes.txt").write_text("mine")
    monkeypatch.setattr(write, "_exchange", lambda a, b: False)
    write_tree(out, {"new.txt": b"new"})
    assert tree(users) == {"notes.txt": b"mine"}
    assert sorted(tree(out)) == [MARKER, "new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.old", "out"]


# --- reading back: build --check, diff -o, diff --against ------------------------------------


@pytest.mark.parametrize("command", ["check", "diff"])
@pytest.mark.parametrize("name", ["litellm/config.yaml", "litellm/extra.yaml"])
def test_read_back_reports_links_and_never_follows_them(
    built: Path, secret_file: Path, cli: CliRunner, command: str, name: str
) -> None:
    link = built / name
    link.unlink(missing_ok=True)
    link.symlink_to(secret_file)
    if command == "check":
        result = cli("build", HOMELAB, "-o", built, "--check")
    else:
        result = cli("diff", HOMELAB, "-o", built)
    assert_no_traceback(result)
    assert SECRET not in result.stdout + result.stderr
    assert result.exit_code == 1
    assert f"{name} is a symbolic link" in result.stdout + result.stderr


def test_check_refuses_a_symlinked_out(
    tmp_path: Path, built: Path, secret_file: Path, cli: CliRunner
) -> None:
    link = tmp_path / "linked-out"
    link.symlink_to(secret_file.parent)
    result = cli("build", HOMELAB, "-o", link, "--check")
    assert_no_traceback(result)
    assert result.exit_code == 1 and SECRET not in result.stdout + result.stderr
    assert "is a symbolic link" in result.stderr


def test_check_with_a_fifo_in_out_reports_it_without_blocking(built: Path) -> None:
    os.mkfifo(built / "litellm" / "routes.json.tmp")
    result = run_cli("build", HOMELAB, "-o", built, "--check", timeout=60)
    assert result.returncode == 1
    assert "litellm/routes.json.tmp is a FIFO" in result.stdout


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_diff_against_refuses_a_git_tree_holding_a_link(
    tmp_path: Path, secret_file: Path, cli: CliRunner
) -> None:
    repo = tmp_path / "repo"
    (repo / "mesh").mkdir(parents=True)
    (repo / "mesh" / "jarvis.yaml").write_bytes(HOMELAB.read_bytes())
    (repo / "mesh" / "more.yaml").symlink_to(secret_file)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")
    result = cli("diff", repo / "mesh", "--against", "HEAD")
    assert_no_traceback(result)
    assert result.exit_code == 1 and SECRET not in result.stdout + result.stderr
    assert "mesh/more.yaml is a symbolic link" in result.stderr


# --- input files that are not files ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_config_that_is_not_a_regular_file_is_refused_before_reading(
    tmp_path: Path, kind: str
) -> None:
    path = Path("/dev/zero")
    if kind == "fifo":
        path = tmp_path / "jarvis.yaml"
        os.mkfifo(path)
    started = time.monotonic()
    result = run_cli("validate", path, timeout=60)
    assert time.monotonic() - started < 50
    assert result.returncode == 1
    assert "error[not-a-file]" in result.stderr
    assert "Traceback" not in result.stderr


# --- budgets: small input, huge build ----------------------------------------------------------

CASES = Path(__file__).resolve().parents[1] / "cases" / "invalid"
MEMORY_LIMIT = 1536 * 1024 * 1024  # the CLI with its imports needs well under 200 MB


def _limited() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _bounded(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a process with a memory ceiling and a time limit (both far above need)."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "jarvis_config", *map(str, args)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited,
        check=False,
    )
    assert time.monotonic() - started < 100, args
    return result


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("validate", "{config}"), id="validate"),
        pytest.param(("build", "{config}", "-o", "{out}"), id="build"),
        pytest.param(("routes", "{config}"), id="routes"),
        pytest.param(("explain", "{config}", "m1"), id="explain"),
        pytest.param(("graph", "{config}", "--format", "dot"), id="graph"),
        pytest.param(("docs", "{config}", "-o", "{out}"), id="docs"),
        pytest.param(("diff", "{config}", "{config}"), id="diff"),
    ],
)
def test_every_command_refuses_an_amplifying_mesh_within_bounds(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    config = CASES / "mesh-too-large" / "jarvis.yaml"
    filled = [a.format(out=tmp_path / "out", config=config) for a in args]
    result = _bounded(*filled)
    assert result.returncode == 1, result.stderr
    assert "error[mesh-too-large]" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["alias-bomb", "alias-bomb-large-string"])
def test_alias_bombs_are_refused_within_bounds(case: str) -> None:
    result = _bounded("validate", CASES / case / "jarvis.yaml")
    assert result.returncode == 1 and "error[alias-bomb]" in result.stderr


def test_a_split_mesh_is_bounded_in_total_before_reading(tmp_path: Path) -> None:
    for index in range(5):  # sparse files: 75 MiB together, no disk space used
        with open(tmp_path / f"part{index}.yaml", "wb") as handle:
            handle.truncate(15 * 1024 * 1024)
    result = _bounded("validate", tmp_path)
    assert result.returncode == 1 and "error[input-too-large]" in result.stderr


def test_init_never_writes_through_a_link(tmp_path: Path, cli: CliRunner) -> None:
    """`init` writes files, not folders, by the same rule: a dangling link is not followed."""
    (tmp_path / "jarvis.yaml").symlink_to(tmp_path / "created-elsewhere.yaml")
    result = cli("init", tmp_path / "jarvis.yaml", "--force")
    assert result.exit_code == 1 and "is a symbolic link" in result.stderr
    schema = tmp_path / "jarvis-config.schema.json"
    schema.symlink_to(tmp_path / "schema-elsewhere.json")
    assert cli("init", tmp_path / "other.yaml").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "jarvis-config.schema.json",
        "jarvis.yaml",
        "other.yaml",
    ]
