"""Stage 4, render (shared): block-style YAML text, fast, byte for byte what PyYAML writes.

PyYAML's dumper builds an event stream and analyses every scalar in pure Python, which made
it nearly all of a large build's time. The output of a build is plain data (mappings, lists,
strings, numbers, booleans, None) in a few shapes, so this module writes that text directly:
it writes a string bare only when a conservative pattern proves PyYAML would too (the same
characters, and the SafeResolver would read it back as a string), asks PyYAML for the quoted
form of any other one-line string (once per distinct value), and hands whole values it does not
know how to write (multi-line or very long strings, other types) to PyYAML itself. The tests
compare both writers on generated data, so the two never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import yaml

# Wide enough that PyYAML never folds a long string over two lines. Non-ASCII characters are
# written as escapes: PyYAML's allow_unicode emits U+0085 raw, which reads back as a line break.
WIDTH = 1 << 16


class Dumper(yaml.SafeDumper):
    """Safe YAML that indents lists under their key, as people write YAML by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


class Unwritable(Exception):
    """A value outside what the fast writer handles: PyYAML writes the whole value instead."""


# Characters PyYAML's analyze_scalar never flags anywhere in a plain scalar; ':', ',' and ' '
# only between such runs (a ': ' or ' #' or a trailing ':' would need quotes); a leading '-'
# only before such a character, never as '---'. What the pattern lets through is checked
# against the resolver below.
_RUN = r"[A-Za-z0-9_./$@%+=~-]+"
_PLAIN = re.compile(
    rf"(?!---)(?:[A-Za-z0-9_/$]|-(?=[A-Za-z0-9_./$]))[A-Za-z0-9_./$@%+=~-]*"
    rf"(?:[ :,]{_RUN})*\Z"
)
_LINE_BREAKS = re.compile("[\n\r\x85\u2028\u2029]")
_MAX_SCALAR = 4096  # longer strings go to PyYAML: its width check may fold them
_MAX_KEY = 127  # PyYAML writes longer keys in the explicit `? key` form
_RESOLVERS = Dumper.yaml_implicit_resolvers


def _resolves_to_str(text: str) -> bool:
    """Would the SafeResolver read `text`, written bare, back as a string (not a bool, a
    number, null, a timestamp...)?"""
    return not any(pattern.match(text) for _, pattern in _RESOLVERS.get(text[0], ()))


@lru_cache(maxsize=1 << 16)
def _str_text(value: str) -> str | None:
    """How PyYAML writes the one-line string `value`, or None when only PyYAML may say.
    Remembered: a build writes the same names, labels and images thousands of times."""
    text = _STR_TEXTS.get(value)
    if text is None:
        text = _new_str_text(value)
        if text is not None and len(_STR_TEXTS) < _MAX_REMEMBERED:
            _STR_TEXTS[value] = text
    return text


def _new_str_text(value: str) -> str | None:
    if len(value) > _MAX_SCALAR or _LINE_BREAKS.search(value):
        return None
    if _PLAIN.match(value) and _resolves_to_str(value):
        return value
    return pyyaml_scalar(value)


_MAX_REMEMBERED = 1 << 20  # strings; bounded for a long-running process
_STR_TEXTS: dict[str, str] = {}


def dump(value: Any, indent: int = 0) -> str:
    """`value` as YAML, byte for byte what `pyyaml_dump` writes: block style for a non-empty
    mapping or list (every line indented by `indent` spaces), a one-line scalar otherwise."""
    try:
        if is_block(value):
            return "\n".join(_lines(value, indent, " " * indent))
        return scalar_text(value)
    except Unwritable:
        return pyyaml_dump(value, indent)


def dump_str(value: str) -> str:
    """`dump` of one string, without the type dispatch."""
    text = _str_text(value)
    return pyyaml_dump(value) if text is None else text


