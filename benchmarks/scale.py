"""Scale benchmark: validate and build time, peak memory and the libyaml floor, 10 to 20,000
deployments, with the fitted scaling exponent. Figures go to docs/benchmarks.md ("Scale").

    python benchmarks/scale.py                       # the full table (about 10 minutes)
    python benchmarks/scale.py --sizes 10,1000,10000 --repeat 3
    python benchmarks/scale.py --profile 10000       # cProfile of one in-process build
    python benchmarks/scale.py --series prefer/200 --sizes 10000 --repeat 3   # the issue's mesh
    python benchmarks/scale.py --series all --sizes 1000,2000,5000,10000,20000 --no-cli

A series is a mesh shape and a pinning policy: `square` (synth.shape: every model on every
node, strict pinning, the original table) or `POLICY/R` (each model on R nodes placed by
`roles: [...]`, node_pinning POLICY: strict/10, prefer/200, ...); `--series all` runs square
and strict and prefer with 10, 50 and 200 replicas per model.

Per size it reports, each the median of several runs:
- validate: load + schema + semantic checks + mesh model, in-process (what `validate` does);
- build: the same plus render and the atomic write, in-process, with a per-stage breakdown;
- cli: wall time of `python -m jarvis_config build FILE -o OUT` (interpreter start included)
  and that process's peak resident memory (ru_maxrss from wait4);
- floor: libyaml (PyYAML's CSafeLoader) parsing the same input, plus libyaml (CSafeDumper)
  emitting the data of every rendered YAML file and json.dumps of every JSON file, i.e. the
  least any YAML-in/YAML-out tool in Python must spend; and the ratio build / floor;
- gateway build and gateway floor: the same for `--target litellm` alone, whose floor is
  libyaml parsing the input plus libyaml emitting the rendered LiteLLM config (and json.dumps
  of routes.json); and their ratio.
Builds and floors are measured side by side in one run, so the ratios hold on a shared machine
better than the times do (the goal: each ratio at most 1.5 for the 10,000-deployment prefer
mesh, `--series prefer/200 --sizes 10000`).
The exponent is the least-squares slope of log(time) against log(deployments) over the
sizes >= 1,000 (below that the constant start-up cost dominates); 1.0 is linear.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import json
import math
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # noqa: E402

from jarvis_config.load import load_path  # noqa: E402
from jarvis_config.model.mesh import build_mesh  # noqa: E402
from jarvis_config.pipeline import validate  # noqa: E402
from jarvis_config.render import render_targets  # noqa: E402
from jarvis_config.write import write_tree  # noqa: E402

SIZES = (10, 100, 1000, 2000, 5000, 10000, 20000)
GATEWAY_FILES = ("config.yaml", "routes.json")
GATEWAY_TARGETS = ("litellm",)
RATIO_GOAL = 1.5


# In-process timings use this clock: wall time by default; `--clock cpu` takes this process's
# CPU time instead, which other work on a shared machine moves far less.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]
ENV = {"JARVIS_MASTER_KEY": "sk-bench-master", "OPENAI_API_KEY": "sk-bench-openai"}


@dataclass(frozen=True)
class Series:
    """A mesh shape: `square`, or each model on `replicas` nodes under `pinning`."""

    pinning: str = "strict"
    replicas: int = 0  # 0: the square shape

    @property
    def name(self) -> str:
        return f"{self.pinning}/{self.replicas}" if self.replicas else "square"

    @classmethod
    def parse(cls, text: str) -> Series:
        if text == "square":
            return cls()
        pinning, _, replicas = text.partition("/")
        return cls(pinning, int(replicas))

    def write(self, path: Path, deployments: int) -> tuple[Path, int, int]:
        """The mesh file, its node count and model count."""
        if not self.replicas:
            nodes, models = synth.shape(deployments)
            return synth.write(path, nodes, models), nodes, models
        data = synth.replicated(deployments, self.replicas, pinning=self.pinning)
        return synth.write_data(path, data), len(data["nodes"]), len(data["models"])


ALL_SERIES = ("square", *(f"{p}/{r}" for p in ("strict", "prefer") for r in (10, 50, 200)))


@dataclass
class Row:
    deployments: int
    nodes: int
    models: int
    input_bytes: int
    output_bytes: int = 0
    validate_s: float = 0.0
    build_s: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    cli_s: float = 0.0
    cli_rss_mb: float = 0.0
    cli_cpu_s: float = 0.0  # the build process's user + system time
    floor_s: float = 0.0
    series: str = "square"
    gateway_bytes: int = 0  # litellm/config.yaml + litellm/routes.json
    gateway_build_s: float = 0.0  # --target litellm
    gateway_floor_s: float = 0.0  # parse the input, emit config.yaml (and routes.json)

    @property
    def ratio(self) -> float:
        return self.build_s / self.floor_s if self.floor_s else math.nan

    @property
    def gateway_ratio(self) -> float:
        return self.gateway_build_s / self.gateway_floor_s if self.gateway_floor_s else math.nan


def median_time(action: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = clock()
        action()
        times.append(clock() - start)
    return statistics.median(times)


def compile_mesh(path: Path) -> Any:
    document, problems = load_path(path)
    assert document is not None, problems
    problems += validate(document, environ=ENV)
    errors = [p for p in problems if p.is_error]
    assert not errors, errors[:5]
    return build_mesh(document.data)


def staged_build(path: Path, out: Path, targets: tuple[str, ...] | None = None) -> dict[str, float]:
    """One in-process build (of every target by default), timed stage by stage, with the
    cycle collector paused as the `build` command pauses it."""
    gc.collect()
    gc.disable()
    try:
        return _stages(path, out, targets)
    finally:
        gc.enable()


def _stages(path: Path, out: Path, targets: tuple[str, ...] | None) -> dict[str, float]:
    marks = [clock()]
    document, _ = load_path(path)
    marks.append(clock())
    assert document is not None
    validate(document, environ=ENV)
    marks.append(clock())
    mesh = build_mesh(document.data)
    marks.append(clock())
    files = render_targets(mesh, targets)
    marks.append(clock())
    write_tree(out, files)
    marks.append(clock())
    names = ("load", "validate", "model", "render", "write")
    return {name: marks[i + 1] - marks[i] for i, name in enumerate(names)}


def measure_build(row: Row, path: Path, out: Path, repeat: int) -> None:
    gateway_out = out.with_name(f"{out.name}-gateway")
    gateway_runs = [sum(staged_build(path, gateway_out, GATEWAY_TARGETS).values())]
    runs = []
    for _ in range(repeat):  # the two builds in turn: both see the same machine
        runs.append(staged_build(path, out))
        gateway_runs.append(sum(staged_build(path, gateway_out, GATEWAY_TARGETS).values()))
    row.gateway_build_s = statistics.median(gateway_runs[1:])
    totals = [sum(run.values()) for run in runs]
    row.build_s = statistics.median(totals)
    row.stages = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    row.output_bytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    row.gateway_bytes = sum((out / "litellm" / n).stat().st_size for n in GATEWAY_FILES)


# Runs the command and prints its exit code, peak RSS in KiB and CPU seconds. A small process
# of its own, because a child forked from this (large) benchmark process inherits this
# process's RSS in ru_maxrss.
PEAK_RSS = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(code, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""


def measure_cli(row: Row, path: Path, out: Path, repeat: int) -> None:
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "jarvis_config", "build", str(path), "-o", str(out)]
    times, peaks, cpus = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, *command],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(time.perf_counter() - start)
        code, peak_kib, cpu = done.stdout.split()
        if code != "0":
            failed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
            raise RuntimeError(f"build failed: {failed.stderr}")
        peaks.append(int(peak_kib) / 1024)
        cpus.append(float(cpu))
    # The helper interpreter adds its own start-up (about 20 ms) to the wall time: subtract
    # the time of the helper running `true`.
    row.cli_s = statistics.median(times) - helper_overhead()
    row.cli_rss_mb = max(peaks)
    row.cli_cpu_s = statistics.median(cpus)


@functools.cache
def helper_overhead() -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", PEAK_RSS, "true"], env=env, capture_output=True, check=True
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_floor(row: Row, path: Path, out: Path, repeat: int) -> None:
    """libyaml parsing the input plus emitting the rendered files' data: every file, and the
    gateway's alone."""
    text = path.read_text(encoding="utf-8")
    yaml_data = [  # the Kubernetes files hold one document per object
        document
        for p in sorted(out.rglob("*"))
        if p.suffix in (".yaml", ".yml")
        for document in yaml.load_all(p.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    ]
    json_data = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.rglob("*.json"))]
    config = yaml.load((out / "litellm/config.yaml").read_bytes(), Loader=yaml.CSafeLoader)
    routes = json.loads((out / "litellm/routes.json").read_bytes())

    def floor() -> None:
        yaml.load(text, Loader=yaml.CSafeLoader)
        for data in yaml_data:
            yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False)
        for data in json_data:
            json.dumps(data, indent=2)

    def gateway_floor() -> None:
        yaml.load(text, Loader=yaml.CSafeLoader)
        yaml.dump(config, Dumper=yaml.CSafeDumper, sort_keys=False)
        json.dumps(routes, indent=2)

    # The floor runs as the build does, with the cycle collector paused (it would otherwise
    # traverse the parsed outputs, alive while the floor is timed, again and again).
    gc.collect()
    gc.disable()
    try:
        row.floor_s = median_time(floor, repeat)
        row.gateway_floor_s = median_time(gateway_floor, repeat)
    finally:
        gc.enable()


