"""Stage 2a, the schema gate: a quick proof that a document is valid, before paying for jsonschema.

Importing and setting up jsonschema costs more than loading a mesh, and most runs of `validate`
(a pre-commit hook) check valid files. This module evaluates the JSON Schema keywords our schema
uses, with the semantics of the validator `validate.schema` builds, and answers one question:
is the document certainly valid? `True` lets `check_schema` skip jsonschema altogether;
anything else (an invalid document, or a keyword or value this gate does not decide exactly)
sends the document to jsonschema, which stays the one source of the error messages. A test
holds the two to the same verdicts.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

Schema = Mapping[str, Any] | bool

# Keywords that describe a value but never fail it.
ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"}
    | {"deprecated", "readOnly", "writeOnly"}
)


class Unsure(Exception):
    """This gate cannot decide a keyword exactly as jsonschema would; let jsonschema decide."""


def proves_valid(instance: Any, root: Mapping[str, Any]) -> bool:
    """True only when `instance` is certainly valid against the schema `root`."""
    try:
        return _valid(instance, root, root)
    except (Unsure, RecursionError):
        return False


def _valid(instance: Any, schema: Schema, root: Mapping[str, Any]) -> bool:
    if isinstance(schema, bool):
        return schema
    for keyword, value in schema.items():
        if keyword in ANNOTATIONS:
            continue
        check = KEYWORDS.get(keyword)
        if check is None:
            raise Unsure(keyword)
        if not check(instance, value, schema, root):
            return False
    return True


# --- one check per keyword: (instance, keyword value, whole schema, root) -> valid? ----------

Check = Callable[[Any, Any, Mapping[str, Any], Mapping[str, Any]], bool]


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    # As `validate.schema` redefines it: an int, never a float such as 8000.0.
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
}


def _type(instance: Any, value: Any, _schema: Any, _root: Any) -> bool:
    names = value if isinstance(value, list) else [value]
    if any(name not in TYPES for name in names):
        raise Unsure(f"type {names}")
    return any(TYPES[name](instance) for name in names)


def _one_of_values(instance: Any, options: list[Any]) -> bool:
    """jsonschema's `equal` for the scalars our enums hold; anything subtler is left to it."""
    if isinstance(instance, str):
        return instance in [option for option in options if isinstance(option, str)]
    if isinstance(instance, (bool, list, dict)) or any(isinstance(o, bool) for o in options):
        raise Unsure("enum of non-strings")
    return instance in options


def _properties(instance: Any, value: Mapping[str, Any], _schema: Any, root: Any) -> bool:
    if not isinstance(instance, dict):
        return True
    return all(_valid(instance[key], sub, root) for key, sub in value.items() if key in instance)


def _additional(instance: Any, value: Schema, schema: Mapping[str, Any], root: Any) -> bool:
    if not isinstance(instance, dict):
        return True
    if "patternProperties" in schema:
        raise Unsure("patternProperties")
    known = schema.get("properties", {})
    return all(_valid(item, value, root) for key, item in instance.items() if key not in known)


def _property_names(instance: Any, value: Schema, _schema: Any, root: Any) -> bool:
    if not isinstance(instance, dict):
        return True
    if not all(isinstance(key, str) for key in instance):
        raise Unsure("a key that is not a string")
    return all(_valid(key, value, root) for key in instance)


def _items(instance: Any, value: Schema, schema: Mapping[str, Any], root: Any) -> bool:
    if "prefixItems" in schema or isinstance(value, list):
        raise Unsure("prefixItems")
    return not isinstance(instance, list) or all(_valid(item, value, root) for item in instance)


def _unique(instance: Any, value: bool, _schema: Any, _root: Any) -> bool:
    if not value or not isinstance(instance, list):
        return True
    if not all(isinstance(item, str) for item in instance):
        raise Unsure("uniqueItems over values that are not strings")
    return len(set(instance)) == len(instance)


def _ref(instance: Any, value: str, _schema: Any, root: Mapping[str, Any]) -> bool:
    if not value.startswith("#/"):
        raise Unsure(f"$ref {value}")
    target: Any = root
    for part in value[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return _valid(instance, target, root)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _when(kind: Callable[[Any], bool], test: Callable[[Any, Any], bool]) -> Check:
    """A keyword that applies to one kind of value and passes any other."""
    return lambda instance, value, _schema, _root: not kind(instance) or test(instance, value)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


KEYWORDS: dict[str, Check] = {
    "type": _type,
    "enum": lambda instance, value, _s, _r: _one_of_values(instance, value),
    "const": lambda instance, value, _s, _r: _one_of_values(instance, [value]),
    "properties": _properties,
    "additionalProperties": _additional,
    "propertyNames": _property_names,
    "required": _when(_is_dict, lambda i, names: all(name in i for name in names)),
    "minProperties": _when(_is_dict, lambda i, n: len(i) >= n),
    "maxProperties": _when(_is_dict, lambda i, n: len(i) <= n),
    "items": _items,
    "uniqueItems": _unique,
    "minItems": _when(_is_list, lambda i, n: len(i) >= n),
    "maxItems": _when(_is_list, lambda i, n: len(i) <= n),
    "pattern": _when(_is_str, lambda i, p: _regex(p).search(i) is not None),
    "minLength": _when(_is_str, lambda i, n: len(i) >= n),
    "maxLength": _when(_is_str, lambda i, n: len(i) <= n),
    # Written as jsonschema words them, so NaN passes here exactly when it passes there.
    "minimum": _when(_is_number, lambda i, n: not i < n),
    "maximum": _when(_is_number, lambda i, n: not i > n),
    "exclusiveMinimum": _when(_is_number, lambda i, n: not i <= n),
    "exclusiveMaximum": _when(_is_number, lambda i, n: not i >= n),
    "$ref": _ref,
    "allOf": lambda i, subs, _s, root: all(_valid(i, sub, root) for sub in subs),
    "anyOf": lambda i, subs, _s, root: any(_valid(i, sub, root) for sub in subs),
    "oneOf": lambda i, subs, _s, root: sum(_valid(i, sub, root) for sub in subs) == 1,
    "not": lambda i, sub, _s, root: not _valid(i, sub, root),
}
