"""`jarvis-config build`: what a user sees when building, checking for drift, or failing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jarvis_config.write import read_tree
from tests.kit import EXAMPLES_DIR

HOMELAB = EXAMPLES_DIR / "homelab"


def test_build_writes_the_gateway_routes_callback_and_stacks(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = cli("build", HOMELAB, "-o", out)
    assert result.exit_code == 0, result.stderr
    files = set(read_tree(out))
    assert {
        "litellm/config.yaml",
        "litellm/routes.json",
        "litellm/jarvis_router.py",
        "compose/gateway/compose.yaml",
        "compose/nodes/ai-max/compose.yaml",
        "compose/swarm/stack.yaml",
        ".env.example",
    } <= files
    assert result.stdout == f"wrote {len(files) - 1} files to {out}\n"


def test_check_passes_when_up_to_date_and_shows_a_diff_when_stale(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert cli("build", HOMELAB, "-o", out).exit_code == 0
    fresh = cli("build", HOMELAB, "-o", out, "--check")
    assert fresh.exit_code == 0 and "is up to date" in fresh.stdout
    config = out / "litellm" / "config.yaml"
    config.write_text(
        config.read_text().replace(
            "routing_strategy: simple-shuffle", "routing_strategy: least-busy", 1
        )
    )
    stale = cli("build", HOMELAB, "-o", out, "--check")
    assert stale.exit_code == 1
    assert "+  routing_strategy: simple-shuffle" in stale.stdout
    assert "-  routing_strategy: least-busy" in stale.stdout
    assert stale.stderr.startswith(f"error: {out} is stale; run: jarvis-config build")


def test_only_chosen_targets_are_rendered(cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("build", HOMELAB, "-o", out, "--target", "litellm").exit_code == 0
    assert not any(name.startswith("compose/") for name in read_tree(out))


def test_an_invalid_config_builds_nothing_and_leaves_out_as_it_was(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert cli("build", HOMELAB, "-o", out).exit_code == 0
    before = read_tree(out)
    broken = tmp_path / "jarvis.yaml"
    broken.write_text(
        (HOMELAB / "jarvis.yaml")
        .read_text()
        .replace("placement: {nodes: [ai-max, mini]}", "placement: {nodes: [ai-mx, mini]}")
    )
    result = cli("build", broken, "-o", out)
    assert result.exit_code == 1
    assert "error[unknown-node]: " in result.stderr and "did you mean 'ai-max'?" in result.stderr
    assert result.stderr.rstrip().endswith(f"error: {broken}: 1 error")
    assert read_tree(out) == before


def test_check_and_force_together_are_a_usage_error(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    result = cli("build", HOMELAB, "-o", tmp_path / "out", "--check", "--force")
    assert result.exit_code == 2
    assert "--check writes nothing" in result.stderr


def test_unknown_command_option_is_a_usage_error(cli: Callable[..., Any]) -> None:
    assert cli("build", HOMELAB).exit_code == 2
    assert cli("validate").exit_code == 2


def test_checking_one_target_ignores_the_others_and_its_hint_keeps_the_target(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert cli("build", HOMELAB, "-o", out).exit_code == 0  # every target
    fresh = cli("build", HOMELAB, "-o", out, "--target", "litellm", "--check")
    assert fresh.exit_code == 0, fresh.stdout + fresh.stderr
    (out / "litellm" / "routes.json").write_text("{}\n")
    stale = cli("build", HOMELAB, "-o", out, "--target", "litellm", "--check", "--strict")
    assert stale.exit_code == 1
    assert "unexpected" not in stale.stdout and "compose/" not in stale.stdout
    assert stale.stderr.splitlines()[-1] == (
        f"error: {out} is stale; run: "
        f"jarvis-config build {HOMELAB} -o {out} --target litellm --strict"
    )
