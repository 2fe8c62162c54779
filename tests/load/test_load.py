"""Stage 1, load: positions of values and keys, split folders merged, refusals as problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from jarvis_config import load
from jarvis_config.load import Document, load_path, load_text
from jarvis_config.problems import Location, Problem

MESH = """\
version: 1
nodes:
  gpu1:
    address: gpu1.lan
    roles: [gpu, big]
    runtimes:
      ollama: {port: 11434}
"""


def _load(text: str) -> tuple[Document, list[Problem]]:
    doc, problems = load_text(text, "m.yaml")
    assert doc is not None, problems
    return doc, problems


def _codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")


# --- positions -----------------------------------------------------------------------------


def test_values_keep_line_and_column() -> None:
    doc, problems = _load(MESH)
    assert problems == []
    assert doc.locate(("nodes", "gpu1", "address")) == Location("m.yaml", 4, 14)
    assert doc.locate(("nodes", "gpu1", "roles", 1)) == Location("m.yaml", 5, 18)
    assert doc.locate(("nodes", "gpu1", "runtimes", "ollama", "port")) == Location("m.yaml", 7, 22)


def test_keys_keep_their_own_position() -> None:
    doc, _ = _load(MESH)
    assert doc.locate_key(("nodes", "gpu1")) == Location("m.yaml", 3, 3)
    assert doc.locate_key(("nodes", "gpu1", "runtimes", "ollama")) == Location("m.yaml", 7, 7)


def test_locate_falls_back_to_the_nearest_ancestor() -> None:
    doc, _ = _load(MESH)
    assert doc.locate(("nodes", "gpu1", "memory_gb")) == doc.locate(("nodes", "gpu1"))
    assert doc.locate_key(("nodes", "nope")) == doc.locate(("nodes",))


def test_values_are_plain_data() -> None:
    doc, _ = _load("version: 1\na: {b: [1, 2.5, true, null, text]}\nwhen: 2024-01-01\n")
    assert doc.data == {
        "version": 1,
        "a": {"b": [1, 2.5, True, None, "text"]},
        "when": "2024-01-01",
    }  # timestamps stay text


def test_merge_keys_apply_and_explicit_keys_win() -> None:
    doc, problems = _load("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n")
    assert problems == []
    assert doc.data["use"] == {"y": 3, "x": 1}


def test_byte_order_mark_is_accepted() -> None:
    doc, problems = load_text("\ufeffversion: 1\n".encode(), "m.yaml")
    assert problems == [] and doc is not None and doc.data == {"version": 1}


# --- problems --------------------------------------------------------------------------------


def test_duplicate_key_points_at_the_second_and_names_the_first() -> None:
    doc, problems = _load("version: 1\nnodes: {}\nversion: 2\n")
    assert [(str(p.location), p.code, p.message) for p in problems] == [
        (
            "m.yaml:3:1",
            "duplicate-key",
            "key 'version' is defined twice (first at line 1, column 1)",
        )
    ]
    assert doc.data["version"] == 1  # the first one is kept


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("", "empty-file", id="empty"),
        pytest.param("# just a comment\n---\n", "empty-file", id="comments-only"),
        pytest.param("- a\n- b\n", "root-not-mapping", id="list-root"),
        pytest.param("hello\n", "root-not-mapping", id="scalar-root"),
        pytest.param("a:\n\tb: 1\n", "tab", id="tab"),
        pytest.param("a: [1, 2\n", "yaml-syntax", id="syntax"),
        pytest.param("a: 1\n---\nb: 2\n", "several-documents", id="two-documents"),
        pytest.param("a: &a [*a]\n", "recursive-alias", id="recursive-anchor"),
        pytest.param("a: " + "[" * 2000 + "]" * 2000 + "\n", "too-deep", id="deep-flow"),
        pytest.param("a: !!binary aGVsbG8=\n", "unsupported-tag", id="binary-tag"),
        pytest.param("a: !!set {x, y}\n", "unsupported-tag", id="set-tag"),
        pytest.param("a: !!python/name:os.system ''\n", "unsupported-tag", id="python-tag"),
        pytest.param("a: {1: x}\n", "non-string-key", id="int-key"),
    ],
)
def test_bad_input_is_a_problem_not_an_exception(text: str, code: str) -> None:
    _, problems = load_text(text, "m.yaml")
    assert code in _codes(problems)


def test_non_utf8_points_at_the_byte() -> None:
    doc, problems = load_text(b"version: 1\nname: caf\xe9\n", "m.yaml")
    assert doc is None
    assert [(str(p.location), p.code) for p in problems] == [("m.yaml:2:10", "not-utf8")]


def test_unquoted_env_reference_in_a_flow_mapping_gets_a_quoting_hint() -> None:
    _, problems = load_text("providers:\n  openai: {kind: openai, api_key: ${KEY}}\n", "m.yaml")
    assert _codes(problems) == ["yaml-syntax"]
    assert problems[0].hint is not None and '"${OPENAI_API_KEY}"' in problems[0].hint


# --- limits ----------------------------------------------------------------------------------


def test_alias_bomb_is_refused_before_expansion() -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    _, problems = load_text("\n".join(levels) + "\n", "m.yaml")
    assert _codes(problems) == ["alias-bomb"]


def test_nesting_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    deep = "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 20)) + "  " * 20 + "x: 1\n"
    assert load_text(deep, "m.yaml")[1] == []
    monkeypatch.setattr(load, "MAX_DEPTH", 10)
    assert _codes(load_text(deep, "m.yaml")[1]) == ["too-deep"]


def test_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text("version: 1\n" + "# padding\n" * 20, encoding="utf-8")
    doc, problems = load_path(path)
    assert doc is None and _codes(problems) == ["file-too-large"]


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    assert _codes(load_path(tmp_path / "nope.yaml")[1]) == ["file-not-found"]
    assert _codes(load_path(tmp_path)[1]) == ["no-yaml-files"]


# --- split folders ---------------------------------------------------------------------------


SPLIT = {
    "mesh.yaml": "version: 1\ngateway: {port: 4000}\n",
    "nodes/a.yaml": "version: 1\nnodes:\n  a: {address: a.lan, runtimes: {ollama: {}}}\n",
    "nodes/b.yml": "nodes:\n  b:\n    address: b.lan\n    runtimes: {ollama: {}}\n",
    "models/m.yaml": "models:\n  m: {runtime: ollama, source: m, placement: {nodes: [a, b]}}\n",
}


def test_split_folder_merges_entries_and_keeps_each_files_positions(tmp_path: Path) -> None:
    _write(tmp_path, SPLIT)
    doc, problems = load_path(tmp_path)
    assert problems == [] and doc is not None
    assert sorted(doc.data["nodes"]) == ["a", "b"] and list(doc.data["models"]) == ["m"]
    assert doc.data["version"] == 1  # repeated identical versions are fine
    assert doc.locate(("nodes", "b", "address")) == Location(str(tmp_path / "nodes/b.yml"), 3, 14)
    assert doc.locate_key(("models", "m")) == Location(str(tmp_path / "models/m.yaml"), 2, 3)
    assert doc.locate_key(("nodes",)).file == str(tmp_path / "nodes/a.yaml")  # first file wins


def test_split_folder_names_both_places_of_a_repeated_name(tmp_path: Path) -> None:
    _write(tmp_path, {**SPLIT, "nodes/c.yaml": "nodes:\n  a: {address: c.lan}\n"})
    doc, problems = load_path(tmp_path)
    assert [(str(p.location), p.code, p.message) for p in problems] == [
        (
            f"{tmp_path}/nodes/c.yaml:2:3",
            "defined-twice",
            f"node 'a' is defined twice (first at {tmp_path}/nodes/a.yaml:3:3)",
        )
    ]
    assert doc is not None and doc.data["nodes"]["a"]["address"] == "a.lan"


def test_split_folder_refuses_a_section_set_twice(tmp_path: Path) -> None:
    _write(tmp_path, {**SPLIT, "z.yaml": "gateway: {port: 5000}\n"})
    _, problems = load_path(tmp_path)
    assert _codes(problems) == ["defined-twice"]
    assert "section 'gateway' is set twice" in problems[0].message


def test_split_folder_skips_hidden_files_and_folders(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            **SPLIT,
            ".github/workflows/ci.yaml": "on: [push]\n",
            ".pre-commit-config.yaml": "repos: []\n",
        },
    )
    doc, problems = load_path(tmp_path)
    assert problems == [] and doc is not None
    assert set(doc.files) == {str(tmp_path / name) for name in SPLIT}


def test_a_broken_file_does_not_hide_the_others(tmp_path: Path) -> None:
    _write(tmp_path, {**SPLIT, "nodes/bad.yaml": "nodes: [\n"})
    doc, problems = load_path(tmp_path)
    assert _codes(problems) == ["yaml-syntax"]
    assert doc is not None and sorted(doc.data["nodes"]) == ["a", "b"]
