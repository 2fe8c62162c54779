"""Stage 2a, schema: check the document against the JSON Schema (draft 2020-12).

jsonschema reports faults in terms of JSON values; this module turns each into a `Problem` that
points at the YAML line of the offending value (or, for an unknown field, of its key) and says
in an operator's words what is wrong and what to write instead. Values of secret fields are
never echoed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from jarvis_config import resources
from jarvis_config.load import Document
from jarvis_config.model.catalog import SOURCE_EXAMPLES
from jarvis_config.model.mesh import ENV_REF, MAX_ENV_NAME, NAME
from jarvis_config.problems import Location, PathParts, Problem, json_path
from jarvis_config.validate.codes import emits
from jarvis_config.wording import closest

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

ENTRY_KINDS = {"nodes": "node", "providers": "provider", "models": "model", "aliases": "alias"}
NAME_HINT = (
    "use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63 "
    "characters); names become deployment ids such as 'llama3@ai-max'"
)
EXPECTED = {
    "integer": "a whole number",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "empty",
}
# Hints for `oneOf` choices between required fields, keyed by the sorted field names.
CHOICE_HINTS: dict[tuple[str, ...], str] = {
    ("provider", "runtime"): "runtime (with a placement) serves the model on your nodes; "
    "provider serves it from a hosted API",
}
RANGE_WORDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "greater than",
    "exclusiveMaximum": "less than",
}

Handler = Callable[[Document, "ValidationError"], list[Problem]]


def _is_integer(_checker: Any, value: Any) -> bool:
    """Only ints: JSON Schema's integer also takes 8000.0, which then slips past every rule
    comparing ports and renders as '8000.0'. One meaning of integer, everywhere."""
    return isinstance(value, int) and not isinstance(value, bool)


@cache
def _validator() -> Draft202012Validator:
    """The schema file's validator, built once per process. Imported here: only commands
    that check a config pay for jsonschema (`--help`, `schema` and `init` do not)."""
    from jsonschema import Draft202012Validator, validators

    strict = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
    validator = validators.extend(Draft202012Validator, type_checker=strict)
    return cast(Draft202012Validator, validator(resources.schema()))


def check_schema(doc: Document) -> list[Problem]:
    """Every schema fault of the document, one problem per fault."""
    errors = list(_validator().iter_errors(doc.data))
    # A value of the wrong type also fails its other keywords; the type error says it all.
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    problems: list[Problem] = []
    for error in errors:
        if error.validator == "type" or tuple(error.absolute_path) not in mistyped:
            problems.extend(_problems(doc, error))
    return sorted(set(problems))


def _problems(doc: Document, error: ValidationError) -> list[Problem]:
    if error.validator in ("oneOf", "anyOf"):
        return _choice(doc, error)
    if _is_secret(error.schema):
        return [_literal_secret(doc, error)]
    if "propertyNames" in error.absolute_schema_path:
        return [_bad_key_name(doc, error)]
    handler = HANDLERS.get(str(error.validator), _other)
    return handler(doc, error)


def _path(error: ValidationError) -> PathParts:
    return tuple(error.absolute_path)


def _problem(
    location: Location, code: str, message: str, path: PathParts, hint: str | None = None
) -> Problem:
    return Problem(location, code, message, json_path(path), hint)


# --- one handler per JSON Schema keyword -------------------------------------------------


@emits("wrong-type")
def _wrong_type(doc: Document, error: ValidationError) -> list[Problem]:
    path, value = _path(error), error.instance
    types = (
        error.validator_value
        if isinstance(error.validator_value, list)
        else [error.validator_value]
    )
    expected = " or ".join(EXPECTED.get(str(t), str(t)) for t in types)
    message = f"{subject(path)} must be {expected}, not {_shown(value)}"
    hint = _indent_hint(path, value) or _type_hint(types, value)
    return [_problem(doc.locate(path), "wrong-type", message, path, hint)]


def _indent_hint(path: PathParts, value: Any) -> str | None:
    """`memory_gb: 5` one level too far left parses as a model named memory_gb: say so."""
    if len(path) != 2 or path[0] not in ENTRY_KINDS or isinstance(value, (dict, list)):
        return None
    entry = _resolve(resources.schema()["properties"][path[0]]["additionalProperties"])
    if path[1] not in entry.get("properties", {}):
        return None
    kind = ENTRY_KINDS[str(path[0])]
    return (
        f"{path[1]!r} is a field of a {kind}, not a {kind} name: is the line indented "
        f"too little? Fields go under the {kind}'s name, indented further"
    )


def _type_hint(types: Sequence[str], value: Any) -> str | None:
    if "object" in types and value is None:
        return "write its fields indented below it"
    if ("integer" in types or "number" in types) and isinstance(value, str):
        return "write the number without quotes" if _is_number(value) else None
    if "integer" in types and isinstance(value, float):
        return "use a whole number"
    if "string" in types and isinstance(value, (bool, int, float)):
        return "quote the value so YAML reads it as text"
    if "array" in types and isinstance(value, str):
        plain = re.fullmatch(r"[\w.:@/-]{1,40}", value) is not None
        return f"write a list: [{value if plain else '...'}]"
    return None


@emits("missing-field")
def _missing(doc: Document, error: ValidationError) -> list[Problem]:
    path, instance = _path(error), error.instance
    location = doc.locate_key(path) if path else doc.locate(path)
    properties = error.schema.get("properties", {})
    problems = []
    for name in error.validator_value:
        if (
            isinstance(instance, Mapping)
            and name not in instance
            and not misspelt(instance, name, properties)
        ):
            example = _field_example(instance, name, properties)
            hint = f"add it, e.g. {name}: {example}" if example is not None else None
            problems.append(
                _problem(
                    location,
                    "missing-field",
                    f"{subject(path)} is missing the required field {name!r}",
                    path,
                    hint,
                )
            )
    return problems


def _field_example(instance: Mapping[str, Any], name: str, properties: Mapping[str, Any]) -> Any:
    """An example value for a missing field; a model's source depends on what serves it."""
    if name == "source" and ("runtime" in instance or "provider" in instance):
        served_by = instance.get("runtime") if "runtime" in instance else "provider"
        if isinstance(served_by, str) and served_by in SOURCE_EXAMPLES:
            return SOURCE_EXAMPLES[served_by]
    return _example(properties.get(name, {}))


