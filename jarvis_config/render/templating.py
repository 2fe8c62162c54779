"""Stage 4, render (shared): the one Jinja2 environment every template renders through (the
targets' and the `docs` pages').

Templates hold layout only. Every value reaches the output through a serializing filter
(`yaml`, `json`), never raw interpolation, so the output parses back to exactly the data the
renderer built, whatever characters a name or a parameter holds. Undefined names are errors
(StrictUndefined), and templates are read through package resources, so a wheel renders the
same bytes as a source checkout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import jinja2
import jinja2.filters

from jarvis_config import resources
from jarvis_config.errors import RenderError
from jarvis_config.render import blockyaml, expansion, jsontext
from jarvis_config.render.markdown import cell, code, fence, md


def to_yaml(value: Any, indent: int = 0) -> str:
    """`value` as YAML: block style for mappings and lists (each line indented by `indent`
    spaces), a one-line scalar otherwise. Keys keep the order the renderer gave them."""
    if not indent:  # most calls: one string or number in a line of a template
        kind = type(value)
        if kind is str:
            return blockyaml.dump_str(value)
        if kind is int:
            return str(value)
    _check_defined(value)
    text = blockyaml.dump(value, indent)
    # An empty mapping or list is written in flow style (`{}`) on one line: under a key it
    # must still be indented, or `key:` followed by `{}` at column 1 does not parse.
    return text if text.startswith(" " * indent) else " " * indent + text


def _check_defined(value: Any) -> None:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError, naming the missing variable


def to_json(value: Any) -> str:
    """`value` as stable, indented JSON (sorted keys, ASCII only)."""
    _check_defined(value)
    return jsontext.dumps(value)


def to_inline_json(value: Any) -> str:
    """`value` as one line of JSON, non-ASCII kept (request bodies in the docs' examples)."""
    return json.dumps(value, ensure_ascii=False)


def to_python(value: str) -> str:
    """A Python string literal (JSON's escapes are Python's too)."""
    return json.dumps(str(value))


# Line breaks of str.splitlines() other than "\n", which Jinja's `indent` turns into "\n".
_OTHER_LINE_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def indent_text(text: str, width: int) -> str:
    """Jinja's `indent(width, first=True)`: every line indented by `width` spaces except the
    empty ones (the first line always), without splitting `text` into a list of lines (a
    ConfigMap holds a large mesh's whole gateway config: 0.5 million lines)."""
    if _OTHER_LINE_BREAKS.search(text):
        return jinja2.filters.do_indent(text, width, True)
    if width <= 0:
        return text  # what Jinja writes then; and the loop below needs a non-empty pad
    pad = " " * width
    indented = pad + text.replace("\n", "\n" + pad)
    blank = f"\n{pad}\n"
    while blank in indented:  # each pass unindents every other line of a run of empty lines
        indented = indented.replace(blank, "\n\n")
    return indented.removesuffix(pad) if indented.endswith("\n" + pad) else indented


def literal_header(text: str, indicator: int) -> str:
    """The header of a YAML literal block that reads back as exactly `text` (a file, or a
    chunk of one, ending in a line break): `|`, with the indentation indicator when the first
    line that holds anything starts with a space (the parser would take that space for the
    block's indentation), and keep-chomping when it ends in empty lines (the default drops
    them). `indicator` is how much deeper the content sits than its key."""
    header = "|"
    if text.lstrip("\n").startswith(" "):
        header += str(indicator)
    if text.endswith("\n\n") or text == "\n":
        header += "+"
    return header


# Every filter of every template: serializers for the targets, escapes for the docs pages.
FILTERS: dict[str, Callable[..., str]] = {
    "yaml": to_yaml,
    "indent_text": indent_text,
    "literal_header": literal_header,
    "json": to_json,
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
