"""How a command's end reaches the user: messages on stdout or stderr, and the exit code.

Command modules print through `echo` and never import click: `cli.py` is the only click module,
and it turns every command's end into an exit code through `finish`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

from jarvis_config.errors import JarvisConfigError

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
# What a value from a config or a runtime may not put on a terminal or into a CI log as it
# stands: control characters but the line break and the tab, the Unicode line separators and
# the bidirectional overrides. Written as \xNN / \uNNNN escapes, as the text report does.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# GitHub's runner reads a log line as a workflow command when it starts with `::` once
# trimmed (`::error ...`, `::add-mask::`, `::stop-commands::`), or holds `##[` (the old syntax).
_COMMAND_START = re.compile(r"^(\s*):")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """`text` as lines no terminal or CI runner reads as anything but text: control characters
    escaped, and a line that would be a GitHub workflow command starting with `\\x3a` instead
    of its first `:`. Every command's output goes through it, whatever values it shows."""
    lines = []
    for line in _UNPRINTABLE.sub(_escaped, text).split("\n"):
        if line.lstrip().startswith("::"):
            line = _COMMAND_START.sub(r"\1\\x3a", line, count=1)
        lines.append(line.replace("##[", "#\\x23["))
    return "\n".join(lines)


def echo(message: str, *, err: bool = False, raw: bool = False, nl: bool = True) -> None:
    """One message and a line break, flushed, like click.echo: through `safe_text` unless
    `raw` (a problem report, escaped by its own format's rules: `--format github` writes
    workflow commands on purpose). A character the stream's encoding lacks (a file name on a
    Latin-1 terminal) is escaped, never a crash."""
    stream = sys.stderr if err else sys.stdout
    text = (message if raw else safe_text(message)) + ("\n" if nl else "")
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

            echo(render_problems(exc.problems), err=True, raw=True)
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