def pyyaml_dump(value: Any, indent: int = 0) -> str:
    """What `dump` writes, written by PyYAML itself: the reference `dump` matches, and what
    it falls back to."""
    if not is_block(value):
        return pyyaml_scalar(plain(value))
    text = yaml.dump(
        plain(value), Dumper=Dumper, sort_keys=False, default_flow_style=False, width=WIDTH
    ).rstrip("\n")
    pad = " " * indent
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def pyyaml_scalar(value: Any) -> str:
    """PyYAML's text for a lone scalar, without the document-end marker it adds."""
    text = yaml.dump(value, Dumper=Dumper, default_flow_style=True, width=WIDTH)
    return text.removesuffix("\n...\n").rstrip("\n")


def plain(value: Any) -> Any:
    """Tuples as lists and any mapping as a dict, so the safe dumpers accept the model's
    frozen data."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def scalar_text(value: Any) -> str:
    """`value`, which is not a non-empty mapping or list, as PyYAML writes it in a block."""
    kind = type(value)
    if kind is str:
        text = _str_text(value)
        if text is None:
            raise Unwritable
        return text
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if kind is float:
        return _float_text(repr(value))
    if isinstance(value, Mapping | list | tuple) and not value:
        return "{}" if isinstance(value, Mapping) else "[]"
    raise Unwritable


@lru_cache(maxsize=1024)
def _float_text(exact: str) -> str:
    # Cached by repr: 0.0 and -0.0 are equal keys but different text.
    return pyyaml_scalar(float(exact))


def _key_text(key: Any) -> str:
    if type(key) is int:
        return str(key)
    if type(key) is not str or not 0 < len(key) <= _MAX_KEY:
        raise Unwritable
    text = scalar_text(key)
    if len(_KEY_TEXTS) < _MAX_REMEMBERED:
        _KEY_TEXTS[key] = text
    return text


# Only string keys: a lookup with another type never matches one (True == 1, never "1").
_KEY_TEXTS: dict[str, str] = {}


_CONTAINERS = (dict, list, tuple)
_SCALARS = frozenset({int, bool, float, type(None)})


def is_block(value: Any) -> bool:
    """Is `value` written in block style: a non-empty mapping or list?"""
    # The exact-type test first: most values are strings, and an ABC check is slow.
    if type(value) in _CONTAINERS:
        return bool(value)
    return isinstance(value, Mapping | list | tuple) and bool(value)


def _lines(value: Any, indent: int, first: str) -> list[str]:
    """The lines of the non-empty mapping or list `value` at column `indent`; the first line
    starts with `first` instead of the indent (a `- ` of the enclosing list)."""
    out: list[str] = []
    _write_block(value, indent, first, out)
    return out


def _write_block(value: Any, indent: int, first: str, out: list[str]) -> None:
    """Append the lines of `value` to `out`. One list for the whole value, not a generator per
    level: a nested generator hands each line up through every level above it, which made
    the writer's cost grow with the depth of a manifest. Exact types are tested before the
    abstract ones (Mapping): an ABC check costs more than writing a line."""
    pad = " " * indent
    inner = indent + 2
    lead = first
    kind = type(value)
    texts, keys, append = _STR_TEXTS, _KEY_TEXTS, out.append
    if kind is dict or (kind is not list and kind is not tuple and isinstance(value, Mapping)):
        for key, item in value.items():
            name = keys.get(key) or _key_text(key)
            kind = type(item)
            if kind is str:
                text = texts.get(item) or _str_text(item)
                if text is None:
                    raise Unwritable
                append(f"{lead}{name}: {text}")
            elif kind in _SCALARS or not is_block(item):
                append(f"{lead}{name}: {scalar_text(item)}")
            else:
                append(f"{lead}{name}:")
                _write_block(item, inner, " " * inner, out)
            lead = pad
    else:
        for item in value:
            kind = type(item)
            if kind is str:
                text = texts.get(item) or _str_text(item)
                if text is None:
                    raise Unwritable
                append(f"{lead}- {text}")
            elif kind in _SCALARS or not is_block(item):
                append(f"{lead}- {scalar_text(item)}")
            else:
                _write_block(item, inner, lead + "- ", out)
            lead = pad
