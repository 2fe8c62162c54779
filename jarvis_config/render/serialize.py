"""Stage 4, render (shared): the one place output data becomes YAML or JSON text.

Each target builds a file as plain data (dicts, lists, tuples, strings, numbers, booleans,
None) and serializes it once here: YAML with PyYAML's libyaml dumper (`CSafeDumper`, or the
pure-Python `SafeDumper` where PyYAML was built without libyaml), JSON with `json.dumps`. The
library quotes every value that would read back as something else (`"yes"`, `"0444"`,
`"- x"`), so no name or parameter can change a file's structure, and the settings below fix
every choice that could vary, so the same data always gives the same bytes.
It also holds the digest by which rendered files are recognised (labels, config names).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import yaml

# PyYAML without libyaml has no CSafeDumper: SafeDumper writes the same text in pure Python.
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Long enough that no string is ever folded over several lines.
WIDTH = 1 << 30


class Dumper(_BaseDumper):  # type: ignore[misc]
    """Safe YAML of plain data: tuples as lists, multi-line strings as literal blocks (a file
    held in a ConfigMap reads as it does on disk), never an anchor or alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # A literal block where the emitter allows one; it falls back to a quoted scalar by itself
    # for text a block cannot hold (trailing spaces, control characters).
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _represent_str)
Dumper.add_representer(tuple, yaml.SafeDumper.represent_list)


_YAML_OPTIONS: dict[str, Any] = {
    "sort_keys": False,  # the renderer's order: the order a reader expects (apiVersion first)
    "default_flow_style": False,
    # Non-ASCII as escapes: U+2028 and U+2029 are line breaks to YAML 1.1 readers (PyYAML,
    # docker-compose) but not to YAML 1.2 ones (Go's yaml.v3 in the docker CLI and kubectl),
    # so written raw they could read back differently; an escape reads the same everywhere.
    "allow_unicode": False,
    "width": WIDTH,
    "explicit_start": False,
    "encoding": None,
}


def to_yaml(data: Any, header: str = "") -> str:
    """`data` as one block-style YAML document, keys in the order the renderer built them;
    `header` (comment lines, each ending in a line break) goes before it."""
    text: str = yaml.dump(data, Dumper=Dumper, **_YAML_OPTIONS)
    return header + text


def to_yaml_documents(documents: list[Any], header: str = "") -> str:
    """Several YAML documents in one file, `---` between them (Kubernetes manifests)."""
    text: str = yaml.dump_all(documents, Dumper=Dumper, **_YAML_OPTIONS)
    return header + text


def to_json(data: Any) -> str:
    """`data` as indented JSON with sorted keys, ASCII only, ending in a line break."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def files_digest(files: Mapping[str, str]) -> str:
    """A SHA-256 (hex) over files' names and contents, in name order, fed piece by piece:
    the files run to megabytes."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0".encode())
        digest.update(files[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()
