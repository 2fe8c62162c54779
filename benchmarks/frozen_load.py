"""Throughput under load with a frozen node, per routing strategy.

Serves examples/homelab end to end on 127.0.0.1 (the stock LiteLLM proxy on the built config,
fake runtimes answering in about 50 ms), with `routing.strategy` set to each strategy in turn.
A closed loop of unpinned `llama3` requests (served by `ai-max` and `mini`) runs from many
clients; after `--warm` seconds `mini` freezes (accepts connections, never answers, as under
SIGSTOP) for `--frozen` seconds. Reported per strategy: answers/s before the freeze, answers/s
from `--settle` seconds into the freeze to its end, p50 and longest latency of the requests
started in that window, and errors over the whole run.

    python benchmarks/frozen_load.py                                  # 3 strategies, 64 clients
    python benchmarks/frozen_load.py --strategies least-busy --clients 32

Prints a markdown table. All traffic stays on loopback; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.harness import Gateway  # noqa: E402
from tests.kit import EXAMPLES_DIR  # noqa: E402

NODE = "mini"
STRATEGIES = ("simple-shuffle", "least-busy", "latency-based-routing")
ANSWER_DELAY = 0.0125  # the fakes' token delay: a non-streamed answer takes 4 x this (50 ms)
CLIENT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Sample:
    start: float
    end: float
    ok: bool


@dataclass(frozen=True)
class Result:
    strategy: str
    before: float  # answers/s before the freeze
    during: float  # answers/s from `settle` into the freeze to its end
    p50: float
    longest: float
    errors: int


def example_with(strategy: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    data = yaml.safe_load((EXAMPLES_DIR / "homelab" / "jarvis.yaml").read_text(encoding="utf-8"))
    data["routing"]["strategy"] = strategy
    (dest / "jarvis.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return dest


async def client_loop(gw: Gateway, until: float, samples: list[Sample]) -> None:
    headers = {"Authorization": f"Bearer {gw.copy.master_key}"}
    body = {"model": "llama3", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(base_url=gw.url, timeout=CLIENT_TIMEOUT) as client:
        while time.monotonic() < until:
            start = time.monotonic()
            try:
                reply = await client.post("/chat/completions", json=body, headers=headers)
                ok = reply.status_code == 200
            except httpx.HTTPError:
                ok = False
            samples.append(Sample(start, time.monotonic(), ok))


async def load(gw: Gateway, clients: int, warm: float, frozen: float) -> tuple[float, list[Sample]]:
    """Run the clients; freeze NODE after `warm` s for `frozen` s. Returns the freeze's start."""
    samples: list[Sample] = []
    begin = time.monotonic()
    until = begin + warm + frozen
    loops = [asyncio.create_task(client_loop(gw, until, samples)) for _ in range(clients)]
    await asyncio.sleep(warm)
    for runtime in gw.fakes.by_name[NODE]:
        runtime.fault = "freeze"
    frozen_at = time.monotonic()
    await asyncio.wait(loops, timeout=frozen + CLIENT_TIMEOUT)
    for runtime in gw.fakes.by_name[NODE]:
        runtime.fault = None
    return frozen_at, samples


def measure(strategy: str, clients: int, warm: float, frozen: float, settle: float) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        example = example_with(strategy, Path(tmp) / "example")
        with Gateway.start(example, Path(tmp) / "work") as gw:
            for runtime in gw.fakes.all():
                runtime.token_delay = ANSWER_DELAY
            frozen_at, samples = asyncio.run(load(gw, clients, warm, frozen))
    first = min(s.start for s in samples)
    done_before = [s for s in samples if s.ok and first + 2 <= s.end < frozen_at]
    window = (frozen_at + settle, frozen_at + frozen)
    done_during = [s for s in samples if s.ok and window[0] <= s.end < window[1]]
    started = [s.end - s.start for s in samples if window[0] <= s.start < window[1]]
    return Result(
        strategy=strategy,
        before=len(done_before) / (frozen_at - first - 2),
        during=len(done_during) / (window[1] - window[0]),
        p50=statistics.median(started) if started else float("nan"),
        longest=max((s.end - s.start for s in samples), default=0.0),
        errors=sum(not s.ok for s in samples),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--warm", type=float, default=10.0)
    parser.add_argument("--frozen", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=20.0)
    args = parser.parse_args(argv)
    print(f"{args.clients} clients; {NODE} frozen after {args.warm:g} s for {args.frozen:g} s\n")
    print(
        "| strategy | answers/s before | answers/s from "
        f"{args.settle:g} s into the freeze | p50 s | longest s | errors |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for strategy in args.strategies.split(","):
        r = measure(strategy, args.clients, args.warm, args.frozen, args.settle)
        print(
            f"| {r.strategy} | {r.before:.0f} | {r.during:.0f} | {r.p50:.2f} | "
            f"{r.longest:.1f} | {r.errors} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
