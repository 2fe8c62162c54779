"""Stage 4, render (shared): render a group of targets in a forked child process, so that a
large build uses a second core.

The child is a fork of the build: it sees the mesh as it is (nothing is copied or pickled on
the way in), renders, and sends its files back through a pipe; an error it raises is raised
again in the build. The files are the ones the build would render itself, so where a fork is
not available or would not pay (one core, a small mesh, other threads running, which a fork
does not copy), everything renders in the build's own process instead.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator

from jarvis_config.errors import RenderError

# Below this many deployments a build takes a fraction of a second, and a fork (copying the
# page tables, then every page the child touches) would cost more than it saves.
MIN_DEPLOYMENTS = 2000

Files = dict[str, str]


def can_fork(deployments: int) -> bool:
    """Is a forked child worth it, and safe, here and now?"""
    return (
        deployments >= MIN_DEPLOYMENTS
        and hasattr(os, "fork")
        and _cores() > 1
        and threading.active_count() == 1
    )


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextlib.contextmanager
def in_child(work: Callable[[], Files]) -> Iterator[Callable[[], Files]]:
    """Start `work` in a forked child; yields the function that waits for its files. A child
    not waited for (the build failed or was interrupted first) is stopped on the way out."""
    read_end, write_end = os.pipe()
    _widen(write_end)
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _run_child(work, write_end)
    os.close(write_end)
    reaped = False

    def result() -> Files:
        nonlocal reaped
        with os.fdopen(read_end, "rb", closefd=False) as pipe:
            try:
                kind, value = pickle.load(pipe)
            except (EOFError, pickle.UnpicklingError):
                kind, value = "error", RenderError("a render process stopped before it finished")
        os.waitpid(pid, 0)
        reaped = True
        if kind == "error":
            raise value
        files: Files = value
        return files

    try:
        yield result
    finally:
        os.close(read_end)
        if not reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _widen(pipe: int) -> None:
    """A 1 MiB pipe where Linux allows it: the child's files (40 MB at 10,000 deployments) then
    cross in 1 MiB steps, not 64 KiB ones, each a switch between the two processes."""
    with contextlib.suppress(AttributeError, ImportError, OSError):
        import fcntl

        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, 1 << 20)


def _run_child(work: Callable[[], Files], write_end: int) -> None:
    """In the child: render, send the files (or the error) and leave at once, without the
    parent's exit handlers or buffered output."""
    status = 0
    try:
        try:
            outcome: tuple[str, object] = ("files", work())
        except Exception as exc:  # the parent raises it again
            outcome = ("error", _picklable(exc))
        with os.fdopen(write_end, "wb") as pipe:
            pickle.dump(outcome, pipe, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:  # an interrupt, or the parent gone: nothing left to report
        status = 1
    finally:
        os._exit(status)


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RenderError(f"{type(exc).__name__}: {exc}")
    return exc
