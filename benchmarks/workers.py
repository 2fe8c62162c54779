"""Gateway worker processes: throughput, added latency and CPU per request with 1 and 2
workers (`gateway.workers`), against the runtime called directly; and the burst a parallel
limit queues.

Builds a one-node mesh on loopback (model `tiny` on a fake Ollama runtime that answers at once),
starts one proxy per worker count, and drives the runtime directly and each proxy with the same
closed-loop load, one series at a time, alternating the order every round so drift of the
machine hits every series alike. Added latency is the proxy's p50/p99 minus the runtime's.

The burst: `tiny` with `limits.max_parallel_requests: 16` on a runtime that takes 1 s per
answer, 64 requests at once through a gateway of 1 and of 2 workers; every request must
succeed, and its completion time is compared with the floor of 64 / 16 x 1 s = 4 s. Each
answer's start and end at the runtime show where the time goes. Two workers share a real
redis-server, as the rendered config has them do.

    python benchmarks/workers.py                   # 4 rounds x 8 s per series, then the burst
    python benchmarks/workers.py --rounds 6 --seconds 10 --concurrency 32

Prints markdown tables. All traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.proxy_throughput import Tally, process_group_cpu  # noqa: E402
from jarvis_config.model.mesh import build_mesh  # noqa: E402
from jarvis_config.model.production import proxy_args  # noqa: E402
from jarvis_config.standin import CHUNK_WORDS, StandIn  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    LOOPBACK,
    Proxy,
    build,
    redis_env,
    redis_server,
    start_proxy,
)

KEY = "sk-bench-workers"
BURST, LIMIT, ANSWER_SECONDS = 64, 16, 1.0
WORKER_COUNTS = (1, 2)


def mesh(port: int, workers: int, limit: int | None) -> dict[str, Any]:
    tiny: dict[str, Any] = {
        "runtime": "ollama",
        "source": "tiny:1b",
        "placement": {"nodes": ["n1"]},
    }
    if limit is not None:
        tiny["limits"] = {"max_parallel_requests": limit}
    return {
        "version": 1,
        "gateway": {"master_key": "${JARVIS_MASTER_KEY}", "workers": workers},
        "nodes": {"n1": {"address": LOOPBACK, "runtimes": {"ollama": {"port": port}}}},
        "models": {"tiny": tiny},
        "routing": {"health_check_interval": 0},
    }


def gateway(
    work: Path, port: int, workers: int, limit: int | None = None, redis_port: int = 0
) -> Proxy:
    """The proxy as rendered for `workers`; with several, sharing router state through the
    redis-server on `redis_port`, as the stacks run it."""
    spec = mesh(port, workers, limit)
    folder = work / f"w{workers}-{limit}"
    folder.mkdir(parents=True)
    (folder / "jarvis.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    env = {"JARVIS_MASTER_KEY": KEY}
    if redis_port:
        env.update(redis_env(redis_port))
    out = build(folder / "jarvis.yaml", folder / "out", env)
    args = proxy_args(build_mesh(spec).gateway)
    return start_proxy(out / "litellm" / "config.yaml", env, args=args)


async def load(
    url: str, path: str, seconds: float, concurrency: int, tally: Tally, pgid: int
) -> None:
    """`concurrency` clients, each sending its next request when the last one is answered."""
    body = {
        "model": "tiny" if path.startswith("/v1") else "tiny:1b",
        "stream": False,
        "messages": [{"role": "user", "content": "hi"}],
    }
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30, trust_env=False
    ) as client:
        deadline = time.perf_counter() + seconds

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    reply = await client.post(path, json=body)
                except httpx.TransportError:  # the fake runtime closed a kept-alive connection
                    tally.errors += 1
                    continue
                if reply.status_code == 200:
                    tally.latencies.append(time.perf_counter() - start)
                else:
                    tally.errors += 1

        began, done = time.perf_counter(), len(tally.latencies)
        cpu = process_group_cpu(pgid) if pgid else 0.0
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
        tally.cpu_seconds += (process_group_cpu(pgid) - cpu) if pgid else 0.0
        tally.seconds += elapsed
        tally.round_rates.append((len(tally.latencies) - done) / elapsed)


def throughput(args: argparse.Namespace, work: Path) -> str:
    with StandIn("n1").start() as runtime, redis_server() as redis_port:
        proxies = {n: gateway(work, runtime.port, n, redis_port=redis_port) for n in WORKER_COUNTS}
        try:
            targets = {"runtime directly": (runtime.url, "/api/chat", 0)}
            targets.update(
                (
                    f"{n} worker{'s' if n > 1 else ''}",
                    (p.url, "/v1/chat/completions", p.process.pid),
                )
                for n, p in proxies.items()
            )
            tallies = {name: Tally() for name in targets}
            for url, path, pgid in targets.values():  # warm-up
                asyncio.run(load(url, path, 1.0, args.concurrency, Tally(), pgid))
            for index in range(args.rounds):
                order = list(targets) if index % 2 == 0 else list(reversed(targets))
                for name in order:
                    url, path, pgid = targets[name]
                    asyncio.run(
                        load(url, path, args.seconds, args.concurrency, tallies[name], pgid)
                    )
        finally:
            for proxy in proxies.values():
                proxy.stop()
    return throughput_table(tallies)


def throughput_table(tallies: dict[str, Tally]) -> str:
    floor = tallies["runtime directly"]
    one = tallies["1 worker"]
    lines = [
        "| series | requests | errors | req/s | vs 1 worker (per-round median) | p50 ms | p99 ms "
        "| added p50 ms | added p99 ms | gateway CPU ms/req |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, tally in tallies.items():
        ratios = sorted(m / o for m, o in zip(tally.round_rates, one.round_rates, strict=True))
        lines.append(
            f"| {name} | {len(tally.latencies)} | {tally.errors} | {tally.rate:.1f} | "
            f"{ratios[len(ratios) // 2]:.2f}x | {tally.percentile(0.5):.1f} | "
            f"{tally.percentile(0.99):.1f} | "
            f"{tally.percentile(0.5) - floor.percentile(0.5):.1f} | "
            f"{tally.percentile(0.99) - floor.percentile(0.99):.1f} | {tally.cpu_ms:.2f} |"
        )
    return "\n".join(lines)


@contextlib.contextmanager
def answer_spans(runtime: StandIn) -> Iterator[list[tuple[float, float]]]:
    """(start, end) on the monotonic clock of every answer the runtime gives meanwhile: where
    a burst's time goes (at the runtime, or before and between its answers)."""
    spans: list[tuple[float, float]] = []
    answering = runtime.answering

    @contextlib.contextmanager
    def timed() -> Iterator[None]:
        start = time.monotonic()
        with answering():
            yield
        spans.append((start, time.monotonic()))

    runtime.answering = timed  # type: ignore[method-assign]
    try:
        yield spans
    finally:
        del runtime.answering  # the class's method again