@emits("unknown-runtime", "unknown-field")
def _unknown(doc: Document, error: ValidationError) -> list[Problem]:
    path, instance = _path(error), error.instance
    known = list(error.schema.get("properties", {}))
    extras = [key for key in instance if key not in known] if isinstance(instance, Mapping) else []
    return [_unknown_key(doc, error.schema, path, str(key), known) for key in extras]


def _unknown_key(
    doc: Document, schema: Mapping[str, Any], path: PathParts, key: str, known: list[str]
) -> Problem:
    where = (*path, key)
    match = closest(key, known)
    if path and path[-1] == "runtimes":
        message = f"unknown runtime {key!r} on {subject(path[:-1])}"
        hint = f"did you mean {match!r}?" if match else f"known runtimes: {', '.join(known)}"
        return _problem(doc.locate_key(where), "unknown-runtime", message, where, hint)
    message = f"unknown field {key!r} in {subject(path)}" if path else f"unknown section {key!r}"
    if match:
        hint = f"did you mean {match!r}?"
    else:
        home = _nested_home(schema, key)
        hint = (
            f"{key!r} belongs under {home!r}: {home}: {{{key}: ...}}"
            if home
            else f"known fields: {', '.join(known)}"
        )
    return _problem(doc.locate_key(where), "unknown-field", message, where, hint)


@emits("bad-choice")
def _not_one_of(doc: Document, error: ValidationError) -> list[Problem]:
    path, value = _path(error), error.instance
    options = [str(option) for option in error.validator_value]
    message = f"{subject(path)} must be one of {', '.join(options)}, not {_shown(value)}"
    match = closest(value, options) if isinstance(value, str) else None
    hint = f"did you mean {match!r}?" if match else None
    return [_problem(doc.locate(path), "bad-choice", message, path, hint)]


@emits("unsupported-version", "bad-value")
def _not_const(doc: Document, error: ValidationError) -> list[Problem]:
    path = _path(error)
    message = f"{subject(path)} must be {error.validator_value!r}, not {_shown(error.instance)}"
    if path != ("version",):
        return [_problem(doc.locate(path), "bad-value", message, path)]
    hint = "1 is the only input format version so far"
    return [_problem(doc.locate(path), "unsupported-version", message, path, hint)]


