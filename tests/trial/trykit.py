"""Plumbing of the `jarvis-config try` tests: the command run as a user runs it, in its own
process group, its output read as it comes, and the processes it started found by parentage."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import jarvis_config

SOURCE = str(Path(jarvis_config.__file__).resolve().parents[1])
READY_LINE = "Ctrl-C stops"


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a `try` run: no master key (try makes one), this source tree."""
    env = {k: v for k, v in os.environ.items() if k != "JARVIS_MASTER_KEY"}
    path = os.pathsep.join(filter(None, [SOURCE, os.environ.get("PYTHONPATH")]))
    return {**env, "PYTHONPATH": path, **extra}


@dataclass
class TryRun:
    """One `jarvis-config try` process; its stdout and stderr lines gathered by threads."""

    process: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    _lines: queue.Queue[str] = field(default_factory=queue.Queue)
    _readers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def start(cls, *args: str, python: str = sys.executable, **env: str) -> TryRun:
        process = subprocess.Popen(
            [python, "-m", "jarvis_config", "try", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(**env),
            start_new_session=True,  # its own group: what it leaves behind is findable
        )
        run = cls(process)
        assert process.stdout is not None and process.stderr is not None
        for stream, lines in ((process.stdout, run.out), (process.stderr, run.err)):
            reader = threading.Thread(target=run._read, args=(stream, lines), daemon=True)
            reader.start()
            run._readers.append(reader)
        return run

    def __enter__(self) -> TryRun:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing of this run survives a test, passed or failed; its pipes are closed."""
        groups = self.groups()
        if self.process.poll() is None:  # a failed test: let it clean up, then make sure
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        for group in groups:
            kill_group(group)
        self.process.wait(timeout=10)
        for reader in self._readers:
            reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def _read(self, stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))
            self._lines.put(line)

    def wait_for(self, text: str, timeout: float) -> None:
        """Until a line holding `text` is printed; fails with the output so far."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.out + self.err):
            left = deadline - time.monotonic()
            assert left > 0 and self.process.poll() is None, self.transcript()
            with contextlib.suppress(queue.Empty):
                self._lines.get(timeout=min(left, 0.5))

    def wait_for_child(self, timeout: float) -> None:
        """Until this run has started a process of its own (the proxy)."""
        deadline = time.monotonic() + timeout
        while not _children(self.process.pid):
            assert time.monotonic() < deadline and self.process.poll() is None, self.transcript()
            time.sleep(0.1)

    def curls(self) -> list[str]:
        return [line.strip() for line in self.out if line.strip().startswith("curl ")]

    def transcript(self) -> str:
        code = self.process.poll()
        return f"exit {code}\nstdout:\n" + "\n".join(self.out) + "\nstderr:\n" + "\n".join(self.err)

    def groups(self) -> set[int]:
        """The process groups of this run and of every child it started (the proxy's)."""
        return {self.process.pid} | {_pgid(pid) for pid in _children(self.process.pid)}

    def stop(self, signum: signal.Signals, timeout: float = 10.0) -> float:
        """Send `signum`, wait for the exit; the seconds it took."""
        started = time.monotonic()
        self.process.send_signal(signum)
        self.process.wait(timeout=timeout)
        return time.monotonic() - started


def kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def group_alive(group: int, settle: float = 3.0) -> bool:
    """Whether any process of the group still runs `settle` seconds from now at the latest (a
    signalled process takes a moment to exit; a zombie, dead but not yet reaped by whoever
    inherited it, does not count)."""
    deadline = time.monotonic() + settle
    while any(pgid == group and state != "Z" for _, _, pgid, state in _processes()):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)
    return False


def _children(parent: int) -> list[int]:
    return [pid for pid, ppid, _, state in _processes() if ppid == parent and state != "Z"]


def _processes() -> list[tuple[int, int, int, str]]:
    """(pid, parent pid, process group, state) of every process, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            state, ppid, pgid = stat.rsplit(")", 1)[1].split()[:3]
            found.append((int(entry.name), int(ppid), int(pgid), state))
    return found


def _pgid(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return pid


def python_without_litellm(where: Path) -> str:
    """A Python environment that imports everything this Python does but has no `litellm`
    executable beside it: what an install without the proxy extra looks like to `try`."""
    venv.create(where, symlinks=True, with_pip=False)
    site = next(where.glob("lib/python*/site-packages"))
    (site / "outer.pth").write_text("\n".join(p for p in sys.path if p.endswith("-packages")))
    return str(where / "bin" / "python")
