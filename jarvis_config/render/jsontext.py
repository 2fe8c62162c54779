"""Stage 4, render (shared): indented JSON text, byte for byte what `json.dumps(value,
indent=2, sort_keys=True)` writes, several times faster.

With `indent`, the standard library encodes in pure Python (its C encoder writes compact JSON
only), through a generator per level that hands each piece up through every level above it:
routes.json of a large mesh took a fifth of a build. This writer appends the same pieces to
one list; strings go through the standard library's own C escaper. Whatever it does not know
(keys that are not strings, other types) goes to `json.dumps` itself, so the two never differ;
the tests compare both on generated data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii
from typing import Any

from jarvis_config.render.blockyaml import plain


class _Unwritable(Exception):
    """A value outside what the fast writer handles: `json.dumps` writes the whole value."""


def dumps(value: Any) -> str:
    """`value` as JSON: indented by 2, keys sorted, ASCII only (tuples as lists, any mapping as
    an object)."""
    out: list[str] = []
    try:
        _write(value, "\n", out)
    except _Unwritable:
        return json.dumps(plain(value), indent=2, sort_keys=True)
    return "".join(out)


def _write(value: Any, newline: str, out: list[str]) -> None:
    """Append the text of `value`; `newline` is a line break and the indent of its line."""
    kind = type(value)
    if kind is str:
        out.append(encode_basestring_ascii(value))
    elif kind is dict or isinstance(value, Mapping):
        _write_object(value, newline, out)
    elif kind is list or kind is tuple:
        _write_array(value, newline, out)
    else:
        out.append(_scalar(value))


def _write_object(value: Mapping[Any, Any], newline: str, out: list[str]) -> None:
    if not value:
        out.append("{}")
        return
    inner = newline + "  "
    separator = "{" + inner
    for key in sorted(value):
        if type(key) is not str:
            raise _Unwritable  # json.dumps turns numbers, booleans and None into strings
        item = value[key]
        out.append(separator)
        out.append(encode_basestring_ascii(key))
        out.append(": ")
        if type(item) is str:  # the common case, without a call
            out.append(encode_basestring_ascii(item))
        else:
            _write(item, inner, out)
        separator = "," + inner
    out.append(newline)
    out.append("}")


def _write_array(value: list[Any] | tuple[Any, ...], newline: str, out: list[str]) -> None:
    if not value:
        out.append("[]")
        return
    inner = newline + "  "
    separator = "[" + inner
    for item in value:
        out.append(separator)
        if type(item) is str:
            out.append(encode_basestring_ascii(item))
        else:
            _write(item, inner, out)
        separator = "," + inner
    out.append(newline)
    out.append("]")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is float:
        return json.dumps(value)  # repr, or NaN / Infinity as the encoder spells them
    raise _Unwritable