@emits("bad-name", "bad-format")
def _bad_pattern(doc: Document, error: ValidationError) -> list[Problem]:
    path, value = _path(error), error.instance
    if error.validator_value == NAME.pattern:
        message = f"{subject(path)} is {_shown(value)}, not a valid name"
        return [_problem(doc.locate(path), "bad-name", message, path, _name_hint(str(value)))]
    if isinstance(value, str) and "${" in value:
        return []  # semantics explains that only secrets take env references
    example = _example(error.schema)
    shape = f"look like {example}" if example is not None else "have another form"
    message = f"{subject(path)} must {shape}, not {_shown(value)}"
    return [_problem(doc.locate(path), "bad-format", message, path)]


@emits("bad-name")
def _bad_key_name(doc: Document, error: ValidationError) -> Problem:
    path, key = _path(error), str(error.instance)
    kind = ENTRY_KINDS.get(str(path[-1]), "model") if path else "section"
    message = f"{kind} name {key!r} is not allowed"
    return _problem(
        doc.locate_key((*path, key)), "bad-name", message, (*path, key), _name_hint(key)
    )


def _name_hint(name: str) -> str:
    fixed = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:63]
    if fixed and fixed != name and NAME.match(fixed):
        return f"{NAME_HINT}; e.g. {fixed!r}"
    return NAME_HINT


@emits("out-of-range")
def _out_of_range(doc: Document, error: ValidationError) -> list[Problem]:
    path = _path(error)
    words = RANGE_WORDS[str(error.validator)]
    message = f"{subject(path)} must be {words} {error.validator_value}, not {error.instance!r}"
    return [_problem(doc.locate(path), "out-of-range", message, path)]


@emits("empty-value")
def _empty(doc: Document, error: ValidationError) -> list[Problem]:
    path = _path(error)
    what = "list at least one item" if error.validator == "minItems" else "not be empty"
    return [_problem(doc.locate(path), "empty-value", f"{subject(path)} must {what}", path)]


@emits("missing-field")
def _too_few_fields(doc: Document, error: ValidationError) -> list[Problem]:
    path = _path(error)
    known = list(error.schema.get("properties", {}))
    one = "exactly one" if error.schema.get("maxProperties") == 1 else "at least one"
    message = f"{subject(path)} needs {one} of: {', '.join(known)}"
    example = _example(error.schema)
    hint = f"e.g. {path[-1]}: {example}" if example is not None and path else None
    return [_problem(doc.locate_key(path), "missing-field", message, path, hint)]


@emits("conflicting-fields")
def _too_many_fields(doc: Document, error: ValidationError) -> list[Problem]:
    path, instance = _path(error), error.instance
    keys = [str(key) for key in instance] if isinstance(instance, Mapping) else []
    message = f"{subject(path)} sets {' and '.join(map(repr, keys))}; use only one of them"
    where = (*path, keys[-1]) if keys else path
    known = " or ".join(repr(name) for name in error.schema.get("properties", {}))
    return [
        _problem(doc.locate_key(where), "conflicting-fields", message, path, f"keep either {known}")
    ]


@emits("duplicate-item")
def _duplicate_item(doc: Document, error: ValidationError) -> list[Problem]:
    path, items = _path(error), error.instance
    seen: list[Any] = []
    for index, item in enumerate(items):
        if item in seen:
            message = f"{subject(path)} lists {_shown(item)} twice"
            return [
                _problem(
                    doc.locate((*path, index)),
                    "duplicate-item",
                    message,
                    (*path, index),
                    "remove the repeated entry",
                )
            ]
        seen.append(item)
    return []


def _choice(doc: Document, error: ValidationError) -> list[Problem]:
    branches = error.validator_value
    required = [b.get("required", []) for b in branches if isinstance(b, Mapping)]
    if all(len(b) == 1 and len(r) == 1 for b, r in zip(branches, required, strict=False)):
        return _one_of_fields(doc, error, [r[0] for r in required])
    from jsonschema.exceptions import best_match

    if not error.context:
        return _other(doc, error)
    return _problems(doc, best_match(error.context))


@emits("conflicting-fields", "missing-field")
def _one_of_fields(doc: Document, error: ValidationError, names: list[str]) -> list[Problem]:
    path, instance = _path(error), error.instance
    if not isinstance(instance, Mapping):
        return []
    present = [n for n in names if n in instance]
    hint = CHOICE_HINTS.get((*sorted(names),))
    listed = " and ".join(repr(n) for n in names)
    if len(present) > 1:
        message = f"{subject(path)} sets both {listed}; use exactly one"
        where = (*path, present[-1])
        return [_problem(doc.locate_key(where), "conflicting-fields", message, where, hint)]
    known = error.schema.get("properties", {})
    if any(misspelt(instance, name, known) for name in names):
        return []  # the unknown-field problem already says "did you mean ...?"
    message = f"{subject(path)} needs {' or '.join(repr(n) for n in names)}"
    return [_problem(doc.locate_key(path), "missing-field", message, path, hint)]


