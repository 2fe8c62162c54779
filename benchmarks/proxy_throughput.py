"""Gateway callback overhead: the stock LiteLLM proxy's throughput with and without the callback.

Builds a small mesh (llama3 on two Ollama nodes, no rate limits; MESH below) on loopback,
starts fake runtimes and two proxies on 127.0.0.1 (one on the rendered config, one on the same
config without the jarvis_router callback), then drives them in rounds with the same
closed-loop load, one series at a time, the order reversed every other round, so drift of the
machine hits every series alike. Four series:

- no callback, `llama3` (the baseline)
- callback, `llama3` without `node` (what every unpinned request pays)
- callback, `llama3` with `"node": "mini"` (a pin: the hook rewrites the model group)
- no callback, `llama3@mini` (the same group called by name: the baseline for the pin)

    python benchmarks/proxy_throughput.py                 # 8 rounds x 5 s per series
    python benchmarks/proxy_throughput.py --rounds 5 --seconds 10 --concurrency 16
    python benchmarks/proxy_throughput.py --no-health-checks   # without background checks

Prints a markdown table: requests, requests/s, p50 and p99 latency, throughput relative to
the series' baseline (the median over rounds of the ratio within each round), and the proxy's
CPU time per request (read from /proc), whose ratio gives the CPU-bound capacity relative to
the baseline: a steadier figure than throughput on a machine other work shares. All traffic
stays on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.harness import build, loopback_copy, start_proxy, start_standins  # noqa: E402

MESH = """\
version: 1
gateway: {master_key: "${JARVIS_MASTER_KEY}"}
nodes:
  gpu-1: {address: gpu-1.lan, roles: [gpu], memory_gb: 64, runtimes: {ollama: {}}}
  mini: {address: mini.lan, roles: [cpu], memory_gb: 16, runtimes: {ollama: {}}}
models:
  llama3:
    runtime: ollama
    source: llama3:8b
    memory_gb: 6
    placement: {nodes: [gpu-1, mini]}
routing: {node_pinning: strict}
"""


@dataclass(frozen=True)
class Series:
    name: str
    callback: bool
    model: str
    node: str | None
    baseline: str


SERIES = (
    Series("no callback, llama3", False, "llama3", None, "no callback, llama3"),
    Series("callback, llama3 (no node)", True, "llama3", None, "no callback, llama3"),
    Series("callback, llama3 + node mini", True, "llama3", "mini", "no callback, llama3@mini"),
    Series("no callback, llama3@mini", False, "llama3@mini", None, "no callback, llama3@mini"),
)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    round_rates: list[float] = field(default_factory=list)  # requests/s of each round
    cpu_seconds: float = 0.0  # the proxy's CPU time while serving this series

    @property
    def cpu_ms(self) -> float:
        """CPU per request: unlike throughput, barely moved by other load on the machine."""
        return 1000 * self.cpu_seconds / len(self.latencies) if self.latencies else 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def process_group_cpu(pgid: int) -> float:
    """User + system CPU seconds of every process in a process group (Linux /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == pgid:  # fields after the name: state ppid pgrp ... utime stime
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def load(
    url: str, key: str, series: Series, seconds: float, concurrency: int, tally: Tally, pgid: int
) -> None:
    """`concurrency` clients, each sending its next request when the last one is answered."""
    body: dict[str, Any] = {"model": series.model, "messages": [{"role": "user", "content": "hi"}]}
    if series.node:
        body["node"] = series.node
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30, trust_env=False
    ) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                reply = await client.post("/v1/chat/completions", json=body)
                if reply.status_code == 200:
                    tally.latencies.append(time.perf_counter() - start)
                else:
                    tally.errors += 1

        began, done, cpu = time.perf_counter(), len(tally.latencies), process_group_cpu(pgid)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
        tally.cpu_seconds += process_group_cpu(pgid) - cpu
        tally.seconds += elapsed
        tally.round_rates.append((len(tally.latencies) - done) / elapsed)


def without_callback(config: Path) -> Path:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["litellm_settings"].pop("callbacks", None)
    plain = config.with_name("config-without-callback.yaml")
    plain.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return plain


