"""Path safety: node and model names never lead a file out of OUT, OUT is only ever replaced
as a whole (atomically), and a folder jarvis-config did not write is not replaced without
--force."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hardkit import assert_no_traceback, problem_lines, rename_model, rename_node, tree

pytest.importorskip("hypothesis", reason="property-based tests need hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jarvis_config.errors import JarvisConfigError, WriteError
from jarvis_config.model.mesh import build_mesh
from jarvis_config.render import render_targets
from jarvis_config.write import MARKER, check_relative, write_tree
from tests.kit import HOMELAB

ESCAPING_NAMES = [
    pytest.param("..", id="dotdot"),
    pytest.param(".", id="dot"),
    pytest.param("../escape", id="parent-prefix"),
    pytest.param("a/../../b", id="nested-parent"),
    pytest.param("a/b", id="slash"),
    pytest.param("/etc", id="absolute"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("", id="empty"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("~root", id="tilde"),
]


@pytest.mark.parametrize("name", ESCAPING_NAMES)
@pytest.mark.parametrize("section", ["nodes", "models"])
def test_the_schema_refuses_names_that_could_escape(
    cli: Callable[..., Any],
    homelab: dict[str, Any],
    write_config: Callable[..., Path],
    section: str,
    name: str,
) -> None:
    if section == "nodes":
        rename_node(homelab, "mini", name)
    else:
        rename_model(homelab, "mistral", name)
    config = write_config(homelab)
    result = cli("validate", config)
    assert_no_traceback(result)
    assert result.exit_code == 1, result.stderr
    errors = [m for m in problem_lines(result.stderr) if m["severity"] == "error"]
    assert any(m["path"].startswith(f".{section}") for m in errors), result.stderr


@pytest.mark.parametrize("name", ESCAPING_NAMES)
def test_render_and_write_keep_files_inside_out_even_without_validation(
    homelab: dict[str, Any],
    tmp_path: Path,
    name: str,
) -> None:
    """Defence in depth: names the schema would refuse, fed straight to the model and the
    renderers, still cannot put a file outside OUT: write refuses the name first."""
    rename_node(homelab, "mini", name)
    rename_model(homelab, "mistral", name or "m")
    out = tmp_path / "deep" / "out"
    before = sorted(tmp_path.rglob("*"))
    try:
        write_tree(out, render_targets(build_mesh(homelab)))
    except JarvisConfigError:
        assert sorted(tmp_path.rglob("*")) == before, "a refused build left files behind"
        return
    written = [p.resolve() for p in tmp_path.rglob("*")]
    outside = [
        p
        for p in written
        if not p.is_relative_to(out.resolve())
        and p not in {tmp_path.resolve() / "deep", out.resolve()}
    ]
    assert not outside, outside


@pytest.mark.slow  # 300 generated paths
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    relative=st.one_of(
        st.text(max_size=30),
        st.lists(
            st.sampled_from(["..", ".", "", "a", "b.yaml", "/", "\\", "~", "\x00"]), max_size=6
        ).map("/".join),
    )
)
def test_check_relative_admits_only_names_inside_out(tmp_path: Path, relative: str) -> None:
    out = (tmp_path / "out").resolve()
    try:
        check_relative(relative)
    except WriteError:
        return
    target = Path(os.path.normpath(out / relative))
    assert target != out and target.is_relative_to(out), relative


def _stamped_tree(stamp: str, files: int) -> dict[str, bytes]:
    return {f"d{i % 7}/f{i}.txt": stamp.encode() for i in range(files)}


def test_out_is_replaced_atomically_while_a_reader_watches(tmp_path: Path) -> None:
    """A reader that opens OUT at any moment sees one whole tree, old or new, never a mix
    and never a missing OUT."""
    out = tmp_path / "out"
    write_tree(out, _stamped_tree("A", 60))
    stop, seen, faults = threading.Event(), set(), []

    def read() -> None:
        while not stop.is_set():
            try:
                fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                faults.append("OUT was missing")
                continue
            try:
                stamps = {_read_at(fd, f"d{i % 7}/f{i}.txt") for i in range(60)}
            except FileNotFoundError:
                continue  # this tree was retired while we read it; it is being removed
            finally:
                os.close(fd)
            if len(stamps) != 1:
                faults.append(f"mixed tree {stamps}")
            seen.update(stamps)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_ in range(30):
            write_tree(out, _stamped_tree("AB"[round_ % 2], 60))
    finally:
        stop.set()
        reader.join()
    assert not faults, faults[:5]
    assert seen == {"A", "B"}, "the reader never saw one of the trees; the test proves nothing"


def _read_at(fd: int, relative: str) -> str:
    handle = os.open(relative, os.O_RDONLY, dir_fd=fd)
    try:
        return os.read(handle, 16).decode()
    finally:
        os.close(handle)


def test_no_staging_folder_is_left_beside_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for stamp in "ABC":
        write_tree(out, _stamped_tree(stamp, 5))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_symlinked_out_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write_tree(real, {"old.txt": b"old"})
    (tmp_path / "out").symlink_to("real")
    with pytest.raises(WriteError, match="is a symbolic link"):
        write_tree(tmp_path / "out", {"new.txt": b"new"})
    assert (tmp_path / "out").is_symlink()
    assert sorted(tree(real)) == [MARKER, "old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "real"]


# --- through the CLI -------------------------------------------------------------------------


def test_a_foreign_non_empty_folder_is_refused_without_force(
    cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.md").write_text("precious")
    refused = cli("build", HOMELAB, "-o", out)
    assert_no_traceback(refused)
    assert refused.exit_code == 1
    assert "is not empty and was not written by jarvis-config" in refused.stderr
    assert "--force" in refused.stderr
    assert tree(out) == {"notes.md": b"precious"}
    forced = cli("build", HOMELAB, "-o", out, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert "notes.md" not in tree(out) and MARKER in tree(out)


def test_an_empty_folder_and_a_previous_build_are_replaced_without_force(
    cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert cli("build", HOMELAB, "-o", out).exit_code == 0
    first = tree(out)
    assert cli("build", HOMELAB, "-o", out).exit_code == 0
    assert tree(out) == first


@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_a_file_in_the_way_of_out_is_a_clear_error(
    cli: Callable[..., Any],
    tmp_path: Path,
    where: str,
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("data")
    out = blocker if where == "file" else blocker / "out"
    result = cli("build", HOMELAB, "-o", out)
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and str(blocker) in result.stderr
    assert blocker.read_text() == "data"


def test_force_never_replaces_the_folder_that_holds_the_config(
    cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    """`build mesh/ -o mesh/ --force` would delete the operator's own config."""
    mesh = tmp_path / "mesh"
    mesh.mkdir()
    (mesh / "jarvis.yaml").write_bytes((HOMELAB / "jarvis.yaml").read_bytes())
    result = cli("build", mesh, "-o", mesh, "--force")
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert (mesh / "jarvis.yaml").read_bytes() == (HOMELAB / "jarvis.yaml").read_bytes()
