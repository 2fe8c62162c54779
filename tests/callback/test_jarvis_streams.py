"""The callback's stream guard, unreadable answers, health-failed fallback hops and failed
fallbacks, called directly on the home lab's rendered callback. The end-to-end proof on the
stock proxy is tests/e2e/test_e2e_stream_faults.py."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from jarvis_config.render import litellm as target
from tests.callback.test_jarvis_router import (
    _HealthState,
    failure,
    load_callback,
    pre_call,
    request,
)
from tests.kit import compile_mesh

STRICT = (
    "node 'mini' failed to serve 'llama3' and node_pinning is strict, so the request was not "
    "sent to another node: "
)
MALFORMED = "it sent an answer the gateway could not read (malformed response)"


@pytest.fixture(scope="module")
def homelab(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return load_callback(tmp_path_factory.mktemp("homelab"), target.render(compile_mesh("homelab")))


@pytest.fixture
def unhealthy_mini(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy's router as the callback finds it, with `llama3@mini` marked unhealthy."""
    proxy = ModuleType("litellm.proxy.proxy_server")
    proxy.llm_router = type("Router", (), {"health_state_cache": _HealthState({"llama3@mini"})})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "litellm.proxy.proxy_server", proxy)


def chunk(text: str | None) -> Any:
    return SimpleNamespace(choices=[SimpleNamespace(delta=SimpleNamespace(content=text))])


class Stream:
    """A stream as LiteLLM hands it to the hook: chunks, and the deployment that sends them."""

    def __init__(self, texts: list[str | None], delay: float = 0.0, endless: bool = False):
        self.texts, self.delay, self.endless = texts, delay, endless
        self._hidden_params = {"model_id": "llama3@mini"}

    async def __aiter__(self) -> AsyncIterator[Any]:
        index = 0
        while index < len(self.texts) or self.endless:
            await asyncio.sleep(self.delay)
            yield chunk(self.texts[index % len(self.texts)])
            index += 1


def guarded(module: ModuleType, data: dict[str, Any], stream: Stream) -> tuple[list[Any], Any]:
    """(the chunks the client got, the exception that ended the stream or None)."""

    async def read() -> tuple[list[Any], Any]:
        got: list[Any] = []
        hook = module.proxy_handler_instance.async_post_call_streaming_iterator_hook
        try:
            async for item in hook(None, stream, data):
                got.append(item)
        except Exception as exc:  # the exception is the result under test
            return got, exc
        return got, None

    return asyncio.run(read())


def test_a_stream_with_content_passes_whole(homelab: ModuleType) -> None:
    got, error = guarded(homelab, request("llama3"), Stream([None, "hello", " from", None]))
    assert error is None and len(got) == 4


def test_a_stream_without_any_content_is_the_nodes_503_before_a_chunk_goes_out(
    homelab: ModuleType,
) -> None:
    got, error = guarded(homelab, request("llama3"), Stream([None, None]))
    assert got == []
    assert (error.status_code, error.message) == (
        503,
        f"node 'mini' failed to serve 'llama3': {MALFORMED}",
    )
    # a strict pin's failure hook words it as a strict failure
    data = pre_call(homelab, request("llama3", node="mini"))
    answer = failure(homelab, data, error)
    assert (answer.status_code, answer.detail) == (503, STRICT + MALFORMED)


def test_more_chunks_than_max_tokens_allows_are_cut(homelab: ModuleType) -> None:
    data = {**request("llama3"), "max_tokens": 5}
    got, error = guarded(homelab, data, Stream(["tick"], endless=True))
    slack = homelab.proxy_handler_instance.table.streams["chunk_slack"]
    assert len(got) == 5 + slack
    assert error.message == (
        f"node 'mini' failed to serve 'llama3': it sent more than the {5 + slack} chunks the "
        "request's token budget allows, so the gateway ended the answer"
    )


def test_without_max_tokens_the_context_window_bounds_the_chunks(homelab: ModuleType) -> None:
    streams = homelab.proxy_handler_instance.table.streams
    assert streams["max_chunks"]["llama3"] == 8192


