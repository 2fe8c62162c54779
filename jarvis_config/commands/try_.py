"""`jarvis-config try`: serve a mesh on this machine, over stand-in runtimes, until Ctrl-C."""

from __future__ import annotations

from jarvis_config.trial.session import TryOptions, try_mesh

__all__ = ["TryOptions", "try_"]


def try_(options: TryOptions) -> int:
    return try_mesh(options)
