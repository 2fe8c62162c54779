"""Pre-commit speed: `jarvis-config validate` against `check-jsonschema --schemafile` on the
same file, measured in one run. Figures go to docs/benchmarks.md ("Validate vs check-jsonschema").

    python benchmarks/validate_vs_check_jsonschema.py                 # homelab, 30 runs each
    python benchmarks/validate_vs_check_jsonschema.py --runs 50 --importtime

Like hyperfine: a few warm-up runs, then the two commands alternate (so drift in machine load
hits both alike), and the median, minimum and spread of the wall times are reported. Both
commands run from the same Python environment as this script. `--importtime` adds the slowest
imports of `jarvis-config validate` (python -X importtime), the usual culprit for start-up time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_CONFIG = ROOT / "examples" / "homelab" / "jarvis.yaml"
SCHEMA = ROOT / "schemas" / "jarvis-config.schema.json"
ENV = {"JARVIS_MASTER_KEY": "sk-bench-master", "OPENAI_API_KEY": "sk-bench-openai"}


def jarvis_command(config: Path) -> list[str]:
    """The installed console script when there is one, else the module from this checkout."""
    script = BIN / "jarvis-config"
    if script.exists():
        return [str(script), "validate", str(config)]
    return [sys.executable, "-m", "jarvis_config", "validate", str(config)]


def check_jsonschema_command(config: Path, schema: Path) -> list[str]:
    script = BIN / "check-jsonschema"
    found = str(script) if script.exists() else shutil.which("check-jsonschema")
    if found is None:
        sys.exit("check-jsonschema is not installed in this environment")
    return [found, "--schemafile", str(schema), str(config)]


def run_once(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(
            f"{' '.join(command)} exited {proc.returncode}:\n{proc.stdout.decode()}"
            f"{proc.stderr.decode()}"
        )
    return elapsed


def compare(commands: dict[str, list[str]], runs: int, warmup: int) -> dict[str, list[float]]:
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    for command in commands.values():
        for _ in range(warmup):
            run_once(command, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(run_once(command, env))
    return times


def importtime(config: Path, top: int) -> str:
    """The slowest imports (cumulative microseconds) of one validate run."""
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-X", "importtime", "-m", "jarvis_config", "validate", str(config)]
    proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    rows = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line.split("|")
            rows.append((int(cumulative), name.rstrip()))
    rows.sort(reverse=True)
    return "\n".join(f"  {us / 1000:7.1f} ms  {name}" for us, name in rows[:top])


def shown(command: list[str]) -> str:
    """The command as a reader would type it: program name, paths relative to the checkout."""
    parts = [Path(command[0]).name]
    for part in command[1:]:
        path = Path(part)
        parts.append(str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else part)
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--schema", type=Path, default=SCHEMA)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args(argv)
    commands = {
        "jarvis-config validate": jarvis_command(args.config),
        "check-jsonschema --schemafile": check_jsonschema_command(args.config, args.schema),
    }
    times = compare(commands, args.runs, args.warmup)
    print(f"{args.runs} runs each, alternating, after {args.warmup} warm-up runs; wall time:")
    print("| command | median ms | min ms | stdev ms |\n|---|---|---|---|")
    for name, values in times.items():
        print(
            f"| `{shown(commands[name])}` "
            f"| {statistics.median(values) * 1000:.0f} | {min(values) * 1000:.0f} "
            f"| {statistics.stdev(values) * 1000:.0f} |"
        )
    ours, theirs = (statistics.median(v) for v in times.values())
    verdict = "faster" if ours < theirs else "SLOWER"
    print(
        f"jarvis-config validate is {theirs / ours:.2f}x the speed of check-jsonschema "
        f"({verdict}; ratio of medians)"
    )
    if args.importtime:
        print("slowest imports of jarvis-config validate (cumulative):")
        print(importtime(args.config, 15))
    return 0


if __name__ == "__main__":
    sys.exit(main())
