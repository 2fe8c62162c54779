"""Stage 4, render (shared): the Jinja2 environment every target renders through.

Templates hold layout only. Every value reaches the output through a serializing filter
(`yaml`, `json`), never raw interpolation, so the output parses back to exactly the data the
renderer built, whatever characters a name or a parameter holds. Undefined names are errors
(StrictUndefined), and templates are read through package resources, so a wheel renders the
same bytes as a source checkout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

import jinja2
import yaml

from jarvis_config import resources
from jarvis_config.errors import RenderError
from jarvis_config.render import blockyaml


def to_yaml(value: Any, indent: int = 0) -> str:
    """`value` as YAML: block style for mappings and lists (each line indented by `indent`
    spaces), a one-line scalar otherwise. Keys keep the order the renderer gave them."""
    _check_defined(value)
    if isinstance(value, Mapping | list | tuple) and value:
        return blockyaml.block(value, indent, lambda: pyyaml_block(value, indent))
    try:
        return blockyaml.scalar_text(value)
    except blockyaml.Unwritable:
        return blockyaml.pyyaml_scalar(_plain(value))


def pyyaml_block(value: Any, indent: int = 0) -> str:
    """What `to_yaml` writes for a non-empty mapping or list, written by PyYAML itself: the
    reference the fast writer matches, and its fallback."""
    text = yaml.dump(_plain(value), Dumper=blockyaml.Dumper, sort_keys=False,
                     default_flow_style=False, width=blockyaml.WIDTH).rstrip("\n")
    pad = " " * indent
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def _check_defined(value: Any) -> None:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError, naming the missing variable


def _plain(value: Any) -> Any:
    """Tuples as lists, so the safe dumper accepts the model's frozen data."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def to_json(value: Any) -> str:
    """`value` as stable, indented JSON (sorted keys, ASCII only)."""
    _check_defined(value)
    return json.dumps(_plain(value), indent=2, sort_keys=True)


def _load_template(name: str) -> str:
    try:
        return resources.read_text("templates", name)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise RenderError(f"template {name!r} is missing from jarvis-config's templates") from exc


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # YAML and JSON, not HTML: the filters do the escaping
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yaml"] = to_yaml
    env.filters["json"] = to_json
    return env


def render_template(name: str, **context: Any) -> str:
    """Render `templates/<name>` with `context`; template faults become RenderError."""
    try:
        return environment().get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {name!r} failed: {exc}") from exc
