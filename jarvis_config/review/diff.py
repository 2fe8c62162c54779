"""Review (`diff`): what a config change does to the mesh, then to the rendered files.

Three comparisons: a config against an already built output folder (`-o OUT`), two configs
(`OLD NEW`), or a config against itself at a git revision (`--against REV`). The report is a
semantic summary (nodes, models with where they run and what they may be asked, aliases,
fallbacks, limits, routing, the gateway, its client keys, the environment variables referenced)
followed by the unified diff of the rendered outputs. Two configs are compared through the
facts of their `Mesh`; a built folder holds no config, so it is compared with the new build
through the facts both renders carry.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from jarvis_config.render.markdown import code, fence, md
from jarvis_config.review.facts import Facts

SECTIONS = (
    "nodes",
    "models",
    "aliases",
    "fallbacks",
    "limits",
    "routing",
    "gateway",
    "keys",
    "env",
)
SECTION_TITLES = {
    "nodes": "Nodes",
    "models": "Models",
    "aliases": "Aliases",
    "fallbacks": "Fallbacks",
    "limits": "Limits",
    "routing": "Routing",
    "gateway": "Gateway",
    "keys": "Client keys",
    "env": "Secrets and environment variables",
}
MARKDOWN_DIFF_LIMIT = 50_000  # a pull-request comment holds 65,536 characters at most


@dataclass(frozen=True)
class Prose:
    """A value shown as plain text (escaped in Markdown), not as a name."""

    text: str


Value = str | tuple[str, ...] | Prose | None  # None: not declared (capabilities)


@dataclass(frozen=True)
class Change:
    """One semantic change: a sentence with `{}` holes, filled per output format."""

    section: str
    sign: str  # "+" added, "-" removed, "~" changed
    template: str
    values: tuple[Value, ...] = ()

    def render(self, name: Callable[[str], str], prose: Callable[[str], str]) -> str:
        return self.template.format(*(_show(v, name, prose) for v in self.values))


def _show(value: Value, name: Callable[[str], str], prose: Callable[[str], str]) -> str:
    if isinstance(value, Prose):
        return prose(value.text)
    if value is None:
        return prose("undeclared")
    if isinstance(value, tuple):
        return ", ".join(name(v) for v in value) if value else "none"
    return name(value) if value else "none"


def compare(old: Facts, new: Facts) -> list[Change]:
    """Every semantic change from `old` to `new`, in SECTIONS order, names sorted."""
    changes: list[Change] = []
    changes += _entities("nodes", "node", old.nodes, new.nodes)
    changes += _entities("models", "model", old.models, new.models)
    changes += _mapping(
        "aliases",
        "alias {}",
        old.aliases,
        new.aliases,
        changed="alias {} retargeted to {} (was {})",
    )
    changes += _mapping("fallbacks", "fallbacks of {}", old.fallbacks, new.fallbacks)
    changes += _mapping(
        "fallbacks", "context-window fallbacks of {}", old.context_fallbacks, new.context_fallbacks
    )
    changes += _mapping("limits", "limits of {}", _prose(old.limits), _prose(new.limits))
    changes += _settings("routing", old.routing, new.routing)
    changes += _settings("gateway", old.gateway, new.gateway)
    changes += _mapping("keys", "client key {}", _prose(old.keys), _prose(new.keys))
    changes += _env(old.env, new.env)
    return changes


def _prose(values: Mapping[str, str]) -> dict[str, Prose]:
    return {key: Prose(value) for key, value in values.items()}


def _entities(
    section: str, kind: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Change]:
    """Nodes or models: removed, added, then field by field for those on both sides."""
    out = [
        Change(section, "-", f"{kind} {{}} removed", (name,))
        for name in sorted(old)
        if name not in new
    ]
    for name in sorted(new):
        if name not in old:
            out.append(
                Change(
                    section, "+", f"{kind} {{}} added ({{}})", (name, Prose(_summary(new[name])))
                )
            )
            continue
        for item in fields(new[name]):
            before, after = getattr(old[name], item.name), getattr(new[name], item.name)
            if before != after:
                label = item.metadata.get("label", item.name.replace("_", " "))
                template = item.metadata.get("changed", f"{kind} {{}} {label}: {{}} (was {{}})")
                out.append(Change(section, "~", template, (name, after, before)))
    return out


def _summary(entity: Any) -> str:
    """'roles gpu; runtimes ollama:11434' for an added node or model."""
    parts = []
    for item in fields(entity):
        value = getattr(entity, item.name)
        if value:
            shown = ", ".join(value) if isinstance(value, tuple) else value
            parts.append(f"{item.metadata.get('label', item.name.replace('_', ' '))} {shown}")
    return "; ".join(parts)


def _mapping(
    section: str,
    noun: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    changed: str | None = None,
) -> list[Change]:
    out = []
    for name in sorted(set(old) | set(new)):
        if name not in new:
            out.append(Change(section, "-", f"{noun} removed (was {{}})", (name, old[name])))
        elif name not in old:
            out.append(Change(section, "+", f"{noun} added: {{}}", (name, new[name])))
        elif old[name] != new[name]:
            out.append(
                Change(
                    section,
                    "~",
                    changed or f"{noun}: {{}} (was {{}})",
                    (name, new[name], old[name]),
                )
            )
    return out


def _settings(section: str, old: Mapping[str, str], new: Mapping[str, str]) -> list[Change]:
    return [
        Change(
            section,
            "~",
            f"{section} {key.replace('_', ' ')}: {{}} (was {{}})",
            (new.get(key, ""), old.get(key, "")),
        )
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _env(old: tuple[str, ...], new: tuple[str, ...]) -> list[Change]:
    out = [Change("env", "+", "{} now referenced", (var,)) for var in new if var not in old]
    out += [Change("env", "-", "{} no longer referenced", (var,)) for var in old if var not in new]
    return out


# --- rendered files ---------------------------------------------------------------------------


def file_diff(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[str]:
    """Unified diff lines of every file that differs (added and removed files included)."""
    lines: list[str] = []
    for relative in sorted(set(old) | set(new)):
        before, after = old.get(relative), new.get(relative)
        if before == after:
            continue
        lines += difflib.unified_diff(
            _lines(before),
            _lines(after),
            "/dev/null" if before is None else f"a/{relative}",
            "/dev/null" if after is None else f"b/{relative}",
            lineterm="",
        )
    return lines


FileChange = tuple[str, str]  # (sign: "+" added, "-" removed, "~" changed; relative path)
FILE_SIGNS = {"+": "added", "-": "removed", "~": "changed"}


def changed_files(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[FileChange]:
    return [
        ("~" if f in old and f in new else "+" if f in new else "-", f)
        for f in sorted(set(old) | set(new))
        if old.get(f) != new.get(f)
    ]


def files_summary(files: tuple[FileChange, ...]) -> str:
    """`3 files differ: 1 added, 2 changed`, or `no file differs`."""
    if not files:
        return "no file differs"
    counts = [(sum(1 for s, _ in files if s == sign), word) for sign, word in FILE_SIGNS.items()]
    parts = ", ".join(f"{n} {word}" for n, word in counts if n)
    verb = "file differs" if len(files) == 1 else "files differ"
    return f"{len(files)} {verb}: {parts}"


def _lines(content: bytes | None) -> list[str]:
    return [] if content is None else content.decode("utf-8", "replace").splitlines()


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a label for people, its facts and its rendered files."""

    label: str
    facts: Facts
    files: Mapping[str, bytes]


