"""Stage 1, load: read YAML files into plain data, keeping the file, line and column of every value.

Safe loading only. PyYAML's own constructor silently accepts duplicate keys and expands
alias bombs, so this module walks the composed node graph itself: duplicate keys, unknown
tags, alias bombs, over-deep nesting and oversized files become `Problem`s, never exceptions.
A directory is a mesh split over many files (e.g. `nodes/` and `models/`); they are merged here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from jarvis_config import resources
from jarvis_config.problems import Location, PathParts, Problem, json_path, whole_file
from jarvis_config.safeio import NotRegularFile, TooLarge, read_regular
from jarvis_config.wording import closest

try:  # libyaml's composer is several times faster; the pure-Python one is the fallback.
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_FOLDER_BYTES = 4 * MAX_FILE_BYTES  # a split mesh, all files together
MAX_EXPANDED_NODES = 2_000_000
# Text that aliases repeat: counting values alone let one large anchored string, repeated,
# turn a 112 KB file into a 320 MB build.
MAX_ALIASED_BYTES = 1024 * 1024
MAX_DEPTH = 64
# The problem codes this stage emits (the catalogue: jarvis_config.validate.codes).
EMITS = (
    "alias-bomb",
    "bad-scalar",
    "binary-file",
    "defined-twice",
    "duplicate-key",
    "empty-file",
    "file-not-found",
    "file-too-large",
    "input-too-large",
    "no-yaml-files",
    "non-string-key",
    "not-a-file",
    "not-a-mesh",
    "not-finite",
    "not-utf8",
    "recursive-alias",
    "root-not-mapping",
    "several-documents",
    "tab",
    "too-deep",
    "unreadable",
    "unsupported-tag",
    "yaml-character",
    "yaml-syntax",
)
YAML_SUFFIXES = (".yaml", ".yml")
# Sections that hold named entries: split configs merge them entry by entry.
NAMED_SECTIONS = ("nodes", "providers", "models", "aliases")

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{kind}" for kind in ("null", "bool", "int", "float"))


class Document:
    """The merged input: plain data plus where each value (and each mapping key) came from."""

    def __init__(
        self,
        data: dict[str, Any],
        files: tuple[str, ...],
        positions: dict[PathParts, Location] | None = None,
        key_positions: dict[PathParts, Location] | None = None,
    ) -> None:
        self.data = data
        self.files = files
        self.positions: dict[PathParts, Location] = {} if positions is None else positions
        self.key_positions: dict[PathParts, Location] = (
            {} if key_positions is None else key_positions
        )

    def locate(self, path: Iterable[str | int]) -> Location:
        """The value at `path`, or its nearest ancestor that has a position."""
        parts = tuple(path)
        while parts not in self.positions and parts:
            parts = parts[:-1]
        return self.positions.get(parts) or Location(self.files[0] if self.files else "<input>")

    def locate_key(self, path: Iterable[str | int]) -> Location:
        """The mapping key that names `path` (falls back to the value's position)."""
        parts = tuple(path)
        return self.key_positions.get(parts) or self.locate(parts)


def load_path(path: Path) -> tuple[Document | None, list[Problem]]:
    """Load one file, or every YAML file below a directory merged into one mesh."""
    if path.is_dir():
        # Hidden files and folders (.github/, .pre-commit-config.yaml) are not mesh parts.
        files = sorted(
            p
            for p in path.rglob("*")
            if p.suffix in YAML_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            return None, [
                _problem(
                    str(path),
                    "no-yaml-files",
                    "no .yaml or .yml files here",
                    hint="point at a config file or a folder of them",
                )
            ]
        too_large = _folder_too_large(path, files)
        return (None, [too_large]) if too_large else _load_many(files)
    if not path.exists():
        return None, [_problem(str(path), "file-not-found", "no such file or directory")]
    return _load_many([path])


def _folder_too_large(folder: Path, files: list[Path]) -> Problem | None:
    """The files of a split mesh are bounded together too, before any is read."""
    total = sum(file.stat().st_size for file in files)
    if total <= MAX_FOLDER_BYTES:
        return None
    return _problem(
        str(folder),
        "input-too-large",
        f"the YAML files here hold {total} bytes together; the limit is {MAX_FOLDER_BYTES}",
        hint="split the mesh into several meshes",
    )


def load_text(
    text: str | bytes, name: str = "<input>", *, expect_mesh: bool = False
) -> tuple[Document | None, list[Problem]]:
    """Load YAML given as text (tests, stdin); `expect_mesh` refuses YAML that is not a mesh
    at all, as loading a config file does."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    _, doc, problems = _load_bytes(raw, name, expect_mesh=expect_mesh)
    if doc is None:
        return None, problems
    return doc, problems


def _load_many(files: list[Path]) -> tuple[Document | None, list[Problem]]:
    problems: list[Problem] = []
    docs: list[Document] = []
    for file in files:
        doc, found = _load_file(file)
        problems.extend(found)
        if doc is not None:
            docs.append(doc)
    if not docs:
        return None, problems
    merged, merge_problems = _merge(docs)
    return merged, problems + merge_problems


def _load_file(file: Path) -> tuple[Document | None, list[Problem]]:
    name = str(file)
    try:
        # The input's own links are followed; its type and size are checked once it is open.
        raw = read_regular(file, limit=MAX_FILE_BYTES, follow=True)
    except NotRegularFile as exc:
        return None, [
            _problem(
                name,
                "not-a-file",
                f"{exc.strerror}, not a regular file; nothing was read",
                hint="point at a .yaml file or a folder of them",
            )
        ]
    except TooLarge:
        return None, [
            _problem(
                name,
                "file-too-large",
                f"file is larger than the limit of {MAX_FILE_BYTES} bytes",
                hint="split the mesh over several files in a folder",
            )
        ]
    except OSError as exc:
        return None, [_problem(name, "unreadable", f"cannot read file: {exc.strerror or exc}")]
    _, doc, problems = _load_bytes(raw, name, expect_mesh=True)
    return doc, problems


def _load_bytes(
    raw: bytes, name: str, *, expect_mesh: bool
) -> tuple[Any, Document | None, list[Problem]]:
    text, problem = _decode(raw, name)
    if problem is not None:
        return None, None, [problem]
    if not text.strip() or all(_is_comment(line) for line in text.splitlines()):
        return (
            None,
            None,
            [
                _problem(
                    name,
                    "empty-file",
                    "the file holds no configuration",
                    hint="start from `jarvis-config init`",
                )
            ],
        )
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return None, None, [_syntax_problem(name, exc, text)]
    except yaml.reader.ReaderError as exc:  # a character YAML forbids, e.g. a control code
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return (
            None,
            None,
            [
                Problem(
                    _offset_location(name, text, exc.position),
                    "yaml-character",
                    f"character U+{code:04X} is not allowed: {exc.reason}",
                    hint="remove it, or write it as an escape in a quoted string",
                )
            ],
        )
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())  # one line: the report format is line-based
        return None, None, [_problem(name, "yaml-syntax", message)]
    except RecursionError:
        return None, None, [_problem(name, "too-deep", f"nesting deeper than {MAX_DEPTH} levels")]
    if root is None:
        return None, None, [_problem(name, "empty-file", "the file holds no configuration")]
    return _to_document(root, name, expect_mesh=expect_mesh)


def _to_document(
    root: yaml.Node, name: str, *, expect_mesh: bool
) -> tuple[Any, Document | None, list[Problem]]:
    if not isinstance(root, yaml.MappingNode):
        location = _mark(name, root.start_mark)
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        return (
            None,
            None,
            [
                Problem(
                    location,
                    "root-not-mapping",
                    f"the top level must be a mapping of sections, not {kind}",
                    "$",
                    hint="start with `version: 1` and sections such as `nodes:`",
                )
            ],
        )
    converter = _Converter(name)
    refused = converter.check_expansion(root) or (_not_a_mesh(root, name) if expect_mesh else None)
    if refused is not None:
        return None, None, [refused]
    data = converter.convert(root, (), 0)
    doc = Document(data, (name,), converter.positions, converter.key_positions)
    return data, doc, converter.problems


def _not_a_mesh(root: yaml.MappingNode, name: str) -> Problem | None:
    """A YAML file that is something else (a CI workflow, a compose file) gets one problem
    saying so, not one per key it happens to break. A key that is a section, or looks like a
    misspelt one, makes it a mesh (with typos the schema reports)."""
    if not root.value or any(key.tag == _MERGE_TAG for key, _ in root.value):
        return None
    keys = [str(key.value) for key, _ in root.value if isinstance(key, yaml.ScalarNode)]
    sections = list(resources.schema()["properties"])
    if len(keys) < len(root.value) or any(k in sections or closest(k, sections) for k in keys):
        return None
    shown = ", ".join(repr(key) for key in keys[:4]) + (", ..." if len(keys) > 4 else "")
    return Problem(
        whole_file(name),
        "not-a-mesh",
        f"this is not a jarvis-config mesh: none of its top-level keys ({shown}) is a section "
        f"of one ({', '.join(sections)})",
        hint="a mesh starts with `version: 1` (`jarvis-config init` writes one); in a folder "
        "of split files, keep other YAML files in a hidden folder such as .github/",
    )


def _decode(raw: bytes, name: str) -> tuple[str, Problem | None]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        return "", Problem(
            Location(name, line, col),
            "not-utf8",
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
            hint="save the file as UTF-8",
        )
    if "\x00" in text:
        index = text.index("\x00")
        return "", Problem(
            _offset_location(name, text, index),
            "binary-file",
            "the file contains a NUL byte; is it a YAML file?",
        )
    return text, None


def _is_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#") or stripped in ("---", "...")


def _syntax_problem(name: str, exc: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    location = _mark(name, mark) if mark is not None else whole_file(name)
    text = f"{exc.problem or exc.context or 'invalid YAML'}".strip()
    at_tab = mark is not None and source[mark.index : mark.index + 1] == "\t"
    if at_tab or "tab character" in text:
        return Problem(
            location,
            "tab",
            "a tab character is used for indentation",
            hint="YAML indents with spaces only; replace the tabs with spaces",
        )
    if "single document" in str(exc.context):
        return Problem(
            location,
            "several-documents",
            "the file holds more than one YAML document",
            hint="remove the `---` line, or split the mesh over several files",
        )
    if "maximum nesting depth" in text:  # libyaml's own limit, below ours in flow style
        return Problem(
            location,
            "too-deep",
            "the YAML is nested too deeply",
            hint="flatten the structure; a mesh config needs a few levels only",
        )
    context = f" ({exc.context})" if exc.context and exc.problem else ""
    return Problem(location, "yaml-syntax", f"{text}{context}", hint=_syntax_hint(exc, source))


def _syntax_hint(exc: yaml.MarkedYAMLError, source: str) -> str:
    mark = exc.problem_mark
    lines = source.splitlines()
    line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    # `{api_key: ${KEY}}`: braces end a flow mapping, so an unquoted ${...} breaks it.
    if "flow" in str(exc.context) and "${" in line:
        return 'quote env references inside { } or [ ]: api_key: "${OPENAI_API_KEY}"'
    return "check the indentation and quoting around this line"


def _mark(name: str, mark: Any) -> Location:
    return Location(name, mark.line + 1, mark.column + 1)


def _offset_location(name: str, text: str, index: int) -> Location:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return Location(name, line, col)


def _problem(name: str, code: str, message: str, *, hint: str | None = None) -> Problem:
    """A problem of the file as a whole: it has no line, column or path in the data."""
    return Problem(whole_file(name), code, message, hint=hint)


class _Converter:
    """Turns a composed YAML node graph into plain data, recording positions as it goes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.positions: dict[PathParts, Location] = {}
        self.key_positions: dict[PathParts, Location] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")

    def check_expansion(self, root: yaml.Node) -> Problem | None:
        """Refuse alias bombs and self-referencing anchors before expanding anything."""
        try:
            _Expansion().size(root, 0)
        except _Refused as refused:
            hint = (
                "flatten the structure; a mesh config needs a few levels only"
                if refused.code == "too-deep"
                else "remove the anchor or the aliases that expand it"
            )
            return Problem(
                _mark(self.name, refused.node.start_mark), refused.code, refused.message, hint=hint
            )
        return None

    def convert(self, node: yaml.Node, path: PathParts, depth: int) -> Any:
        self.positions[path] = _mark(self.name, node.start_mark)
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        self._unsupported(node, path)  # a collection with a tag such as !!set or !!omap
        return None

    def _scalar(self, node: yaml.Node, path: PathParts) -> Any:
        # Timestamps stay text: the mesh has no date fields, and datetimes are not JSON.
        if node.tag in (_STR_TAG, _TIMESTAMP_TAG):
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self._unsupported(node, path)
            return None
        construct = self._constructor.yaml_constructors[node.tag]
        try:
            value = construct(self._constructor, node)
        except (ValueError, KeyError, TypeError, yaml.YAMLError):  # e.g. `!!int x`, 5000 digits
            kind = node.tag.rsplit(":", 1)[-1]
            shown = node.value if len(node.value) <= 40 else f"{node.value[:40]}..."
            self._add(
                node,
                path,
                "bad-scalar",
                f"{shown!r} cannot be read as {kind}",
                "remove the explicit tag, or write a valid (shorter) value",
            )
            return None
        # NaN passes every minimum/maximum check, and neither NaN nor Infinity is JSON.
        if isinstance(value, float) and not math.isfinite(value):
            self._add(
                node,
                path,
                "not-finite",
                f"{node.value!r} is not a finite number",
                "write an ordinary number",
            )
            return None
        return value

    def _unsupported(self, node: yaml.Node, path: PathParts) -> None:
        self._add(
            node,
            path,
            "unsupported-tag",
            f"the YAML tag {node.tag!r} is not allowed",
            "write plain strings, numbers, lists and mappings",
        )

    def _mapping(self, node: yaml.MappingNode, path: PathParts, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Location] = {}
        for key_node, value_node in self._pairs(node):
            key = self._key(key_node, path)
            if key is None:
                continue
            here = _mark(self.name, key_node.start_mark)
            if key in first_seen:
                where = first_seen[key]
                self._add(
                    key_node,
                    (*path, key),
                    "duplicate-key",
                    f"key {key!r} is defined twice (first at line {where.line}, "
                    f"column {where.col})",
                    "remove one of them or merge their contents",
                )
                continue
            first_seen[key] = here
            key_path = (*path, key)
            self.key_positions[key_path] = here
            result[key] = self.convert(value_node, key_path, depth + 1)
        return result

    def _pairs(self, node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
        """Mapping pairs with YAML merge keys (`<<: *defaults`) applied: explicit keys win."""
        explicit = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            is_list = isinstance(value_node, yaml.SequenceNode)
            sources = value_node.value if is_list else [value_node]
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    merged.extend(self._pairs(source))
        names = {k.value for k, _ in explicit if isinstance(k, yaml.ScalarNode)}
        inherited, seen = [], set(names)
        for key_node, value_node in merged:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value not in seen:
                seen.add(key_node.value)
                inherited.append((key_node, value_node))
        return explicit + inherited

    def _key(self, key_node: yaml.Node, path: PathParts) -> str | None:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG:
            return str(key_node.value)
        shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
        self._add(
            key_node,
            path,
            "non-string-key",
            f"the key {shown!r} is not a string",
            f'quote it: "{shown}":' if isinstance(key_node, yaml.ScalarNode) else None,
        )
        return None

    def _add(
        self, node: yaml.Node, path: PathParts, code: str, message: str, hint: str | None
    ) -> None:
        self.problems.append(
            Problem(_mark(self.name, node.start_mark), code, message, json_path(path), hint)
        )


class _Refused(Exception):
    def __init__(self, node: yaml.Node, code: str, message: str) -> None:
        super().__init__(message)
        self.node, self.code, self.message = node, code, message


class _Expansion:
    """One walk of a composed graph, each node visited once: the values it expands to, and
    the text that aliases repeat (both budgeted), with cycles and depth refused."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.text: dict[int, int] = {}  # bytes of text below each node
        self.in_progress: set[int] = set()
        self.repeated = 0  # bytes of text reached again through aliases

    def size(self, node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in self.sizes:
            self._repeat(node, key)
            return self.sizes[key]
        if key in self.in_progress:
            raise _Refused(node, "recursive-alias", "an anchor refers to itself")
        if depth > MAX_DEPTH:
            raise _Refused(node, "too-deep", f"nesting deeper than {MAX_DEPTH} levels")
        self.in_progress.add(key)
        total = 1 + sum(self.size(child, depth + 1) for child in _children(node))
        self.in_progress.discard(key)
        if total > MAX_EXPANDED_NODES:
            message = f"anchors and aliases expand to more than {MAX_EXPANDED_NODES} values"
            raise _Refused(node, "alias-bomb", message)
        self.sizes[key] = total
        self.text[key] = _text_bytes(node, self.text)
        return total

    def _repeat(self, node: yaml.Node, key: int) -> None:
        self.repeated += self.text[key]
        if self.repeated > MAX_ALIASED_BYTES:
            message = f"anchors and aliases repeat more than {MAX_ALIASED_BYTES} bytes of text"
            raise _Refused(node, "alias-bomb", message)


def _text_bytes(node: yaml.Node, known: dict[int, int]) -> int:
    """The length of the text below a node, its children's already in `known` (a rough
    count: enough for a budget)."""
    if isinstance(node, yaml.ScalarNode):
        return len(node.value) + 1
    return sum(known[id(child)] for child in _children(node)) + 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _merge(docs: list[Document]) -> tuple[Document, list[Problem]]:
    """Merge split files: named sections entry by entry, other sections at most once."""
    if len(docs) == 1:
        return docs[0], []
    merged = Document({}, tuple(name for doc in docs for name in doc.files))
    merged.positions[()] = Location(merged.files[0])
    problems: list[Problem] = []
    for doc in docs:
        accepted: set[PathParts] = set()
        for section, value in doc.data.items():
            problems.extend(_merge_section(merged, doc, section, value, accepted))
        _take_positions(merged, doc, accepted)
    return merged, problems


def _merge_section(
    merged: Document, doc: Document, section: str, value: Any, accepted: set[PathParts]
) -> list[Problem]:
    target = merged.data
    if (
        section in NAMED_SECTIONS
        and isinstance(value, dict)
        and isinstance(target.setdefault(section, {}), dict)
    ):
        problems = []
        accepted.add((section,))
        for name, entry in value.items():
            if name in target[section]:
                first = merged.key_positions.get((section, name))
                problems.append(_defined_twice(doc, (section, name), first, "defined"))
            else:
                target[section][name] = entry
                accepted.add((section, name))
        return problems
    if section in target:
        if section == "version" and target[section] == value:
            return []
        return [_defined_twice(doc, (section,), merged.key_positions.get((section,)), "set")]
    target[section] = value
    accepted.add((section,))
    return []


def _take_positions(merged: Document, doc: Document, accepted: set[PathParts]) -> None:
    """Positions of accepted entries come from the file they were taken from (one pass)."""
    for source, target in (
        (doc.positions, merged.positions),
        (doc.key_positions, merged.key_positions),
    ):
        for key, location in source.items():
            if len(key) == 1:  # a section key: the first file that has it keeps it
                if key in accepted and key not in target:
                    target[key] = location
            elif key[:2] in accepted or (key[:1] in accepted and key[0] not in NAMED_SECTIONS):
                target[key] = location


def _defined_twice(doc: Document, path: PathParts, first: Location | None, verb: str) -> Problem:
    kind = {"nodes": "node", "models": "model", "providers": "provider", "aliases": "alias"}
    if len(path) > 1:
        what = f"{kind.get(str(path[0]), str(path[0]))} {path[-1]!r}"
    else:
        what = f"section {path[0]!r}"
    where = f" (first at {first})" if first else ""
    return Problem(
        doc.locate_key(path),
        "defined-twice",
        f"{what} is {verb} twice{where}",
        json_path(path),
        "keep one definition; split files must not repeat a name",
    )
