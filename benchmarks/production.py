"""The production settings the gateway renders (`jarvis_config/model/production.py`) against
LiteLLM's defaults: throughput, latency, CPU and log volume per request, and whether an idle
kept-alive connection survives.

Builds a one-node mesh on loopback (model `tiny` on a fake Ollama runtime that answers at once,
one worker), starts the proxy twice on the same config: once as the stacks start it (its
environment and arguments) and once as `litellm --config --port` alone, and drives both with
the same closed-loop load, alternating the order every round. Then, on each, one HTTP/1.1
connection sends a request, stays idle for longer than uvicorn's default keep-alive (5 s), and
sends another.

    python benchmarks/production.py                  # 6 rounds x 6 s per series
    python benchmarks/production.py --rounds 8 --seconds 8

Prints markdown tables. All traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.proxy_throughput import Tally  # noqa: E402
from benchmarks.workers import KEY, load, mesh  # noqa: E402
from jarvis_config.model.mesh import build_mesh  # noqa: E402
from jarvis_config.model.production import PROXY_ENV, proxy_args  # noqa: E402
from jarvis_config.standin import StandIn  # noqa: E402
from jarvis_config.trial.proxy import Proxy, proxy_command, start_proxy  # noqa: E402
from tests.e2e.harness import LOOPBACK, build, free_ports, litellm_command  # noqa: E402

IDLE_SECONDS = 7.0  # longer than uvicorn's default keep-alive of 5 s


def proxies(work: Path, runtime_port: int) -> dict[str, Proxy]:
    """The proxy as rendered, and as LiteLLM runs it by default, on one build."""
    spec = mesh(runtime_port, 1, None)
    (work / "jarvis.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    env = {"JARVIS_MASTER_KEY": KEY}
    config = build(work / "jarvis.yaml", work / "out", env) / "litellm" / "config.yaml"
    shapes = {
        "as rendered": ({**env, **dict(PROXY_ENV)}, proxy_args(build_mesh(spec).gateway)),
        "LiteLLM defaults": (env, ()),
    }
    started: dict[str, Proxy] = {}
    for name, (shape_env, args) in shapes.items():
        port = free_ports(1)
        command = [*proxy_command(litellm_command(), config, port), *args]
        log = work / f"{name.replace(' ', '-')}.log"
        started[name] = start_proxy(command, config, shape_env, port, log=log)
    return started


def kept_alive(port: int) -> str:
    """Whether one connection still serves a request after IDLE_SECONDS idle."""
    body = json.dumps({"model": "tiny", "messages": [{"role": "user", "content": "hi"}]})
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    try:
        connection.request("POST", "/v1/chat/completions", body, headers)
        connection.getresponse().read()
        time.sleep(IDLE_SECONDS)
        connection.request("POST", "/v1/chat/completions", body, headers)
        status = connection.getresponse().status
    except (ConnectionError, http.client.HTTPException) as exc:
        return f"closed by the proxy ({type(exc).__name__})"
    finally:
        connection.close()
    return f"kept (answered {status})"


def run(args: argparse.Namespace, work: Path) -> str:
    with StandIn("n1").start() as runtime:
        started = proxies(work, runtime.port)
        try:
            tallies = {name: Tally() for name in started}
            log_bytes = {name: 0 for name in started}
            for proxy in started.values():  # warm-up
                asyncio.run(load(proxy.url, "/v1/chat/completions", 1.0, 16, Tally(), 0))
            for index in range(args.rounds):
                order = list(started) if index % 2 == 0 else list(reversed(started))
                for name in order:
                    proxy = started[name]
                    before = proxy.log.stat().st_size
                    asyncio.run(
                        load(
                            proxy.url,
                            "/v1/chat/completions",
                            args.seconds,
                            args.concurrency,
                            tallies[name],
                            proxy.process.pid,
                        )
                    )
                    log_bytes[name] += proxy.log.stat().st_size - before
            alive = {name: kept_alive(proxy.port) for name, proxy in started.items()}
        finally:
            for proxy in started.values():
                proxy.stop()
    return table(tallies, log_bytes, alive)


def table(tallies: dict[str, Tally], log_bytes: dict[str, int], alive: dict[str, str]) -> str:
    lines = [
        "| series | requests | errors | req/s | per-round req/s (min-max) | p50 ms | p99 ms "
        f"| gateway CPU ms/req | log bytes/req | connection idle {IDLE_SECONDS:g} s |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, tally in tallies.items():
        rates = tally.round_rates
        lines.append(
            f"| {name} | {len(tally.latencies)} | {tally.errors} | {tally.rate:.1f} | "
            f"{min(rates):.0f}-{max(rates):.0f} | {tally.percentile(0.5):.1f} | "
            f"{tally.percentile(0.99):.1f} | {tally.cpu_ms:.2f} | "
            f"{log_bytes[name] / max(1, len(tally.latencies)):.0f} | {alive[name]} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
