"""`jarvis-config schema`: print the JSON Schema of the config format."""

from __future__ import annotations

import click

from jarvis_config import resources


def print_schema() -> int:
    click.echo(resources.schema_text().rstrip("\n"))
    return 0