@dataclass(frozen=True)
class Report:
    old: str
    new: str
    changes: tuple[Change, ...]
    files: tuple[FileChange, ...]  # rendered files that differ
    diff: tuple[str, ...]  # their unified diff

    @property
    def identical(self) -> bool:
        return not self.changes and not self.files


def build_report(old: Side, new: Side) -> Report:
    return Report(
        old=old.label,
        new=new.label,
        changes=tuple(compare(old.facts, new.facts)),
        files=tuple(changed_files(old.files, new.files)),
        diff=tuple(file_diff(old.files, new.files)),
    )


def format_text(report: Report) -> str:
    lines = [f"jarvis-config diff: {report.old} -> {report.new}", ""]
    if report.identical:
        return "\n".join([*lines, "No changes: both render the same mesh and the same files."])
    lines.append(f"Mesh changes: {len(report.changes) or 'none'}")
    for section, changes in _by_section(report.changes):
        lines.append(f"  {SECTION_TITLES[section]}")
        lines += [f"    {c.sign} {c.render(str, str)}" for c in changes]
    if not report.changes:
        lines.append(
            "  (the rendered files differ only in form: a different jarvis-config "
            "version or a hand edit of the output?)"
        )
    lines += ["", f"Rendered files: {files_summary(report.files)}"]
    lines += [f"  {sign} {name}" for sign, name in report.files]
    if report.diff:
        lines += ["", *report.diff]
    return "\n".join(lines)


def _by_section(changes: tuple[Change, ...]) -> list[tuple[str, list[Change]]]:
    return [
        (s, [c for c in changes if c.section == s])
        for s in SECTIONS
        if any(c.section == s for c in changes)
    ]


def format_markdown(report: Report) -> str:
    """A pull-request comment: the summary as lists, the file diff folded away."""
    lines = ["### jarvis-config diff", "", f"{code(report.old)} → {code(report.new)}", ""]
    if report.identical:
        return "\n".join([*lines, "No changes: both render the same mesh and the same files."])
    if not report.changes:
        lines += ["No change to the mesh itself; the rendered files differ in form only.", ""]
    for section, changes in _by_section(report.changes):
        lines += [f"**{SECTION_TITLES[section]}**", ""]
        lines += [f"- {c.render(code, md)}" for c in changes]
        lines.append("")
    if report.files:
        lines += _markdown_files(report)
    return "\n".join(lines).rstrip("\n")


def _markdown_files(report: Report) -> list[str]:
    body = "\n".join(report.diff)
    note = ""
    if len(body) > MARKDOWN_DIFF_LIMIT:
        cut = body.rfind("\n", 0, MARKDOWN_DIFF_LIMIT)
        shown = body[:cut].count("\n") + 1
        note = (
            f"\n\nThe diff is cut after {shown} of {len(report.diff)} lines; run "
            "`jarvis-config diff` locally for all of it."
        )
        body = body[:cut]
    return [
        "<details>",
        f"<summary>Rendered files: {files_summary(report.files)}</summary>",
        "",
        *(f"- {FILE_SIGNS[sign]}: {code(name)}" for sign, name in report.files),
        "",
        fence(body, "diff") + note,
        "",
        "</details>",
    ]


REPORT_FORMATS: dict[str, Callable[[Report], str]] = {
    "text": format_text,
    "markdown": format_markdown,
}
