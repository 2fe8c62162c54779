"""`diff`: the semantic summary and the file diff, against a built folder, another config and
a git revision; golden text and Markdown reports for the homelab example."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jarvis_config.commands import diff as diff_command
from jarvis_config.review import diff
from jarvis_config.review.facts import Facts, ModelFacts, NodeFacts, facts_of_files
from tests.kit import HOMELAB, ROOT, check_golden, example_params, git

NEXT = Path(__file__).resolve().parent / "homelab-next.yaml"


@pytest.fixture(autouse=True)
def _anthropic_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-anthropic")  # homelab-next references it


def report(old: Path, new: Path) -> diff.Report:
    return diff.build_report(
        diff_command.config_side(old, label=old.relative_to(ROOT).as_posix()),
        diff_command.config_side(new, label=new.relative_to(ROOT).as_posix()),
    )


@pytest.mark.parametrize("fmt, suffix", [("text", "txt"), ("markdown", "md")])
def test_homelab_change_matches_golden(fmt: str, suffix: str, update_golden: bool) -> None:
    text = diff.REPORT_FORMATS[fmt](report(HOMELAB, NEXT)) + "\n"
    name = f"diff-next.{suffix}"
    check_golden("homelab", {name: text}, owns=name, update=update_golden)


def test_summary_names_each_kind_of_change() -> None:
    lines = [c.render(str, str) for c in report(HOMELAB, NEXT).changes]
    assert "model llama3 moved: now on ai-max, studio (was on ai-max, mini)" in lines
    assert "alias code retargeted to qwen-coder (was deepseek-coder)" in lines
    assert "fallbacks of deepseek-coder: qwen-coder, gpt-4o (was gpt-4o)" in lines
    assert (
        "limits of llama3: rpm 300, max_parallel_requests 8 (was rpm 600, max_parallel_requests 8)"
    ) in lines
    assert "ANTHROPIC_API_KEY now referenced" in lines
    assert "node mini roles: cpu, edge (was cpu)" in lines
    assert "routing node pinning: prefer (was strict)" in lines


def test_compare_covers_removals_and_settings() -> None:
    old = Facts(
        nodes={"a": NodeFacts(roles=("gpu",))},
        models={"m": ModelFacts(nodes=("a",))},
        aliases={"x": "m"},
        fallbacks={"m": ("n",)},
        limits={"m": "rpm 1"},
        gateway={"port": "4000"},
        env=("OLD",),
    )
    new = Facts(gateway={"port": "4100"}, env=("NEW",))
    lines = [(c.section, c.sign, c.render(str, str)) for c in diff.compare(old, new)]
    assert lines == [
        ("nodes", "-", "node a removed"),
        ("models", "-", "model m removed"),
        ("aliases", "-", "alias x removed (was m)"),
        ("fallbacks", "-", "fallbacks of m removed (was n)"),
        ("limits", "-", "limits of m removed (was rpm 1)"),
        ("gateway", "~", "gateway port: 4100 (was 4000)"),
        ("env", "+", "NEW now referenced"),
        ("env", "-", "OLD no longer referenced"),
    ]


@pytest.mark.parametrize("example", example_params())
def test_a_fresh_build_is_identical_and_a_changed_config_is_not(
    example: Path, cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert cli("build", example, "-o", out).exit_code == 0
    same = cli("diff", example, "-o", out, "--exit-code")
    assert same.exit_code == 0, same.stdout + same.stderr
    assert same.stdout.endswith("No changes: both render the same mesh and the same files.\n")
    (out / "litellm" / "config.yaml").write_text("hand edit\n", encoding="utf-8")
    edited = cli("diff", example, "-o", out, "--exit-code")
    assert edited.exit_code == 1
    assert "+++ b/litellm/config.yaml" in edited.stdout and "-hand edit" in edited.stdout


def test_built_folder_facts_match_the_config_facts(cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("build", HOMELAB, "-o", out).exit_code == 0
    result = cli("diff", NEXT, "-o", out)
    assert result.exit_code == 0
    for line in (
        "~ model llama3 moved: now on ai-max, studio (was on ai-max, mini)",
        "~ alias code retargeted to qwen-coder (was deepseek-coder)",
        "~ routing node pinning: prefer (was strict)",
        "+ ANTHROPIC_API_KEY now referenced",
    ):
        assert f"    {line}\n" in result.stdout


def test_exit_code_is_0_without_the_flag(cli: Callable[..., Any]) -> None:
    result = cli("diff", HOMELAB, NEXT)
    assert result.exit_code == 0
    assert "Mesh changes: 12" in result.stdout


@pytest.mark.parametrize("args", [[], ["NEW", "-o", "out"], ["-o", "out", "--against", "HEAD"]])
def test_exactly_one_comparison_is_a_usage_rule(cli: Callable[..., Any], args: list[str]) -> None:
    result = cli("diff", HOMELAB, *args)
    assert result.exit_code == 2
    assert "give exactly one of NEW, -o OUT or --against GITREV" in result.stderr


def test_a_folder_that_is_not_a_build_is_refused(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli("diff", HOMELAB, "-o", tmp_path / "missing")
    assert result.exit_code == 1
    assert f"error: {tmp_path / 'missing'} does not exist; build it first" in result.stderr


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding the homelab mesh in mesh/, with the change not committed."""
    root = tmp_path / "repo"
    (root / "mesh").mkdir(parents=True)
    shutil.copy2(HOMELAB / "jarvis.yaml", root / "mesh" / "jarvis.yaml")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "homelab")
    shutil.copy2(NEXT, root / "mesh" / "jarvis.yaml")
    return root


