"""Stage 5, write: atomic replacement, refusal of unsafe names and foreign folders, drift."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from jarvis_config.errors import WriteError
from jarvis_config.write import (
    MARKER,
    STAGING_GRACE_S,
    STAGING_STAMP,
    STAGING_SUFFIX,
    _stamp,
    drift,
    read_tree,
    write_tree,
)


def test_write_creates_exactly_the_files_plus_marker(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, {"a/b.txt": b"one\n", "c.json": b"{}\n"})
    tree = read_tree(out)
    assert tree == {"a/b.txt": b"one\n", "c.json": b"{}\n", MARKER: tree[MARKER]}


def test_rewrite_removes_files_that_are_no_longer_rendered(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, {"old.txt": b"x"})
    write_tree(out, {"new.txt": b"y"})
    assert sorted(read_tree(out)) == [MARKER, "new.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name != "out"], "no staging folder left"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("../escape.txt", id="parent"),
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param("a/../../b", id="nested-parent"),
        pytest.param("a\\b", id="backslash"),
        pytest.param("", id="empty"),
        pytest.param("a//b", id="empty-part"),
    ],
)
def test_unsafe_names_are_refused_before_anything_is_written(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    write_tree(out, {"keep.txt": b"keep"})
    with pytest.raises(WriteError, match="would leave the output folder"):
        write_tree(out, {"fine.txt": b"x", name: b"evil"})
    assert read_tree(out)["keep.txt"] == b"keep"


def test_a_foreign_non_empty_folder_is_not_replaced_without_force(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.md").write_text("mine")
    with pytest.raises(WriteError, match="was not written by jarvis-config"):
        write_tree(out, {"a.txt": b"x"})
    assert (out / "notes.md").read_text() == "mine"
    write_tree(out, {"a.txt": b"x"}, force=True)
    assert not (out / "notes.md").exists()


def test_a_file_where_the_folder_should_be_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("not a folder")
    with pytest.raises(WriteError, match="is not a folder"):
        write_tree(out, {"a.txt": b"x"})


def test_drift_is_empty_when_up_to_date_and_names_changes_otherwise(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = {"a.txt": b"one\ntwo\n"}
    write_tree(out, files)
    assert drift(out, files) == []
    changed = drift(out, {"a.txt": b"one\nTHREE\n", "b.txt": b"new"})
    assert "-two" in changed and "+THREE" in changed
    assert "missing: b.txt" in changed


def abandoned_staging(out: Path, age_s: float) -> Path:
    """A staging folder as a killed build leaves it: half filled, nobody holding its lock."""
    folder = out.parent / f".{out.name}.k1ll3d{STAGING_SUFFIX}"
    (folder / "litellm").mkdir(parents=True)
    (folder / "litellm" / "config.yaml").write_bytes(b"half")
    (folder / STAGING_STAMP).write_bytes(_stamp(out.absolute()))
    then = time.time() - age_s
    os.utime(folder, (then, then))
    return folder


def test_the_next_build_removes_a_staging_folder_a_killed_build_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    left = abandoned_staging(out, age_s=STAGING_GRACE_S + 5)
    write_tree(out, {"a.txt": b"x"})
    assert not left.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_staging_folder_another_build_is_filling_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    busy = abandoned_staging(out, age_s=STAGING_GRACE_S + 5)
    fd = os.open(busy, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as the other build's write_tree holds it
        write_tree(out, {"a.txt": b"x"})
        assert (busy / "litellm" / "config.yaml").read_bytes() == b"half"
    finally:
        os.close(fd)


def test_a_just_created_staging_folder_is_left_alone(tmp_path: Path) -> None:
    """Between creating its folder and locking it, a build holds no lock yet."""
    out = tmp_path / "out"
    young = abandoned_staging(out, age_s=0)
    write_tree(out, {"a.txt": b"x"})
    assert young.exists()


def test_the_sweep_touches_only_this_outs_staging_folders(tmp_path: Path) -> None:
    out = tmp_path / "out"
    other = abandoned_staging(tmp_path / "other", age_s=STAGING_GRACE_S + 5)
    write_tree(out, {"a.txt": b"x"})
    assert other.exists()
