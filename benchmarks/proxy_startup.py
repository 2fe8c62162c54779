"""Gateway start-up: the stock LiteLLM proxy's start-up time and peak memory against the size
of the rendered config. Figures go to docs/benchmarks.md ("Proxy start-up").

    python benchmarks/proxy_startup.py                           # 100 to 5,000 deployments
    python benchmarks/proxy_startup.py --sizes 100,1000 --pinning strict
    python benchmarks/proxy_startup.py --config OUT/litellm/config.yaml   # one given config

Per size it writes a synthetic mesh (`benchmarks/synth.py`, every model on every node) with
every node's address rewritten to 127.0.0.1, builds it with `jarvis-config build`, starts
`litellm --config OUT/litellm/config.yaml` on a free loopback port with
LITELLM_LOCAL_MODEL_COST_MAP=True (no network fetch of the cost map), and reports:
- start-up: seconds from starting the process until `/health/readiness` answers 200;
- peak RSS: the largest resident set the proxy's processes reached (VmHWM from /proc);
then stops the proxy. Nothing calls a model: readiness does not, and no runtime is needed.
Each start is bounded by --timeout; a proxy that does not become ready is reported as such.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # noqa: E402

from tests.e2e.harness import LOOPBACK, build, free_ports, litellm_command  # noqa: E402

SIZES = (100, 500, 1000, 2000, 5000)
ENV = {"JARVIS_MASTER_KEY": "sk-bench-master", "OPENAI_API_KEY": "sk-bench-openai"}


@dataclass
class Start:
    label: str
    deployments: int
    config_kb: float
    live_s: float  # until /health/liveliness answers
    seconds: float  # until /health/readiness answers; nan when the proxy never became ready
    cpu_s: float
    peak_rss_mb: float


def loopback_mesh(deployments: int, pinning: str, path: Path) -> Path:
    nodes, models = synth.shape(deployments)
    data = synth.mesh(nodes, models)
    for i, node in enumerate(data["nodes"].values()):
        node["address"] = LOOPBACK  # nothing may reach a LAN address, even by mistake
        # One address for all: ports of their own (vLLM and llama.cpp take one per model).
        base = 10000 + i * (2 * models + 1)
        ports = {"ollama": base, "vllm": base + 1, "llamacpp": base + 1 + models}
        for kind, runtime in node["runtimes"].items():
            runtime["port"] = ports[kind]
    data["routing"]["node_pinning"] = pinning
    return synth.write_data(path, data)


def group_usage(pgid: int) -> tuple[float, float]:
    """(peak RSS MB, CPU s) summed over the processes of one process group: VmHWM from
    /proc/PID/status, user + system time from /proc/PID/stat. CPU time moves far less than
    wall time when other work shares the machine."""
    total_kib, ticks = 0, 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError):
            if os.getpgid(int(entry.name)) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kib += int(line.split()[1])
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return total_kib / 1024, ticks / os.sysconf("SC_CLK_TCK")


def answers(port: int, endpoint: str) -> bool:
    url = f"http://{LOOPBACK}:{port}/health/{endpoint}"
    with (
        contextlib.suppress(urllib.error.URLError, OSError, http.client.HTTPException),
        urllib.request.urlopen(url, timeout=5) as reply,
    ):
        return bool(reply.status == 200)
    return False


def time_start(config: Path, timeout: float, label: str, deployments: int) -> Start:
    port = free_ports(1)
    env = {**os.environ, **ENV, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_PROXY": "*"}
    command = [litellm_command(), "--config", str(config), "--host", LOOPBACK, "--port", str(port)]
    log = config.with_name(f"proxy-{port}.log").open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=config.parent,
        start_new_session=True,
    )  # fmt: skip
    live, seconds, usage = math.nan, math.nan, (0.0, 0.0)
    try:
        while time.monotonic() - started < timeout and process.poll() is None:
            usage = group_usage(process.pid)  # both only grow
            if math.isnan(live) and answers(port, "liveliness"):
                live = time.monotonic() - started
            if answers(port, "readiness"):
                seconds = time.monotonic() - started
                usage = group_usage(process.pid)  # both only grow
                break
            time.sleep(0.5)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
    size = config.stat().st_size / 1024
    return Start(label, deployments, size, live, seconds, usage[1], usage[0])


def run_size(deployments: int, pinning: str, workdir: Path, timeout: float) -> Start:
    mesh = loopback_mesh(deployments, pinning, workdir / f"mesh-{deployments}.yaml")
    out = build(mesh, workdir / f"out-{deployments}", ENV)
    label = "{} x {}".format(*synth.shape(deployments))
    return time_start(out / "litellm" / "config.yaml", timeout, label, deployments)


def table(starts: list[Start]) -> str:
    lines = [
        "| deployments | nodes x models | config.yaml KB | to liveliness s | to readiness s "
        "| CPU s | peak RSS MB |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for s in starts:
        seconds = f"{s.seconds:.1f}" if not math.isnan(s.seconds) else "not ready"
        live = f"{s.live_s:.1f}" if not math.isnan(s.live_s) else "-"
        lines.append(
            f"| {s.deployments:,} | {s.label} | {s.config_kb:,.0f} | {live} | {seconds} "
            f"| {s.cpu_s:.1f} | {s.peak_rss_mb:,.0f} |"
        )
    return "\n".join(lines)


def exponents(starts: list[Start]) -> str:
    """The log-log slope of start-up wall and CPU time between consecutive sizes."""
    timed = [s for s in starts if not math.isnan(s.seconds) and s.deployments]
    parts = [
        f"{a.deployments:,}->{b.deployments:,}: {_slope(a, b, 'seconds'):.2f} wall, "
        f"{_slope(a, b, 'cpu_s'):.2f} CPU"
        for a, b in itertools.pairwise(timed)
    ]
    return "start-up growth exponent " + "; ".join(parts) if parts else ""


def _slope(a: Start, b: Start, attr: str) -> float:
    rise = math.log(getattr(b, attr) / getattr(a, attr))
    return rise / math.log(b.deployments / a.deployments)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--pinning", choices=("strict", "prefer"), default="prefer")
    parser.add_argument("--config", type=Path, help="time this rendered config.yaml instead")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per start")
    args = parser.parse_args(argv)
    if args.config:
        starts = [time_start(args.config.resolve(), args.timeout, "given config", 0)]
    else:
        starts = []
        with tempfile.TemporaryDirectory(prefix="jarvis-startup-") as work:
            for size in (int(s) for s in args.sizes.split(",")):
                starts.append(run_size(size, args.pinning, Path(work), args.timeout))
                print(table(starts[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(f"litellm proxy start-up, {args.config or f'node_pinning {args.pinning}'}")
    print(table(starts))
    print(exponents(starts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
