"""`jarvis-config routes`: print the node routing table."""

from __future__ import annotations

import json
from pathlib import Path

from jarvis_config.commands.common import compile_or_fail
from jarvis_config.outcome import echo
from jarvis_config.render import routes as routes_target

# text: a table for people; json: routes.json itself.
FORMATS = ("text", "json")
DEPRECATED_JSON = "note: --json is deprecated; use --format json"


def routes(path: Path, *, fmt: str = "text") -> int:
    mesh = compile_or_fail(path).mesh
    table = routes_target.routing_table(mesh)
    if fmt == "json":
        echo(json.dumps(table, indent=2, sort_keys=True))
    else:
        echo(routes_target.format_table(table))
    return 0