def misspelt(instance: Mapping[str, Any], name: str, known: Iterable[str]) -> bool:
    """Whether an unknown key of `instance` looks like a typo of `name` (one fault, not two)."""
    options = list(known)
    return any(key not in options and closest(str(key), options) == name for key in instance)


@emits("bad-value")
def _other(doc: Document, error: ValidationError) -> list[Problem]:
    path = _path(error)
    return [_problem(doc.locate(path), "bad-value", f"{subject(path)}: {error.message}", path)]


HANDLERS: dict[str, Handler] = {
    "type": _wrong_type,
    "required": _missing,
    "additionalProperties": _unknown,
    "enum": _not_one_of,
    "const": _not_const,
    "pattern": _bad_pattern,
    "minimum": _out_of_range,
    "maximum": _out_of_range,
    "exclusiveMinimum": _out_of_range,
    "exclusiveMaximum": _out_of_range,
    "minLength": _empty,
    "minItems": _empty,
    "minProperties": _too_few_fields,
    "maxProperties": _too_many_fields,
    "uniqueItems": _duplicate_item,
}


# --- secrets -----------------------------------------------------------------------------


def _is_secret(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("pattern") == ENV_REF.pattern


@emits("literal-secret", "env-name-too-long")
def _literal_secret(doc: Document, error: ValidationError) -> Problem:
    """Never echo the value: it may be a real key."""
    path, value = _path(error), error.instance
    if isinstance(value, str) and re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", value):
        return _problem(
            doc.locate(path),
            "env-name-too-long",
            f"{subject(path)} names a variable of {len(value) - 3} characters, more than "
            f"{MAX_ENV_NAME}",
            path,
            "use a shorter variable name; compose files hold it as a key",
        )
    var = _suggested_var(path)
    if isinstance(value, str) and re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", value):
        var = value[1:]
    elif isinstance(value, str) and re.fullmatch(r"os\.environ/[A-Za-z_][A-Za-z0-9_]*", value):
        var = value.removeprefix("os.environ/")
    message = f"{subject(path)} must be an environment reference, not a literal value"
    hint = (
        f"write ${{{var}}} and set {var} where the mesh is deployed; a secret written in "
        "the config ends up in git and in the rendered files"
    )
    return _problem(doc.locate(path), "literal-secret", message, path, hint)


def _suggested_var(path: PathParts) -> str:
    if path[:1] == ("providers",) and len(path) > 1:
        return _env_name(f"{path[1]}_API_KEY")
    if path[:1] == ("nodes",) and len(path) > 3:
        return _env_name(f"{path[1]}_{path[3]}_API_KEY")
    if path[:2] == ("gateway", "keys") and len(path) > 2:
        return _env_name(f"JARVIS_KEY_{path[2]}")
    return "JARVIS_MASTER_KEY"


def _env_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text).upper()


# --- words -------------------------------------------------------------------------------


def subject(path: PathParts) -> str:
    """How a message names the value at `path`: "model 'llama3'", "'port' of node 'mini'"."""
    if not path:
        return "the top level"
    if len(path) >= 2 and path[0] in ENTRY_KINDS:
        owner = f"{ENTRY_KINDS[str(path[0])]} {path[1]!r}"
        return owner if len(path) == 2 else f"{_dotted(path[2:])!r} of {owner}"
    return repr(_dotted(path))


def _dotted(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def _shown(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    return "a list" if isinstance(value, list) else "a mapping"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _example(schema: Mapping[str, Any]) -> str | None:
    examples = schema.get("examples")
    return _inline(examples[0]) if isinstance(examples, list) and examples else None


def _inline(value: Any) -> str:
    """A value as YAML flow text, for hints."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _nested_home(schema: Mapping[str, Any], key: str) -> str | None:
    """The field of `schema` whose own fields include `key` (e.g. temperature -> params)."""
    for name, sub in schema.get("properties", {}).items():
        if key in _resolve(sub).get("properties", {}):
            return str(name)
    return None


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: Mapping[str, Any] = resources.schema()["$defs"][ref.removeprefix("#/$defs/")]
        return resolved
    return schema