def test_a_stream_past_its_time_budget_or_its_chunk_gap_is_cut(
    homelab: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    streams = homelab.proxy_handler_instance.table.streams
    monkeypatch.setitem(streams, "max_seconds", 0.3)
    _, error = guarded(homelab, request("llama3"), Stream(["tick"], delay=0.01, endless=True))
    assert error.message.endswith(
        "it was still sending after 0.3 s (stream_max_seconds), so the gateway ended the answer"
    )
    monkeypatch.setitem(streams, "max_seconds", 60)
    monkeypatch.setitem(streams, "gap_seconds", 0.2)
    got, error = guarded(homelab, request("llama3"), Stream(["a", "b"], delay=0.5))
    assert got == []
    assert error.message.endswith(
        "it sent no complete chunk for 0.2 s (stream_timeout): it stalled or sends too slowly"
    )


def test_an_answer_litellm_could_not_parse_is_the_nodes_503_not_a_400(
    homelab: ModuleType,
) -> None:
    import litellm

    exc = litellm.BadRequestError(
        message="Ollama_chatException - KeyError: 'message', Got unexpected response from "
        "Ollama: {'model': 'llama3:8b', 'done': False}",
        model="llama3:8b",
        llm_provider="ollama_chat",
    )
    answer = failure(homelab, pre_call(homelab, request("llama3", node="mini")), exc)
    assert (answer.status_code, answer.detail) == (503, STRICT + MALFORMED)
    assert exc.status_code == 503  # what a stream's first error event carries


@pytest.mark.usefixtures("unhealthy_mini")
def test_a_fallback_hop_to_a_node_that_failed_its_health_check_is_refused_at_once(
    homelab: ModuleType,
) -> None:
    import litellm

    check = homelab.proxy_handler_instance.async_pre_call_check
    with pytest.raises(litellm.APIConnectionError) as refused:
        asyncio.run(check({"model_info": {"id": "llama3@mini"}}, None))
    data = request("llama3@mini")
    pin = {"node": "mini", "model": "llama3", "where": "node 'mini'", "strict": True}
    data["metadata"] = {"jarvis_pin": pin}
    answer = failure(homelab, data, refused.value)
    assert answer.detail == STRICT + "it failed its last health check; try again later"
    assert asyncio.run(check({"model_info": {"id": "llama3@ai-max"}}, None)) is None
    assert asyncio.run(check({"model_info": {"id": "gpt-4o@openai"}}, None)) is None


def test_a_failed_fallback_is_named_with_its_cause(homelab: ModuleType) -> None:
    import litellm

    hosted = litellm.AuthenticationError(
        message="bad key sk-123", llm_provider="openai", model="gpt-4o"
    )
    logging = SimpleNamespace(model_call_details={"exception": hosted})
    asyncio.run(
        homelab.proxy_handler_instance.log_failure_fallback_event(
            "llama3",
            {"model": "gpt-4o", "litellm_call_id": "c1", "litellm_logging_obj": logging},
            hosted,
        )
    )
    data = {**request("llama3"), "litellm_call_id": "c1"}
    data["metadata"] = {"model_info": {"node": "mini", "jarvis_model": "llama3"}}
    node_failed = litellm.APIConnectionError(
        message="refused", llm_provider="ollama_chat", model="x"
    )
    assert failure(homelab, data, node_failed).detail == (
        "node 'mini' failed to serve 'llama3': it could not be reached (connection refused or "
        "lost); its fallback 'gpt-4o' failed too: the provider refused the gateway's key "
        "(HTTP 401); check its api_key"
    )


def test_when_every_node_failed_its_health_check_they_are_all_tried(
    homelab: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As LiteLLM's own health filter does: a check that fails everywhere may be the checks'
    fault (a busy gateway), so no node is refused for it."""
    proxy = ModuleType("litellm.proxy.proxy_server")
    every = _HealthState({"llama3@mini", "llama3@ai-max"})
    proxy.llm_router = type("Router", (), {"health_state_cache": every})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "litellm.proxy.proxy_server", proxy)
    check = homelab.proxy_handler_instance.async_pre_call_check
    assert asyncio.run(check({"model_info": {"id": "llama3@mini"}}, None)) is None


# --- the answer watch: a node call held to its own timeout --------------------------------------


def watched(homelab: ModuleType, seconds: float, answer_after: float, *, retry_gap: float = 0.0):
    """The watch's verdict on a request whose router calls `llama3@mini` (timeout `seconds`),
    answering after `answer_after` s; with `retry_gap`, a first call fails at once and the
    router waits that long before its second."""
    deployment = {"model_info": {"id": "llama3@mini"}, "litellm_params": {"timeout": seconds}}

    async def router(watch: Any) -> str:
        if retry_gap:
            watch.begin(deployment)
            watch.end()
            await asyncio.sleep(retry_gap)
        watch.begin(deployment)
        await asyncio.sleep(answer_after)
        return "answer"

    async def request() -> Any:
        watch = homelab.AnswerWatch(homelab.proxy_handler_instance.table, "llama3", False)
        call = asyncio.ensure_future(router(watch))
        try:
            await watch.until_answered()
        except homelab.StreamCut as cut:
            call.cancel()
            return cut
        return await call

    return asyncio.run(request())


def test_an_answer_within_its_timeout_passes_the_watch(
    homelab: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(homelab, "WATCH_GRACE", 0.1)
    assert watched(homelab, 0.5, 0.2) == "answer"


def test_a_call_outliving_its_timeout_is_cut_naming_the_node(
    homelab: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(homelab, "WATCH_GRACE", 0.1)
    cut = watched(homelab, 0.2, 5.0)
    assert isinstance(cut, homelab.StreamCut)
    assert cut.message == (
        "node 'mini' failed to serve 'llama3': it did not finish sending its answer within "
        "0.2 s (timeout): it stalled or sends too slowly"
    )


def test_the_wait_between_two_attempts_is_no_call(
    homelab: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A router waiting to retry is not a node call: only each call's own time counts."""
    monkeypatch.setattr(homelab, "WATCH_GRACE", 0.1)
    monkeypatch.setattr(homelab, "WATCH_POLL", 0.05)
    assert watched(homelab, 0.4, 0.2, retry_gap=0.6) == "answer"


def test_the_proxy_hooks_share_one_watch_per_request(
    homelab: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the proxy calls them: the pre-call hook, then the moderation hook beside the router's
    call (a task made after the pre-call hook), which checks each deployment first."""
    monkeypatch.setattr(homelab, "WATCH_GRACE", 0.1)
    handler = homelab.proxy_handler_instance
    slow = {"model_info": {"id": "llama3@mini"}, "litellm_params": {"timeout": 0.2}}

    async def proxy(answer_after: float) -> Any:
        data = {"model": "llama3", "messages": [{"role": "user", "content": "hi"}]}
        data = await handler.async_pre_call_hook(None, None, data, "acompletion")

        async def router() -> str:
            await handler.async_pre_call_check(slow, None)
            await asyncio.sleep(answer_after)
            return "answer"

        call = asyncio.create_task(router())
        try:
            await handler.async_moderation_hook(data, None, "acompletion")
            return await call
        except homelab.StreamCut as cut:
            return cut.why
        finally:
            call.cancel()
            handler.slots.leave(data)

    assert asyncio.run(proxy(0.05)) == "answer"
    assert asyncio.run(proxy(5.0)).startswith("it did not finish sending its answer within 0.2 s")


def test_the_watch_never_holds_an_answer_back(
    homelab: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The moderation hook starts before the router's first call; it must return with the
    answer, not at its next look (a poll there once added up to a second to every request)."""
    monkeypatch.setattr(homelab, "WATCH_POLL", 30.0)
    handler = homelab.proxy_handler_instance
    deployment = {"model_info": {"id": "llama3@mini"}, "litellm_params": {"timeout": 45}}

    async def proxy() -> float:
        data = {"model": "llama3", "messages": [{"role": "user", "content": "hi"}]}
        data = await handler.async_pre_call_hook(None, None, data, "acompletion")

        async def router() -> None:
            await asyncio.sleep(0.05)  # routing, before the call begins
            await handler.async_pre_call_check(deployment, None)
            await asyncio.sleep(0.05)  # the node answers

        start = time.monotonic()
        call = asyncio.create_task(router())
        try:
            await asyncio.gather(handler.async_moderation_hook(data, None, "acompletion"), call)
        finally:
            handler.slots.leave(data)
        return time.monotonic() - start

    assert asyncio.run(proxy()) < 10.0
