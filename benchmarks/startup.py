"""Start-up speed, side by side: `jarvis-config validate` against `check-jsonschema
--schemafile` on the same file and schema (goal: validate at most 0.6x its time), with the
floor (the same interpreter loading the same file with PyYAML's CSafeLoader) for scale, plus
`--help`, `--version` and `schema`. Figures go to docs/benchmarks.md ("Start-up: validate and
check-jsonschema").

    python benchmarks/startup.py                  # homelab, 30 runs each
    python benchmarks/startup.py --runs 50 --importtime

Like hyperfine: a few warm-up runs, then the commands alternate (so drift in machine load hits
all alike), and the median, minimum and spread of the wall times are reported, with each
median's ratio to the floor's. Every command runs from the same Python environment as this
script, with bytecode caching on (as an installed wheel has it), so no run pays for compiling.
`--importtime` adds the slowest imports of `jarvis-config validate` (python -X importtime).
`--instructions` counts the instructions each command executes (valgrind's callgrind, one run
each): unlike wall time, the count does not move with the load of a shared machine.
"""

from __future__ import annotations

import argparse
import os
import re
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


def jarvis_command(*args: str) -> list[str]:
    """The installed console script when there is one, else the module from this checkout."""
    script = BIN / "jarvis-config"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "jarvis_config", *args]


def floor_command(config: Path) -> list[str]:
    """What any validator must at least do: start Python and parse the file with libyaml."""
    code = "import sys, yaml; yaml.load(open(sys.argv[1], 'rb'), Loader=yaml.CSafeLoader)"
    return [sys.executable, "-c", code, str(config)]


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


def bench_env() -> dict[str, str]:
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed wheel has its bytecode compiled
    return env


def compare(commands: dict[str, list[str]], runs: int, warmup: int) -> dict[str, list[float]]:
    env = bench_env()
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
    env = bench_env()
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


def instructions(command: list[str]) -> int:
    """Instructions one run executes, counted by valgrind's callgrind."""
    counter = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command]
    proc = subprocess.run(counter, env=bench_env(), cwd=ROOT, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        sys.exit(f"valgrind could not count {shown(command)}:\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def instruction_table(commands: dict[str, list[str]]) -> str:
    counts = {name: instructions(command) for name, command in commands.items()}
    rows = ["| command | instructions (M) | x floor |", "|---|---|---|"]
    for name, count in counts.items():
        rows.append(
            f"| `{shown(commands[name])}` | {count / 1e6:.0f} | {count / counts['floor']:.2f} |"
        )
    return "\n".join(rows)


def table(commands: dict[str, list[str]], times: dict[str, list[float]]) -> str:
    floor = statistics.median(times["floor"])
    rows = ["| command | median ms | min ms | stdev ms | x floor |", "|---|---|---|---|---|"]
    for name, values in times.items():
        median = statistics.median(values)
        rows.append(
            f"| `{shown(commands[name])}` | {median * 1000:.0f} | {min(values) * 1000:.0f} "
            f"| {statistics.stdev(values) * 1000:.0f} | {median / floor:.2f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--schema", type=Path, default=SCHEMA)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument("--instructions", action="store_true")
    args = parser.parse_args(argv)
    commands = {
        "floor": floor_command(args.config),
        "validate": jarvis_command("validate", str(args.config)),
        "check-jsonschema": check_jsonschema_command(args.config, args.schema),
        "--help": jarvis_command("--help"),
        "--version": jarvis_command("--version"),
        "schema": jarvis_command("schema"),
    }
    times = compare(commands, args.runs, args.warmup)
    print(f"{args.runs} runs each, alternating, after {args.warmup} warm-up runs; wall time:")
    print(table(commands, times))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"validate / check-jsonschema: "
        f"{medians['validate'] / medians['check-jsonschema']:.2f}x (goal: at most 0.6x); "
        f"validate / floor: {medians['validate'] / medians['floor']:.2f}x"
    )
    if args.instructions:
        if shutil.which("valgrind") is None:
            sys.exit("--instructions needs valgrind (apt-get install valgrind)")
        print("instructions executed, one run each (valgrind --tool=callgrind):")
        print(instruction_table(commands))
    if args.importtime:
        print("slowest imports of jarvis-config validate (cumulative):")
        print(importtime(args.config, 15))
    return 0


if __name__ == "__main__":
    sys.exit(main())
