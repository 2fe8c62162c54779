"""Shared pieces of the fuzz tests: the profiles, the seed configs, the mutations, and the
check that every CLI answer is either success or FILE:LINE:COL problems.

Profiles (environment variable JARVIS_FUZZ_PROFILE):
- `ci` (default): bounded, about a minute in all on two cores; runs in CI.
- `long`: twenty times the examples, for a hand run before a release.
- `smoke`: a handful of examples per test, to check the harness itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.kit import EXAMPLES_DIR, PROBLEM, mesh_examples

PROFILES = {"smoke": 0.05, "ci": 1.0, "long": 20.0}
PROFILE = os.environ.get("JARVIS_FUZZ_PROFILE", "ci")
if PROFILE not in PROFILES:
    raise RuntimeError(f"JARVIS_FUZZ_PROFILE must be one of {sorted(PROFILES)}, not {PROFILE!r}")
HANG_SECONDS = 30  # one CLI call on a small config takes milliseconds; this is a hang

OTHER_LINES = (
    re.compile(r"^  hint: .+$"),
    re.compile(r"^\d+ configs? (valid|invalid): \d+ errors?, \d+ warnings?$"),
    re.compile(r"^error: .+$"),
    re.compile(r"^wrote \d+ files to .+$"),
)


def fuzz_settings(examples: int) -> settings:
    """Settings for one fuzz test: `examples` under the ci profile, scaled for the others."""
    return settings(
        max_examples=max(3, int(examples * PROFILES[PROFILE])),
        deadline=None,  # a loaded CI machine is slow now and then; hangs have their own alarm
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        print_blob=True,
    )


@dataclass(frozen=True)
class Seed:
    """One example mesh: its folder (or file) and its YAML files, parsed."""

    name: str
    files: dict[str, Any]  # relative path -> data


def seeds() -> list[Seed]:
    """Every example mesh (tests.kit.mesh_examples): a folder of YAML files, or one file."""
    found = []
    for entry in mesh_examples():
        if entry.is_dir():
            paths = sorted(p for p in entry.rglob("*") if p.suffix in (".yaml", ".yml"))
            base = entry
        else:
            paths, base = [entry], entry.parent
        files = {
            p.relative_to(base).as_posix(): yaml.safe_load(p.read_text("utf-8")) for p in paths
        }
        found.append(Seed(entry.name, files))
    return found


def seed_texts() -> list[tuple[str, str]]:
    """(name, text) of every example YAML file."""
    return [
        (p.relative_to(EXAMPLES_DIR).as_posix(), p.read_text("utf-8"))
        for p in sorted(EXAMPLES_DIR.rglob("*"))
        if p.suffix in (".yaml", ".yml")
    ]


def dump(data: Any) -> str:
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=80))


def write_mesh(folder: Path, files: dict[str, str]) -> Path:
    """Write a mesh folder afresh from {relative path: text}."""
    shutil.rmtree(folder, ignore_errors=True)
    for relative, text in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


@contextlib.contextmanager
def no_hang(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Fail (instead of waiting forever) when a CLI call takes longer than `seconds`."""

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"the CLI call took longer than {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_clean_answer(result: Any, given: Path) -> None:
    """Exit 0, or exit 1 with FILE:LINE:COL problems about `given`; never a traceback."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    assert result.exit_code in (0, 1), f"exit {result.exit_code}:\n{output}"
    problems = []
    for line in result.stderr.splitlines():
        match = PROBLEM.match(line)
        if match:
            problems.append(match)
            continue
        assert any(p.match(line) for p in OTHER_LINES), f"unexpected output line {line!r}"
    for match in problems:
        assert match["file"].startswith(str(given)), f"problem about another file: {match[0]}"
        if match["line"] is not None:  # else a problem of the whole file
            assert int(match["line"]) >= 1 and int(match["col"]) >= 1, match[0]
    if result.exit_code == 1:
        errors = [m for m in problems if m["severity"] == "error"]
        assert errors, f"exit 1 without a FILE:LINE:COL error:\n{output}"


# --- mutations of parsed configs -------------------------------------------------------------

NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "{{ x }}",
        "{% if %}",
        "# c",
        "a: b",
        "'",
        '"',
        "\n",
        "*a",
        "&a",
        "!!python/object",
        "../../etc",
        "/abs",
        "a/b",
        "\\",
        "\x00",
        "\t",
        "${UNSET_VAR}",
        "${}",
        "os.environ/X",
        "-",
        "?",
        "|",
        ">",
        "@",
        "`",
        "%",
        "null",
        "yes",
        "1e3",
        "0x1F",
        ".nan",
        "~",
        "é",
        "日本語",
        "🦙",
        "\u202e",
        "\ufeff",
    ]
)
LONG_TEXT = st.integers(5_000, 10_000).map(lambda n: "a" * n)  # a short repr in statistics
TEXT = st.one_of(
    NASTY_TEXT, LONG_TEXT, st.text(max_size=40), st.text(alphabet="abc-_.:/ ", max_size=12)
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into `value`, the root first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def strings(value: Any) -> list[str]:
    """Every string in `value`, keys included: the names references point at."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


