"""Several gateway processes keep every declared limit at the runtime: two workers of one proxy
(`gateway.workers: 2`), and two proxies (`replicas: 2`, two processes on loopback as two
replicas would be), each time with the config as rendered for them, sharing router state
through a real redis-server. A burst of four times a model's parallel limit waits for free
slots instead of failing, the runtime never sees more than the limit at once, and a frozen
node is left alone by every process.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from jarvis_config.model.mesh import build_mesh
from jarvis_config.model.production import proxy_args
from jarvis_config.standin import CHUNK_WORDS, StandIn
from tests.e2e.harness import LOOPBACK, Proxy, build, router_state, start_proxy

openai = pytest.importorskip("openai", reason="the e2e tests drive the gateway through the SDK")

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
LIMIT = 16
BURST = 64
ANSWER_SECONDS = 1.0
KEY_RPM = 4
ENV = {"JARVIS_MASTER_KEY": "sk-master-workers", "JARVIS_CI_KEY": "sk-ci-workers"}


LEFT_ALONE = 30.0  # docs/resilience.md: a frozen node gets no unpinned request after this
NORMAL = 5.0  # an answer from a healthy fake, even on a contended machine
SHARED_WITHIN = 11.0  # s: LiteLLM re-reads a key it missed from Redis every 10 s at most


def mesh(
    port: int, *, workers: int, replicas: int, frozen_port: int = 0, health_checks: bool = True
) -> dict[str, Any]:
    """`tiny` on node n1 (limit LIMIT, no health checks); with `frozen_port`, also on n2 with
    the default fault settings (health checks left out if not `health_checks`), for the
    fault tests."""
    gateway: dict[str, Any] = {
        "master_key": "${JARVIS_MASTER_KEY}",
        "workers": workers,
        "replicas": replicas,
    }
    ports = {"n1": port, **({"n2": frozen_port} if frozen_port else {})}
    tiny: dict[str, Any] = {
        "runtime": "ollama",
        "source": "tiny:1b",
        "placement": {"nodes": list(ports)},
    }
    document: dict[str, Any] = {
        "version": 1,
        "gateway": gateway,
        "nodes": {
            name: {"address": LOOPBACK, "runtimes": {"ollama": {"port": node_port}}}
            for name, node_port in ports.items()
        },
        "models": {"tiny": tiny},
    }
    if not frozen_port:
        gateway["keys"] = {"ci": {"key": "${JARVIS_CI_KEY}", "rpm": KEY_RPM}}
        tiny["limits"] = {"max_parallel_requests": LIMIT}
        document["routing"] = {"health_check_interval": 0}
    elif not health_checks:
        document["routing"] = {"health_check_interval": 0}
    return document


@contextlib.contextmanager
def gateway(
    tmp: Path,
    *,
    workers: int,
    replicas: int,
    frozen: StandIn | None = None,
    health_checks: bool = True,
) -> Iterator[tuple[StandIn, list[Proxy], int]]:
    """One fake runtime answering in ANSWER_SECONDS (at once with `frozen`, a second node's
    runtime) and `replicas` proxies of `workers` each; the port of the Redis they share."""
    with contextlib.ExitStack() as stack:
        runtime = stack.enter_context(StandIn("n1").start())
        if frozen is None:
            runtime.token_delay = ANSWER_SECONDS / (CHUNK_WORDS + 1)
        config = tmp / "jarvis.yaml"
        spec = mesh(
            runtime.port,
            workers=workers,
            replicas=replicas,
            frozen_port=frozen.port if frozen else 0,
            health_checks=health_checks,
        )
        config.write_text(yaml.safe_dump(spec), encoding="utf-8")
        env = dict(ENV)
        gateway = build_mesh(spec).gateway
        redis_port = router_state(stack, gateway, env)
        out = build(config, tmp / "out", env)
        args = proxy_args(gateway)
        proxies = []
        for _ in range(replicas):
            proxy = start_proxy(out / "litellm" / "config.yaml", env, args=args)
            stack.callback(proxy.stop)
            proxies.append(proxy)
        yield runtime, proxies, redis_port


@contextlib.contextmanager
def clients(proxies: list[Proxy], key: str) -> Iterator[list[Any]]:
    """One SDK client per proxy, closed on leaving (not left to the garbage collector)."""
    made = [openai.OpenAI(base_url=p.url, api_key=key, max_retries=0, timeout=60) for p in proxies]
    try:
        yield made
    finally:
        for client in made:
            client.close()


def burst(proxies: list[Proxy], *, stream: bool = False) -> tuple[list[int], float]:
    """BURST concurrent requests spread over the proxies: their statuses and the time taken."""

    def ask(index: int) -> int:
        client = pool_clients[index % len(pool_clients)]
        try:
            answer = client.chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": "hi"}], stream=stream
            )
            if stream:
                assert "".join(c.choices[0].delta.content or "" for c in answer if c.choices)
        except openai.APIStatusError as exc:
            return exc.status_code
        return 200

    with clients(proxies, ENV["JARVIS_MASTER_KEY"]) as pool_clients:
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            statuses = list(pool.map(ask, range(BURST)))
        return statuses, time.monotonic() - start


# Two gateway processes, as workers of one proxy or as two replicas sharing Redis.
PROCESSES = pytest.mark.parametrize(
    ("workers", "replicas"),
    [pytest.param(2, 1, id="two-workers"), pytest.param(1, 2, id="two-replicas")],
)


@PROCESSES
def test_a_burst_waits_for_slots_and_the_runtime_never_sees_more_than_the_limit(
    tmp_path: Path, workers: int, replicas: int
) -> None:
    with gateway(tmp_path, workers=workers, replicas=replicas) as (runtime, proxies, _):
        runtime.reset_in_flight()
        # Its time is benchmarks/workers.py's to measure. The streamed burst gives its slots
        # back when each stream ends: the burst after it would otherwise wait and fail.
        for stream in (False, True, False):
            statuses, _ = burst(proxies, stream=stream)
            assert statuses.count(200) == BURST, (stream, statuses)
            assert 0 < runtime.max_in_flight <= LIMIT
        # The key's rpm is shared too: at most KEY_RPM requests a minute over all processes,
        # and a refusal says when the minute frees.
        answered, waits = 0, []
        with clients(proxies, ENV["JARVIS_CI_KEY"]) as ci:
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


@PROCESSES
def test_a_frozen_node_is_avoided_by_every_process(
    tmp_path: Path, workers: int, replicas: int
) -> None:
    with (
        StandIn("n2").start() as frozen,
        gateway(tmp_path, workers=workers, replicas=replicas, frozen=frozen) as (_, proxies, _),
    ):
        frozen.fault = "freeze"
        try:
            time.sleep(LEFT_ALONE)
            answers = []
            for index in range(20):  # a new connection each time: it may reach any worker
                with clients([proxies[index % len(proxies)]], ENV["JARVIS_MASTER_KEY"]) as one:
                    start = time.monotonic()
                    reply = one[0].chat.completions.with_raw_response.create(
                        model="tiny", messages=[{"role": "user", "content": "hi"}]
                    )
                answers.append((time.monotonic() - start, reply.headers["x-litellm-model-id"]))
        finally:
            frozen.fault = None
        assert {model for _, model in answers} == {"tiny@n1"}, answers
        assert all(seconds < NORMAL for seconds, _ in answers), answers


# LiteLLM 1.108.7's key for a deployment's cooldown (router_utils/cooldown_cache.py).
COOLDOWN_KEY = "deployment:tiny@n2:cooldown"


def in_redis(port: int, key: str) -> bool:
    found = subprocess.run(
        ["redis-cli", "-h", LOOPBACK, "-p", str(port), "exists", key],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return found.stdout.strip() == "1"


@PROCESSES
def test_a_cooldown_set_by_one_process_is_kept_by_every_process(
    tmp_path: Path, workers: int, replicas: int
) -> None:
    """n2 answers 500s, no health checks: the failures of unpinned requests through the first
    proxy cool it down, and the cooldown reaches every process through Redis. Strict pins to
    n2, each on a new connection (any worker; the second replica first, which saw no failure),
    are then refused as cooling down, and none reaches n2."""
    with (
        StandIn("n2").start() as failing,
        gateway(
            tmp_path, workers=workers, replicas=replicas, frozen=failing, health_checks=False
        ) as (_, proxies, redis_port),
    ):
        failing.fault = "error"
        with clients(proxies[:1], ENV["JARVIS_MASTER_KEY"]) as (first,):

            def unpinned(index: int) -> None:  # n2 fails, n1 answers
                first.chat.completions.create(
                    model="tiny", messages=[{"role": "user", "content": f"hi {index}"}]
                )

            for _ in range(3):  # concurrent: least-busy sends one request at a time to n1 alone
                with ThreadPoolExecutor(max_workers=8) as pool:
                    list(pool.map(unpinned, range(8)))
                if in_redis(redis_port, COOLDOWN_KEY):
                    break
        assert in_redis(redis_port, COOLDOWN_KEY)
        assert failing.requests()  # the failures that cooled n2 down
        failing.clear()
        # A process that looked the key up lately (and found none) asks Redis again only after
        # LiteLLM's batch-cache expiry: the cooldown reaches it within that, well inside the
        # 30 s it lasts.
        time.sleep(SHARED_WITHIN)
        for index in range(10):
            proxy = proxies[-1 - index % len(proxies)]
            with (
                clients([proxy], ENV["JARVIS_MASTER_KEY"]) as (client,),
                pytest.raises(openai.APIStatusError) as refused,
            ):
                client.chat.completions.create(
                    model="tiny",
                    messages=[{"role": "user", "content": "hi"}],
                    extra_body={"node": "n2"},
                )
            assert refused.value.status_code == 503
            assert "(cooldown)" in str(refused.value), refused.value
        assert not failing.requests()
