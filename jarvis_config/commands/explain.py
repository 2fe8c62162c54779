"""`jarvis-config explain`: where a request for a model goes, and why."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jarvis_config.commands.common import compile_or_fail
from jarvis_config.errors import CommandError
from jarvis_config.outcome import echo
from jarvis_config.review.explain import (
    FORMATS,
    Rejection,
    explain_request,
    format_json,
)


@dataclass(frozen=True)
class ExplainOptions:
    path: Path
    model: str
    node: str | None = None
    fmt: str = "text"


def explain(options: ExplainOptions) -> int:
    """0 when the gateway would accept the request, 1 when not."""
    answer = explain_request(compile_or_fail(options.path), options.model, options.node)
    if isinstance(answer, Rejection):
        if options.fmt == "json":
            echo(format_json(answer))
            return 1
        raise CommandError(
            f"the gateway would refuse this request (HTTP 400): {answer.reason}"
            + (f"\n  hint: {answer.hint}" if answer.hint else "")
        )
    echo(FORMATS[options.fmt](answer))
    return 0
