"""How a command's end reaches the user: messages on stdout or stderr, and the exit code.

Command modules print through `echo` and never import click: `cli.py` is the only click module,
and it turns every command's end into an exit code through `finish`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from jarvis_config.errors import JarvisConfigError

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def echo(message: str, *, err: bool = False, nl: bool = True) -> None:
    """One message and (unless `nl` is false) a line break, flushed, like click.echo. A
    character the stream's encoding lacks (a file name on a Latin-1 terminal) is escaped,
    never a crash."""
    stream = sys.stderr if err else sys.stdout
    text = message + "\n" if nl else message
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = stream.encoding or "utf-8"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()


def finish(action: Callable[[], int], *, traceback: bool = False) -> int:
    """Run a command; the one place where errors turn into messages and exit codes."""
    try:
        return action()
    except JarvisConfigError as exc:
        if exc.problems:
            from jarvis_config.report import render_problems  # only a failure needs it

            echo(render_problems(exc.problems), err=True)
        echo(f"error: {exc}", err=True)
        return EXIT_INVALID
    except KeyboardInterrupt:
        echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug in this tool: say so plainly, trace only on request
        if traceback:
            raise
        echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "  hint: this is a bug in jarvis-config; rerun with --traceback and report it",
            err=True,
        )
        return EXIT_INTERNAL
