"""Gateway resilience: failover time, latency during a fault, recovery time, per fault.

Serves examples/homelab end to end on 127.0.0.1 (the stock LiteLLM proxy on the built config
with its defaults, fake runtimes), keeps a closed loop of unpinned `llama3` requests running
from a few clients, and injects one fault at a time into the node `mini` (llama3 runs on
`ai-max` and `mini`):

- freeze: the runtime accepts connections and never answers (as under SIGSTOP)
- down: the runtime is stopped (connections refused), then started again
- error: it answers HTTP 500;  malformed: a body that is not JSON;  cut: streams broken off
- slow: one second between streamed chunks (a non-streamed answer waits as long)

For each fault it reports, over the unpinned requests started while the fault lasted: their
count and errors; failover, the time from the fault to the start of the last one that failed
or took over 5 s (0 when none did: from then on the node is left alone); their p50 / p99 and
longest latency (requests already waiting on a frozen node wait out the timeout). Then the
time a strict pin to `mini` sent at the fault took to be answered (503, or 200 for slow), and
recovery: the time from clearing the fault until a strict pin to `mini` is answered by it.

    python benchmarks/resilience.py                      # every fault, 50 s each
    python benchmarks/resilience.py --faults freeze,down --seconds 30 --clients 4

Prints a markdown table. All traffic stays on loopback; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.harness import Gateway, chat  # noqa: E402
from tests.kit import EXAMPLES_DIR  # noqa: E402

NODE = "mini"
SLOW = 5.0  # an unpinned answer slower than this counts as not yet failed over
RECOVERY_LIMIT = 90.0
FAULTS = ("freeze", "down", "error", "malformed", "cut", "slow")


@dataclass
class Sample:
    start: float
    end: float
    ok: bool

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Prober:
    """Unpinned requests in a closed loop from `clients` threads, recorded with their times."""

    gateway: Gateway
    clients: int
    samples: list[Sample] = field(default_factory=list)
    running: bool = True

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        return threads

    def _loop(self) -> None:
        client = self.gateway.client()
        while self.running:
            start = time.monotonic()
            try:
                # each request a conversation of its own, so affinity spreads them
                chat(client, "llama3", content=f"hi {start}")
                ok = True
            except Exception:  # a failed request is a sample too
                ok = False
            self.samples.append(Sample(start, time.monotonic(), ok))

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in list(self.samples) if start <= s.start < end]


def timed(call: Callable[[], Any]) -> tuple[float, str]:
    start = time.monotonic()
    try:
        call()
        outcome = "200"
    except Exception as exc:  # the outcome is what is measured
        outcome = str(getattr(exc, "status_code", type(exc).__name__))
    return time.monotonic() - start, outcome


def inject(gateway: Gateway, fault: str, on: bool) -> None:
    if fault == "down":
        if on:
            gateway.fakes.stop(NODE)
        else:
            gateway.fakes.restart(NODE)
        return
    for runtime in gateway.fakes.by_name[NODE]:
        if fault == "slow":
            runtime.token_delay = 1.0 if on else 0.0
        else:
            runtime.fault = fault if on else None


def pin_in_background(gateway: Gateway, fault: str) -> Callable[[], tuple[float, str]]:
    client = gateway.client()
    box: list[tuple[float, str]] = []
    if fault == "cut":

        def call() -> None:  # a cut shows on streams
            for _ in client.chat.completions.create(
                model="llama3",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                extra_body={"node": NODE},
            ):
                pass
    else:

        def call() -> None:
            chat(client, "llama3", NODE)

    thread = threading.Thread(target=lambda: box.append(timed(call)), daemon=True)
    thread.start()

    def result() -> tuple[float, str]:
        thread.join(timeout=120)
        return box[0] if box else (float("inf"), "none")

    return result


def recovery(gateway: Gateway) -> float:
    client = gateway.client()
    start = time.monotonic()
    while time.monotonic() - start < RECOVERY_LIMIT:
        try:
            if chat(client, "llama3", NODE)[1] == f"llama3@{NODE}":
                return time.monotonic() - start
        except Exception:  # not back yet
            pass
        time.sleep(0.5)
    return float("inf")


def measure(gateway: Gateway, prober: Prober, fault: str, seconds: float) -> dict[str, Any]:
    began = time.monotonic()
    inject(gateway, fault, on=True)
    pinned = pin_in_background(gateway, fault)
    time.sleep(seconds)
    inject(gateway, fault, on=False)
    ended = time.monotonic()
    pin_seconds, pin_outcome = pinned()
    back = recovery(gateway)
    during = prober.between(began, ended)
    bad = [s for s in during if not s.ok or s.seconds > SLOW]
    latencies = sorted(s.seconds for s in during if s.ok)
    return {
        "fault": fault,
        "requests": len(during),
        "errors": sum(not s.ok for s in during),
        "failover": max((s.start for s in bad), default=began) - began,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "longest": max((s.seconds for s in during), default=0.0),
        "pin": f"{pin_outcome} in {pin_seconds:.1f} s",
        "recovery": back,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| fault | unpinned requests | errors | failover s | p50 ms | p99 ms | longest s "
        "| strict pin to the node | recovery s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    lines += [
        f"| {r['fault']} | {r['requests']} | {r['errors']} | {r['failover']:.1f} "
        f"| {r['p50'] * 1000:.0f} | {r['p99'] * 1000:.0f} | {r['longest']:.1f} "
        f"| {r['pin']} | {r['recovery']:.1f} |"
        for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--seconds", type=float, default=50.0, help="how long each fault lasts")
    parser.add_argument("--clients", type=int, default=8, help="unpinned clients in the loop")
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    unknown = sorted(set(faults) - set(FAULTS))
    if unknown:
        parser.error(f"unknown faults {unknown}; choose from {', '.join(FAULTS)}")
    with (
        tempfile.TemporaryDirectory() as tmp,
        Gateway.start(EXAMPLES_DIR / "homelab", Path(tmp)) as gateway,
    ):
        prober = Prober(gateway, args.clients)
        threads = prober.start()
        try:
            rows = []
            for fault in faults:
                rows.append(measure(gateway, prober, fault, args.seconds))
                print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
        finally:
            prober.running = False
            for thread in threads:
                thread.join(timeout=70)
    print(table(rows))


if __name__ == "__main__":
    main()