@pytest.mark.parametrize("target", ["mesh", "mesh/jarvis.yaml"])
def test_against_a_git_revision(
    repo: Path, target: str, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    result = cli("diff", target, "--against", "HEAD", "--exit-code")
    assert result.exit_code == 1
    assert result.stdout.startswith(f"jarvis-config diff: {target} at HEAD -> {target}\n")
    moved = "    ~ model llama3 moved: now on ai-max, studio (was on ai-max, mini)\n"
    assert moved in result.stdout
    git(repo, "commit", "-qam", "next")
    same = cli("diff", target, "--against", "HEAD", "--exit-code")
    assert same.exit_code == 0


def test_unknown_revision_is_a_clear_error(repo: Path, cli: Callable[..., Any]) -> None:
    result = cli("diff", repo / "mesh", "--against", "no-such-branch")
    assert result.exit_code == 1
    assert "error: git archive failed: not a valid object name: no-such-branch" in result.stderr


def test_a_path_missing_at_the_revision_is_a_clear_error(
    repo: Path, cli: Callable[..., Any]
) -> None:
    (repo / "other").mkdir()
    shutil.copy2(NEXT, repo / "other" / "jarvis.yaml")
    result = cli("diff", repo / "other", "--against", "HEAD")
    assert result.exit_code == 1
    assert "error: git archive failed: pathspec 'other' did not match any files" in result.stderr


def test_outside_a_repository_is_a_clear_error(tmp_path: Path, cli: Callable[..., Any]) -> None:
    shutil.copy2(NEXT, tmp_path / "jarvis.yaml")
    result = cli("diff", tmp_path / "jarvis.yaml", "--against", "HEAD")
    assert result.exit_code == 1
    assert "error: git rev-parse failed: not a git repository" in result.stderr


def test_markdown_cuts_a_huge_file_diff() -> None:
    lines = tuple(f"+line {i} " + "x" * 80 for i in range(2000))
    big = diff.Report("a", "b", (), (("~", "f.txt"),), lines)
    text = diff.format_markdown(big)
    assert len(text) < 60_000
    assert "The diff is cut after" in text and "of 2000 lines" in text


def test_markdown_escapes_names_and_keeps_the_diff_in_one_fence() -> None:
    change = diff.Change("models", "+", "model {} added ({})", ("a`b", diff.Prose("*x*")))
    text = diff.format_markdown(diff.Report("o", "n", (change,), (("~", "f"),), ("+```", "-x")))
    assert "- model ``a`b`` added (\\*x\\*)" in text
    assert "````diff\n+```\n-x\n````" in text


def test_the_file_summary_marks_added_and_removed_files() -> None:
    old = {"kept": b"1", "changed": b"1", "gone": b"1"}
    new = {"kept": b"1", "changed": b"2", "new": b"1"}
    files = tuple(diff.changed_files(old, new))
    assert files == (("~", "changed"), ("-", "gone"), ("+", "new"))
    assert diff.files_summary(files) == "3 files differ: 1 added, 1 removed, 1 changed"
    assert diff.files_summary(files[:1]) == "1 file differs: 1 changed"


def test_fault_settings_read_the_same_from_a_config_and_from_its_built_files() -> None:
    from jarvis_config.render import litellm
    from jarvis_config.review.facts import facts_of_files, facts_of_mesh
    from tests.kit import compile_mesh

    mesh = compile_mesh(HOMELAB)
    built = {name: text.encode() for name, text in litellm.render(mesh).items()}
    assert facts_of_files(built).routing == facts_of_mesh(mesh).routing
    assert facts_of_mesh(mesh).routing["stream_timeout"] == "20"


def test_a_fault_setting_change_is_reported() -> None:
    old = Facts(routing={"timeout": "45", "health_check_interval": "10"})
    new = Facts(routing={"timeout": "120", "health_check_interval": "0"})
    lines = [c.render(str, str) for c in diff.compare(old, new)]
    assert lines == [
        "routing health check interval: 0 (was 10)",
        "routing timeout: 120 (was 45)",
    ]


def test_turning_affinity_off_is_reported_and_an_older_build_had_none() -> None:
    from jarvis_config.review.facts import facts_of_mesh
    from tests.kit import compile_mesh

    assert facts_of_mesh(compile_mesh(HOMELAB)).routing["affinity"] == "prefix"
    old, new = Facts(routing={"affinity": "prefix"}), Facts(routing={"affinity": "off"})
    assert [c.render(str, str) for c in diff.compare(old, new)] == [
        "routing affinity: off (was prefix)"
    ]
    assert (
        facts_of_files({"litellm/routes.json": b'{"format": "jarvis-routes/1"}'}).routing[
            "affinity"
        ]
        == "off"
    )


CLIENTS = ROOT / "examples" / "clients" / "jarvis.yaml"
KEY_AND_CAPABILITY_EDITS = (
    ("models: [fast], rpm: 3}", "models: [fast, chat], rpm: 30}"),
    ('    agents: {key: "${JARVIS_KEY_AGENTS}", max_parallel_requests: 16}\n', ""),
    ("    capabilities: [tools]\n", "    capabilities: [tools, vision]\n"),
    ("    capabilities: []\n", ""),
)
KEY_AND_CAPABILITY_CHANGES = [
    "model phi3-mini capabilities: tools, vision (was tools)",
    "model tinyllama capabilities: undeclared (was none)",
    "client key agents removed (was env JARVIS_KEY_AGENTS; every model; max_parallel_requests 16)",
    "client key trial: env JARVIS_KEY_TRIAL; models fast, chat; rpm 30 "
    "(was env JARVIS_KEY_TRIAL; models fast; rpm 3)",
]


def edited_clients(tmp_path: Path) -> Path:
    text = CLIENTS.read_text(encoding="utf-8")
    for before, after in KEY_AND_CAPABILITY_EDITS:
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    path = tmp_path / "jarvis.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def _client_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("JARVIS_KEY_N8N", "JARVIS_KEY_AGENTS", "JARVIS_KEY_TRIAL", "OPENAI_API_KEY"):
        monkeypatch.setenv(var, "sk-test")


@pytest.mark.usefixtures("_client_keys")
def test_client_keys_and_capabilities_show_between_two_configs(tmp_path: Path) -> None:
    old = diff_command.config_side(CLIENTS)
    new = diff_command.config_side(edited_clients(tmp_path))
    changes = diff.build_report(old, new).changes
    lines = [c.render(str, str) for c in changes if c.section in ("keys", "models")]
    assert lines == KEY_AND_CAPABILITY_CHANGES


@pytest.mark.usefixtures("_client_keys")
def test_client_keys_and_capabilities_show_against_a_built_folder(tmp_path: Path) -> None:
    old = diff_command.config_side(CLIENTS)
    new = diff_command.config_side(edited_clients(tmp_path))
    from_files = diff.compare(facts_of_files(old.files), facts_of_files(new.files))
    lines = [c.render(str, str) for c in from_files if c.section in ("keys", "models")]
    assert lines == KEY_AND_CAPABILITY_CHANGES