def run_size(
    deployments: int, workdir: Path, repeat: int, series: Series, *, cli: bool, floor: bool
) -> Row:
    tag = f"{series.name.replace('/', '-')}-{deployments}"
    path, nodes, models = series.write(workdir / f"mesh-{tag}.yaml", deployments)
    out = workdir / f"out-{tag}"
    row = Row(deployments, nodes, models, path.stat().st_size, series=series.name)
    reps = max(repeat, min(25, 2000 // deployments))  # small sizes: more runs, same cost
    row.validate_s = median_time(lambda: compile_mesh(path), reps)
    measure_build(row, path, out, reps)
    if floor:
        measure_floor(row, path, out, reps)
    if cli:
        measure_cli(row, path, workdir / f"cli-out-{tag}", repeat)
    return row


def slope(rows: list[Row], attr: str) -> float:
    points = [
        (math.log(r.deployments), math.log(getattr(r, attr)))
        for r in rows
        if r.deployments >= 1000 and getattr(r, attr) > 0
    ]
    if len(points) < 2:
        return math.nan
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libyaml = "with libyaml" if getattr(yaml, "__with_libyaml__", False) else "pure Python"
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"PyYAML {yaml.__version__} {libyaml}, {platform.system()} {platform.release()}"
    )


def table(rows: list[Row]) -> str:
    head = (
        "| series | deployments | nodes x models | input KB | output KB | gateway B/deployment "
        "| validate ms | build ms | load / validate / model / render / write ms | CLI build ms "
        "| CLI peak RSS MB | floor ms | build / floor | gateway build ms | gateway floor ms "
        "| gateway build / floor |"
    )
    lines = [head, "|" + "---|" * 16]
    for r in rows:
        stages = " / ".join(f"{r.stages[s] * 1000:.0f}" for s in r.stages)
        lines.append(
            f"| {r.series} | {r.deployments:,} | {r.nodes} x {r.models} "
            f"| {r.input_bytes / 1024:.0f} | {r.output_bytes / 1024:.0f} "
            f"| {r.gateway_bytes / r.deployments:.0f}"
            f" | {r.validate_s * 1000:.1f} | {r.build_s * 1000:.1f} "
            f"| {stages} | {r.cli_s * 1000:.0f} | {r.cli_rss_mb:.0f} | {r.floor_s * 1000:.1f} "
            f"| {r.ratio:.2f} | {r.gateway_build_s * 1000:.1f} | {r.gateway_floor_s * 1000:.1f} "
            f"| {r.gateway_ratio:.2f} |"
        )
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    lines = []
    for series in dict.fromkeys(r.series for r in rows):
        mine = [r for r in rows if r.series == series]
        lines.append(
            f"{series}: scaling exponent (log-log slope, sizes >= 1,000): validate "
            f"{slope(mine, 'validate_s'):.2f}, build {slope(mine, 'build_s'):.2f}, "
            f"CLI build {slope(mine, 'cli_s'):.2f}, floor {slope(mine, 'floor_s'):.2f}; "
            f"largest gateway B/deployment {max(r.gateway_bytes / r.deployments for r in mine):.0f}"
            f" (<= 2048: {verdict(all(r.gateway_bytes <= 2048 * r.deployments for r in mine))})"
        )
    for goal in (r for r in rows if r.deployments == 10000):
        lines.append(f"{goal.series}: {_goal(goal)}")
    floored = [r for r in rows if r.floor_s]
    if floored:
        worst = max(floored, key=lambda r: max(r.ratio, r.gateway_ratio))
        lines.append(
            f"largest build / floor ratios: {worst.ratio:.2f} (every target), "
            f"{worst.gateway_ratio:.2f} (litellm) at {worst.deployments:,} deployments, "
            f"{worst.series}"
        )
    return "\n".join(lines)


def _goal(goal: Row) -> str:
    cli = (
        f"CLI build {goal.cli_s:.2f} s (CPU {goal.cli_cpu_s:.2f} s), peak RSS "
        f"{goal.cli_rss_mb:.0f} MB (< 300 MB: {verdict(goal.cli_rss_mb < 300)})"
        if goal.cli_s
        else "CLI build and peak RSS not measured (--no-cli)"
    )
    ratios = ", ".join(
        f"{what} build / floor {ratio:.2f} (<= {RATIO_GOAL}: {verdict(ratio <= RATIO_GOAL)})"
        for what, ratio in (("every target", goal.ratio), ("litellm", goal.gateway_ratio))
    )
    return f"at 10,000 deployments: {cli}, in-process build {goal.build_s:.2f} s; {ratios}"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def profile(deployments: int, workdir: Path, limit: int) -> None:
    nodes, models = synth.shape(deployments)
    path = synth.write(workdir / f"mesh-{deployments}.yaml", nodes, models)
    out = workdir / "profile-out"
    staged_build(path, out)  # warm caches (templates, schema) like a second run would
    profiler = cProfile.Profile()
    profiler.enable()
    stages = staged_build(path, out)
    profiler.disable()
    print(f"stages (s): {json.dumps({k: round(v, 4) for k, v in stages.items()})}")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--repeat", type=int, default=5, help="runs per size (median)")
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess builds")
    parser.add_argument("--no-floor", action="store_true", help="skip the libyaml floor")
    parser.add_argument("--profile", type=int, metavar="DEPLOYMENTS")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument(
        "--series", default="square", help="square, POLICY/REPLICAS, comma-separated, or all"
    )
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    names = ALL_SERIES if args.series == "all" else args.series.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="jarvis-scale-"))
    try:
        if args.profile:
            profile(args.profile, workdir, 35)
            return 0
        print(f"{machine()}; in-process clock: {args.clock}")
        rows = []
        for series in (Series.parse(name) for name in names):
            for size in (int(s) for s in args.sizes.split(",")):
                rows.append(
                    run_size(
                        size, workdir, args.repeat, series, cli=not args.no_cli,
                        floor=not args.no_floor,
                    )
                )  # fmt: skip
                print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
        print(table(rows))
        print(summary(rows))
        if args.json:
            args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