def profile(spans: list[tuple[float, float]], start: float, seconds: float) -> str:
    """Table cells: seconds to the first answer's start, the runtime's mean answer, the mean
    requests at the runtime over the burst (LIMIT at best), the seconds from the runtime's
    last answer to the client's."""
    if not spans:
        return "- | - | - | -"
    first = min(s for s, _ in spans) - start
    mean_answer = sum(e - s for s, e in spans) / len(spans)
    busy = sum(e - s for s, e in spans) / seconds
    tail = start + seconds - max(e for _, e in spans)
    return f"{first:.2f} | {mean_answer:.2f} | {busy:.1f} | {tail:.2f}"


async def burst(url: str) -> tuple[int, float, float]:
    """BURST requests at once: how many succeeded, when they were sent (monotonic clock) and
    the seconds until the last answer."""
    body = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    async with httpx.AsyncClient(
        base_url=url,
        headers={"Authorization": f"Bearer {KEY}"},
        limits=limits,
        timeout=60,
        trust_env=False,
    ) as client:
        start = time.monotonic()
        replies = await asyncio.gather(
            *(client.post("/v1/chat/completions", json=body) for _ in range(BURST))
        )
        return sum(r.status_code == 200 for r in replies), start, time.monotonic() - start


def bursts(args: argparse.Namespace, work: Path) -> str:
    lines = [
        f"| gateway | succeeded of {BURST} | most at the runtime at once (limit {LIMIT}) "
        f"| seconds (floor {BURST * ANSWER_SECONDS / LIMIT:g}) | first at the runtime s "
        "| runtime's answer s | mean at the runtime | last answer to client s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    with StandIn("n1").start() as runtime, redis_server() as redis_port:
        runtime.token_delay = ANSWER_SECONDS / (CHUNK_WORDS + 1)
        for workers in WORKER_COUNTS:
            proxy = gateway(work / "burst", runtime.port, workers, LIMIT, redis_port)
            try:
                for _ in range(args.bursts):
                    runtime.reset_in_flight()
                    with answer_spans(runtime) as spans:
                        ok, start, seconds = asyncio.run(burst(proxy.url))
                    lines.append(
                        f"| {workers} worker{'s' if workers > 1 else ''} | {ok} | "
                        f"{runtime.max_in_flight} | {seconds:.1f} | "
                        f"{profile(spans, start, seconds)} |"
                    )
            finally:
                proxy.stop()
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--bursts", type=int, default=3, help="bursts per worker count")
    parser.add_argument("--no-throughput", action="store_true", help="only the burst")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_throughput:
            print(throughput(args, Path(tmp)))
            print()
        print(bursts(args, Path(tmp)))


if __name__ == "__main__":
    main()
