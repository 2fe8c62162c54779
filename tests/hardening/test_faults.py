"""Faults while writing OUT: a build killed midway (SIGKILL at random moments), a read-only
location and a full disk. Each leaves the previous OUT exactly as it was and, where the CLI
runs, ends with a clear one-line error and exit 1, never a traceback."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hardkit import ROOT, remount_readonly, run_cli, tree

from jarvis_config.errors import WriteError
from jarvis_config.write import (
    MARKER_TEXT,
    STAGING_GRACE_S,
    STAGING_SUFFIX,
    with_marker,
    write_tree,
)

HOMELAB_DIR = ROOT / "examples" / "homelab"
KILLS = int(os.environ.get("JARVIS_FAULT_KILLS", "8"))
SEED = int(os.environ.get("JARVIS_FAULT_SEED", str(random.SystemRandom().randrange(10**6))))

WRITER = """
import sys
from pathlib import Path
from jarvis_config.write import write_tree
out, count, stamp = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
files = {f"d{i % 20}/f{i}.txt": (stamp * 200).encode() for i in range(count)}
print("writing", flush=True)
write_tree(out, files)
print("done", flush=True)
"""


def stamped(stamp: str, count: int) -> dict[str, bytes]:
    return with_marker({f"d{i % 20}/f{i}.txt": (stamp * 200).encode() for i in range(count)})


def start_writer(out: Path, count: int, stamp: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(out), str(count), stamp],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def timed_write(out: Path, count: int, stamp: str) -> float:
    """Seconds from 'writing' to exit of one undisturbed writer."""
    with start_writer(out, count, stamp) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
        start = time.perf_counter()
        assert proc.wait(timeout=120) == 0
        return time.perf_counter() - start


@pytest.mark.slow
def test_a_write_killed_at_random_moments_leaves_old_or_new_out_whole(tmp_path: Path) -> None:
    """SIGKILL lands while files are written, fsynced and swapped in: OUT is always one whole
    tree, the old one byte for byte or the complete new one."""
    count, out = 1500, tmp_path / "out"
    duration = timed_write(tmp_path / "probe", count, "N")
    rng = random.Random(SEED)
    outcomes = []
    for attempt in range(KILLS):
        shutil.rmtree(out, ignore_errors=True)
        write_tree(out, {f"old/f{i}.txt": b"old" for i in range(40)})
        old = tree(out)
        with start_writer(out, count, "N") as proc:
            assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
            time.sleep(rng.uniform(0, duration * 1.1))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        now = tree(out)
        assert now in (old, stamped("N", count)), (
            f"attempt {attempt} (seed {SEED}): OUT is neither the old nor the new tree; "
            f"{len(now)} files"
        )
        outcomes.append("old" if now == old else "new")
    assert "old" in outcomes, f"no kill landed before the swap (seed {SEED}): {outcomes}"
    assert_next_write_sweeps_what_kills_left(out)


def assert_next_write_sweeps_what_kills_left(out: Path) -> None:
    """The staging folders the killed writers left (their locks died with them) are gone
    after the next write, once older than the grace period."""
    left = list(out.parent.glob(f".{out.name}.*{STAGING_SUFFIX}"))
    assert left, "no kill landed while a staging folder existed"
    then = time.time() - STAGING_GRACE_S - 1
    for folder in left:
        os.utime(folder, (then, then))
    write_tree(out, {"after.txt": b"x"})
    assert not list(out.parent.glob(f".{out.name}.*")), "a staging folder survived"


def test_a_full_disk_is_a_clear_error_and_leaves_out_intact(
    tmpfs: Callable[..., Path],
) -> None:
    disk = tmpfs(size="256k")
    out = disk / "out"
    write_tree(out, {"small.txt": b"old"})
    old = tree(out)
    with pytest.raises(WriteError, match="No space left on device"):
        write_tree(out, {f"f{i}.bin": os.urandom(64 * 1024) for i in range(8)})
    assert tree(out) == old
    assert sorted(p.name for p in disk.iterdir()) == ["out"], "the staging folder was left"


def test_a_read_only_mount_is_a_clear_error_and_leaves_out_intact(
    tmpfs: Callable[..., Path],
) -> None:
    disk = tmpfs(size="1m")
    out = disk / "out"
    write_tree(out, {"small.txt": b"old"})
    old = tree(out)
    remount_readonly(disk)
    with pytest.raises(WriteError, match="Read-only file system"):
        write_tree(out, {"new.txt": b"new"})
    assert tree(out) == old


def _immutable(folder: Path) -> Callable[[], None]:
    """chattr +i (root bypasses permission bits, not the immutable flag); returns the undo."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr (e2fsprogs) is not installed")
    done = subprocess.run(
        ["chattr", "+i", str(folder)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not possible here (needs root on ext4/xfs): {done.stderr}")

    def undo() -> None:
        subprocess.run(["chattr", "-i", str(folder)], check=True)

    return undo


def test_an_immutable_parent_folder_is_a_clear_error(tmp_path: Path) -> None:
    parent = tmp_path / "locked"
    out = parent / "out"
    write_tree(out, {"small.txt": b"old"})
    old = tree(out)
    undo = _immutable(parent)
    try:
        with pytest.raises(WriteError, match=r"Operation not permitted|Permission denied"):
            write_tree(out, {"new.txt": b"new"})
    finally:
        undo()
    assert tree(out) == old


# --- the same faults through the CLI (needs the renderers) -----------------------------------


def assert_clean_failure(result: subprocess.CompletedProcess[str], reason: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and reason in errors[0], result.stderr


def test_cli_build_on_a_read_only_mount(tmpfs: Callable[..., Path]) -> None:
    disk = tmpfs(size="4m")
    out = disk / "out"
    assert run_cli("build", HOMELAB_DIR, "-o", out).returncode == 0
    old = tree(out)
    remount_readonly(disk)
    assert_clean_failure(run_cli("build", HOMELAB_DIR, "-o", out), "Read-only file system")
    assert tree(out) == old


def test_cli_build_on_a_full_disk(tmpfs: Callable[..., Path], tmp_path: Path) -> None:
    disk = tmpfs(size="8k")  # two tmpfs pages: room for the marker, not for a whole build
    out = disk / "out"
    write_tree(out, {})
    old = tree(out)
    assert old == {".jarvis-config-output": MARKER_TEXT}
    assert_clean_failure(run_cli("build", HOMELAB_DIR, "-o", out), "No space left on device")
    assert tree(out) == old
    assert sorted(p.name for p in disk.iterdir()) == ["out"]


def wait_for_staging(parent: Path, out: Path, proc: subprocess.Popen[bytes]) -> float:
    """Block until the build starts writing (its staging folder appears beside OUT)."""
    while proc.poll() is None:
        if any(name.startswith(f".{out.name}.") for name in os.listdir(parent)):
            return time.perf_counter()
        time.sleep(0.0005)
    raise AssertionError("the build ended before it started writing")


@pytest.mark.slow
def test_cli_build_killed_while_writing_leaves_old_or_new_out_whole(tmp_path: Path) -> None:
    """The real CLI on a 2,000-deployment mesh, killed at random moments of its write phase
    (from the staging folder's appearance to the swap)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import synth

    big = synth.write(tmp_path / "big.yaml", 100, 20)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "jarvis_config", "build", str(big), "-o", str(out)]
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) as proc:
        began = wait_for_staging(tmp_path, out, proc)
        assert proc.wait(timeout=300) == 0
        writing = time.perf_counter() - began
    new = tree(out)
    rng, outcomes = random.Random(SEED), []
    for attempt in range(KILLS):
        shutil.rmtree(out)
        for stale in tmp_path.glob(f".{out.name}.*"):  # a killed build cannot clean up
            shutil.rmtree(stale)
        assert run_cli("build", HOMELAB_DIR, "-o", out).returncode == 0
        old = tree(out)
        with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) as proc:
            wait_for_staging(tmp_path, out, proc)
            time.sleep(rng.uniform(0, writing * 1.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        now = tree(out)
        assert now in (old, new), f"attempt {attempt} (seed {SEED}): a mixed OUT"
        outcomes.append("old" if now == old else "new")
    assert "old" in outcomes, f"every kill came after the swap (seed {SEED}): {outcomes}"
