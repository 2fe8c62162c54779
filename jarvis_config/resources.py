"""Package resources: the JSON Schema and the Jinja2 templates, found through importlib.resources.

In a wheel they sit inside the package (`jarvis_config/schemas`, `jarvis_config/templates`);
in a source checkout they sit at the top of the repository, one folder up.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

SCHEMA_FILE = "jarvis-config.schema.json"


def resource_dir(name: str) -> Traversable:
    """`templates` or `schemas`, from the installed package or the source checkout."""
    packaged = resources.files("jarvis_config").joinpath(name)
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"jarvis-config is missing its {name}/ folder; reinstall it")


def read_text(folder: str, relative: str) -> str:
    node = resource_dir(folder)
    for part in relative.split("/"):
        node = node.joinpath(part)
    text: str = node.read_text(encoding="utf-8")
    return text


@cache
def schema_text() -> str:
    return read_text("schemas", SCHEMA_FILE)


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded
