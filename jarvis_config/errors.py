"""One error root for the tool; a subclass per pipeline stage.

Stages collect `Problem` values; they raise only to stop the pipeline, carrying what they found.
"""

from __future__ import annotations

from jarvis_config.problems import Problem


class JarvisConfigError(Exception):
    """Root of every error this tool raises on purpose (exit code 1)."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems or [])


class InvalidConfigError(JarvisConfigError):
    """The config could not be loaded, or breaks the schema or a semantic rule; the problems
    found are printed before it. (Not jsonschema's ValidationError, which the schema stage
    turns into problems.)"""


class RenderError(JarvisConfigError):
    """A target could not be rendered (unknown target, template fault)."""


class WriteError(JarvisConfigError):
    """The output folder could not be written (read-only, disk full, path unsafe)."""


class DriftError(JarvisConfigError):
    """`build --check`: the output folder differs from what the config renders."""


class CommandError(JarvisConfigError):
    """A review command cannot answer: explain's request would be rejected, a git revision is
    missing for diff, Graphviz is not installed for graph."""
