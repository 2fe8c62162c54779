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

# Wide enough that PyYAML never folds a long string over two lines. Non-ASCII characters are
# written as escapes: PyYAML's allow_unicode emits U+0085 raw, which reads back as a line break.
_YAML_WIDTH = 1 << 16


class _Dumper(yaml.SafeDumper):
    """Safe YAML that indents lists under their key, as people write YAML by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def to_yaml(value: Any, indent: int = 0) -> str:
    """`value` as YAML: block style for mappings and lists (each line indented by `indent`
    spaces), a one-line scalar otherwise. Keys keep the order the renderer gave them."""
    _check_defined(value)
    if isinstance(value, Mapping | list | tuple) and value:
        text = yaml.dump(_plain(value), Dumper=_Dumper, sort_keys=False,
                         default_flow_style=False, width=_YAML_WIDTH).rstrip("\n")
        pad = " " * indent
        return "\n".join(pad + line if line else line for line in text.split("\n"))
    return _scalar(value)


def _scalar(value: Any) -> str:
    text = yaml.dump(_plain(value), Dumper=_Dumper, default_flow_style=True, width=_YAML_WIDTH)
    # A lone scalar is a whole YAML document: drop the document-end marker PyYAML adds.
    return text.removesuffix("\n...\n").rstrip("\n")


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
