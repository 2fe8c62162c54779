"""`jarvis-config schema`: print the JSON Schema of the config format."""

from __future__ import annotations

from jarvis_config import resources
from jarvis_config.outcome import echo


def print_schema() -> int:
    echo(resources.schema_text().rstrip("\n"))
    return 0