def run(args: argparse.Namespace, work: Path) -> dict[str, Tally]:
    source = work / "source" / "jarvis.yaml"
    source.parent.mkdir(parents=True)
    mesh = MESH
    if args.no_health_checks:  # the settings before background health checks, to compare
        mesh = mesh.replace(
            "node_pinning: strict}", "node_pinning: strict, health_check_interval: 0}"
        )
    source.write_text(mesh, encoding="utf-8")
    copy = loopback_copy(source, work / "mesh")
    fakes = start_standins(copy.mesh)
    proxies = []
    try:
        config = build(copy.path, work / "out", copy.env) / "litellm" / "config.yaml"
        proxies = [start_proxy(config, copy.env), start_proxy(without_callback(config), copy.env)]
        by_callback = {True: proxies[0], False: proxies[1]}
        tallies = {s.name: Tally() for s in SERIES}
        for series in SERIES:  # warm-up: connections, caches, the first-call paths
            proxy = by_callback[series.callback]
            asyncio.run(
                load(
                    proxy.url,
                    copy.master_key,
                    series,
                    1.0,
                    args.concurrency,
                    Tally(),
                    proxy.process.pid,
                )
            )
        for index in range(args.rounds):
            # Alternate the order, so no series always runs right after another one.
            for series in SERIES if index % 2 == 0 else reversed(SERIES):
                proxy = by_callback[series.callback]
                asyncio.run(
                    load(
                        proxy.url,
                        copy.master_key,
                        series,
                        args.seconds,
                        args.concurrency,
                        tallies[series.name],
                        proxy.process.pid,
                    )
                )
        return tallies
    finally:
        for proxy in proxies:
            proxy.stop()
        fakes.stop()


def ratios(tally: Tally, base: Tally) -> list[float]:
    """This series' throughput over its baseline's, round by round, in percent."""
    return sorted(
        100 * mine / theirs
        for mine, theirs in zip(tally.round_rates, base.round_rates, strict=True)
    )


def relative(tally: Tally, base: Tally) -> float:
    """The median of the per-round ratios: robust to other load that comes and goes."""
    return statistics.median(ratios(tally, base))


def table(tallies: dict[str, Tally]) -> str:
    lines = [
        "| series | requests | errors | req/s | p50 ms | p99 ms | req/s vs baseline "
        "(median, per-round range) | proxy CPU ms/req | CPU capacity vs baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for series in SERIES:
        tally, base = tallies[series.name], tallies[series.baseline]
        spread = ratios(tally, base)
        capacity = 100 * base.cpu_ms / tally.cpu_ms if tally.cpu_ms else 0.0
        lines.append(
            f"| {series.name} | {len(tally.latencies)} | {tally.errors} | "
            f"{tally.rate:.1f} | {tally.percentile(0.50):.1f} | "
            f"{tally.percentile(0.99):.1f} | {relative(tally, base):.1f}% "
            f"({spread[0]:.0f}-{spread[-1]:.0f}%) | {tally.cpu_ms:.2f} | "
            f"{capacity:.1f}% |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds (default 8)")
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="seconds per series per round (default 5)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="clients (default 16)")
    parser.add_argument(
        "--no-health-checks",
        action="store_true",
        help="build with routing.health_check_interval: 0 (what health checks cost)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jarvis-bench-") as work:
        tallies = run(args, Path(work))
    print(
        f"{args.rounds} rounds x {args.seconds:g} s per series (order reversed every other "
        f"round), {args.concurrency} concurrent clients, one proxy worker each, fake "
        f"runtimes, 127.0.0.1 only\n"
    )
    print(table(tallies))
    base, hooked = tallies[SERIES[0].name], tallies[SERIES[1].name]
    print(
        f"\nwith the callback (unpinned requests): {relative(hooked, base):.1f}% of the "
        "throughput without it (median of the per-round ratios); the proxy spends "
        f"{hooked.cpu_ms:.2f} ms of CPU per request with it, {base.cpu_ms:.2f} ms without"
    )


if __name__ == "__main__":
    main()
