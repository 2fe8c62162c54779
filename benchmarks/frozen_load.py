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
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.harness import Gateway  # noqa: E402
from tests.e2e.load import NODE, Summary, load, summarize  # noqa: E402
from tests.kit import EXAMPLES_DIR  # noqa: E402

STRATEGIES = ("simple-shuffle", "least-busy", "latency-based-routing")
ANSWER_DELAY = 0.0125  # the fakes' token delay: a non-streamed answer takes 4 x this (50 ms)


def example_with(strategy: str, dest: Path, workers: int = 1) -> Path:
    dest.mkdir(parents=True)
    data = yaml.safe_load((EXAMPLES_DIR / "homelab" / "jarvis.yaml").read_text(encoding="utf-8"))
    data["routing"]["strategy"] = strategy
    data["gateway"]["workers"] = workers
    # homelab's rpm (600 a minute per node) would cap the answers at 20/s: measured is the
    # frozen node, not the rate limit.
    del data["models"]["llama3"]["limits"]["rpm"]
    (dest / "jarvis.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return dest


def measure(
    strategy: str, clients: int, warm: float, frozen: float, settle: float, workers: int = 1
) -> Summary:
    with tempfile.TemporaryDirectory() as tmp:
        example = example_with(strategy, Path(tmp) / "example", workers)
        with Gateway.start(example, Path(tmp) / "work") as gw:
            for runtime in gw.fakes.all():
                runtime.token_delay = ANSWER_DELAY
            frozen_at, samples = asyncio.run(load(gw, clients, warm, frozen))
    return summarize(samples, frozen_at, frozen, settle)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--warm", type=float, default=10.0)
    parser.add_argument("--frozen", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=20.0)
    parser.add_argument("--workers", default="1", help="gateway workers, e.g. 1,2")
    args = parser.parse_args(argv)
    print(f"{args.clients} clients; {NODE} frozen after {args.warm:g} s for {args.frozen:g} s\n")
    print(
        "| workers | strategy | answers/s before | answers/s from "
        f"{args.settle:g} s into the freeze | p50 s | longest s | errors |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for workers in (int(count) for count in args.workers.split(",")):
        for strategy in args.strategies.split(","):
            r = measure(strategy, args.clients, args.warm, args.frozen, args.settle, workers)
            print(
                f"| {workers} | {strategy} | {r.before:.0f} | {r.during:.0f} | {r.p50:.2f} | "
                f"{r.longest:.1f} | {r.errors} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