def nest(value: Any, depth: int, as_list: bool) -> Any:
    for _ in range(depth):
        value = [value] if as_list else {"x": value}
    return value


@st.composite
def mutated(draw: st.DrawFn, data: Any) -> Any:
    """`data` after one to four random edits."""
    import copy

    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 4))):
        data = draw(one_edit(data))
    return data


@st.composite
def one_edit(draw: st.DrawFn, data: Any) -> Any:
    where = draw(st.sampled_from(list(paths(data))))
    kind = draw(
        st.sampled_from(["delete", "replace", "swap", "rename", "insert", "nest", "retype"])
    )
    if not where:
        return draw(VALUES) if kind == "replace" else data
    parent, last = get(data, where[:-1]), where[-1]
    if kind == "delete":
        del parent[last]
    elif kind == "replace":
        parent[last] = draw(VALUES)
    elif kind == "swap":  # a reference (or any string) pointing at another name
        names = strings(data) or ["x"]
        parent[last] = draw(st.one_of(st.sampled_from(names), TEXT))
    elif kind == "rename" and isinstance(parent, dict):
        new = draw(st.one_of(st.sampled_from(strings(data) or ["x"]), TEXT))
        if new not in parent:
            parent[new] = parent.pop(last)
    elif kind == "insert" and isinstance(parent[last], dict):
        parent[last][draw(TEXT)] = draw(VALUES)
    elif kind == "nest":
        parent[last] = nest(parent[last], draw(st.integers(2, 80)), draw(st.booleans()))
    elif kind == "retype":
        parent[last] = draw(
            st.sampled_from(
                [
                    str(parent[last]),
                    [parent[last]],
                    {"value": parent[last]},
                    10**30,
                    -(10**30),
                    1.5,
                    True,
                    None,
                ]
            )
        )
    return data


# --- edits of raw YAML text ------------------------------------------------------------------

SNIPPETS = st.sampled_from(
    [
        "\t",
        ":",
        ": ",
        "-",
        "- ",
        "{",
        "}",
        "[",
        "]",
        "&a ",
        "*a",
        "<<: *a\n",
        "!!python/object ",
        "!!int ",
        "!!binary ",
        "!foo ",
        "'",
        '"',
        "#",
        "\n",
        "\n  ",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "? ",
        "|",
        ">",
        "\x00",
        "\ufeff",
        "\u2028",
        "\x85",
        "é",
        "🦙",
        "${X}",
        "9" * 5000,
        "~",
        "&a [*a]",
        "\r\n",
        "\x1b",
        "\\",
    ]
)


@st.composite
def text_edit(draw: st.DrawFn, text: str) -> str:
    """`text` with one to five random cuts, insertions, duplications or truncations."""
    for _ in range(draw(st.integers(1, 5))):
        size = len(text)
        at = draw(st.integers(0, size))
        kind = draw(st.sampled_from(["cut", "insert", "dup", "truncate", "indent"]))
        if kind == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif kind == "insert":
            text = text[:at] + draw(st.one_of(SNIPPETS, st.text(max_size=8))) + text[at:]
        elif kind == "dup":
            lines = text.splitlines(keepends=True) or [""]
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index])
            text = "".join(lines)
        elif kind == "truncate":
            text = text[:at]
        else:
            lines = text.splitlines(keepends=True) or [""]
            index = draw(st.integers(0, len(lines) - 1))
            lines[index] = " " * draw(st.integers(1, 3)) + lines[index]
            text = "".join(lines)
    return text
