"""Stage 4, render (shared): the one Jinja2 environment every template renders through.

Templates are for files that are layout: the `docs` pages, the `init` starter, nginx.conf and
.env.example. Files that are data (YAML, JSON) are built as data and serialized once by
`render.serialize`, never through a template. A value from the mesh that a page writes goes
through the escape of its format (`md`, `code`, `sh`, `py`, ...); nginx.conf and .env.example
hold only ports and names the schema restricts to plain words (services, client keys, variables).
Undefined names are errors (StrictUndefined), and templates are read through package
resources, so a wheel renders the same bytes as a source checkout.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import jinja2

from jarvis_config import resources
from jarvis_config.errors import RenderError
from jarvis_config.render import expansion
from jarvis_config.render.markdown import cell, code, fence, md


def to_inline_json(value: Any) -> str:
    """`value` as one line of JSON, non-ASCII kept (request bodies in the docs' examples)."""
    return json.dumps(value, ensure_ascii=False)


def to_python(value: str) -> str:
    """A Python string literal (JSON's escapes are Python's too)."""
    return json.dumps(str(value))


# Every filter of every template: the escapes of each text format a template writes.
FILTERS: dict[str, Callable[..., str]] = {
    "json_inline": to_inline_json,
    "md": md,
    "code": code,
    "cell": cell,
    "fence": fence,
    "sh": expansion.shell,
    "py": to_python,
}


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
    env.filters.update(FILTERS)
    return env


def render_template(name: str, **context: Any) -> str:
    """Render `templates/<name>` with `context`; template faults become RenderError."""
    try:
        return environment().get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {name!r} failed: {exc}") from exc
