"""Several gateway processes keep every declared limit at the runtime: two workers of one proxy
(`gateway.workers: 2`), and two proxies sharing one real redis-server (`replicas: 2`, two
processes on loopback as two replicas would be). A burst of four times a model's parallel limit
waits for free slots instead of failing, and the runtime never sees more than the limit at once.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from jarvis_config.model.mesh import build_mesh
from jarvis_config.model.processes import worker_args
from tests.e2e.harness import LOOPBACK, Proxy, build, free_ports, start_proxy
from tests.fakes.fake_runtime import CHUNK_WORDS, FakeRuntime

openai = pytest.importorskip("openai", reason="the e2e tests drive the gateway through the SDK")

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
LIMIT = 16
BURST = 64
ANSWER_SECONDS = 1.0
KEY_RPM = 4
ENV = {"JARVIS_MASTER_KEY": "sk-master-workers", "JARVIS_CI_KEY": "sk-ci-workers"}


def mesh(port: int, *, workers: int, replicas: int) -> dict[str, Any]:
    return {
        "version": 1,
        "gateway": {
            "master_key": "${JARVIS_MASTER_KEY}",
            "workers": workers,
            "replicas": replicas,
            "keys": {"ci": {"key": "${JARVIS_CI_KEY}", "rpm": KEY_RPM}},
        },
        "nodes": {"n1": {"address": LOOPBACK, "runtimes": {"ollama": {"port": port}}}},
        "models": {
            "tiny": {
                "runtime": "ollama",
                "source": "tiny:1b",
                "placement": {"nodes": ["n1"]},
                "limits": {"max_parallel_requests": LIMIT},
            }
        },
        "routing": {"health_check_interval": 0},
    }


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    port = free_ports(1)
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def gateway(tmp: Path, *, workers: int, replicas: int) -> Iterator[tuple[FakeRuntime, list[Proxy]]]:
    """One fake runtime answering in ANSWER_SECONDS and `replicas` proxies of `workers` each."""
    with contextlib.ExitStack() as stack:
        runtime = stack.enter_context(FakeRuntime("n1").start())
        runtime.token_delay = ANSWER_SECONDS / (CHUNK_WORDS + 1)
        config = tmp / "jarvis.yaml"
        spec = mesh(runtime.port, workers=workers, replicas=replicas)
        config.write_text(yaml.safe_dump(spec), encoding="utf-8")
        env = dict(ENV)
        if replicas > 1:
            redis_port = stack.enter_context(redis_server())
            env.update(REDIS_HOST=LOOPBACK, REDIS_PORT=str(redis_port), REDIS_PASSWORD="")
        out = build(config, tmp / "out", env)
        args = worker_args(build_mesh(spec).gateway)
        proxies = []
        for _ in range(replicas):
            proxy = start_proxy(out / "litellm" / "config.yaml", env, args=args)
            stack.callback(proxy.stop)
            proxies.append(proxy)
        yield runtime, proxies


def clients(proxies: list[Proxy], key: str) -> list[Any]:
    return [openai.OpenAI(base_url=p.url, api_key=key, max_retries=0, timeout=60) for p in proxies]


def burst(proxies: list[Proxy]) -> tuple[list[int], float]:
    """BURST concurrent requests spread over the proxies: their statuses and the time taken."""
    pool_clients = clients(proxies, ENV["JARVIS_MASTER_KEY"])

    def ask(index: int) -> int:
        client = pool_clients[index % len(pool_clients)]
        try:
            client.chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": "hi"}]
            )
        except openai.APIStatusError as exc:
            return exc.status_code
        return 200

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        statuses = list(pool.map(ask, range(BURST)))
    return statuses, time.monotonic() - start


@pytest.mark.parametrize(
    ("workers", "replicas"),
    [pytest.param(2, 1, id="two-workers"), pytest.param(1, 2, id="two-replicas")],
)
def test_a_burst_waits_for_slots_and_the_runtime_never_sees_more_than_the_limit(
    tmp_path: Path, workers: int, replicas: int
) -> None:
    with gateway(tmp_path, workers=workers, replicas=replicas) as (runtime, proxies):
        runtime.reset_in_flight()
        statuses, _ = burst(proxies)  # its time is benchmarks/burst.py's to measure
        assert statuses.count(200) == BURST, statuses
        assert 0 < runtime.max_in_flight <= LIMIT
        # The key's rpm is shared too: at most KEY_RPM requests a minute over all processes,
        # and a refusal says when the minute frees.
        ci = clients(proxies, ENV["JARVIS_CI_KEY"])
        answered, waits = 0, []
        for index in range(3 * KEY_RPM):
            try:
                ci[index % len(ci)].chat.completions.create(
                    model="tiny", messages=[{"role": "user", "content": "hi"}]
                )
                answered += 1
            except openai.RateLimitError as exc:
                waits.append(int(exc.response.headers["retry-after"]))
        assert answered <= KEY_RPM
        assert waits and all(1 <= wait <= 60 for wait in waits)
        assert min(waits) < 60
