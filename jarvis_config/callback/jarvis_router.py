"""Jarvis node routing for the stock LiteLLM proxy: honours the request field `node`.

Shipped beside the proxy's config.yaml by `jarvis-config build` and registered there as
`litellm_settings.callbacks: [jarvis_router.proxy_handler_instance]`. The proxy imports this
file from the config's folder, so it depends on nothing but LiteLLM and the standard library.

At import it reads `routes.json` from its own folder (the node routing table, format
`jarvis-routes/1`). Per request, in `async_pre_call_hook`, using dictionary look-ups only:
- no `node` field: the request is left alone;
- `"node": "NAME"` sends the request to the model group of that node's deployment;
  `"node": "role:ROLE"` to the group of the model's nodes with that role;
- an unknown node or role, or one that does not serve the requested model or alias, is refused
  with HTTP 400 naming the nodes that do;
- `node` is removed from the request, so it never reaches a runtime;
- under `node_pinning: strict` the request may not leave the pinned node(s): a node pin gets
  no fallbacks at all, a role pin only those to the role's other nodes, and a failure reaches
  the client as a 503 naming the node, the model and the cause in plain words (timed out,
  unreachable, failing, cooling down: never LiteLLM's own text, which may hold Python reprs or
  internal URLs). Under `prefer` the gateway's fallbacks move a pinned request to the model's
  other nodes;
- a pin to a node whose last background health check failed is not sent there: under strict it
  is answered 503 at once, under prefer it is sent unpinned (the router then avoids the node);
- a request that fails because every node able to serve it is cooling down gets a 503, not the
  router's 429: 429 stays for real rate limits.
Requests without a node pin keep to one node per conversation (`routing.affinity`, see the
section "conversation affinity" below): `async_filter_deployments` narrows the router's healthy
deployments of a model's group to the one the conversation's key ranks first.
A request over its model's parallel limit (this process's share of it, routes.json `queues`)
waits up to the model's queue time for a slot, then gets a 429 with a Retry-After; a declared
key over its rpm share gets a 429 whose Retry-After is the seconds until its minute frees.
It also hides the per-node and per-role groups from `/v1/models` (unless routes.json says
`list_pinned_models`), and lists only a key's own models to that key.

The same pin may be sent three ways, all checked alike: the field `node`, the header
`X-Jarvis-Node`, or a pinned model name `MODEL@NODE` / `MODEL@role:ROLE` (`llama3@mini`).

`user_api_key_auth` is the proxy's `general_settings.custom_auth`: it accepts the keys of
`gateway.keys` (read from the variables routes.json names) with their limits, answers 401 for
a missing or unknown key, and hands the master key (and, with a database, any other key) back
to LiteLLM's own checks. `async_pre_call_hook` then refuses models outside a key's list (403)
and requests using a capability the model does not declare (400).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import difflib
import hashlib
import hmac
import json
import math
import os
import re
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from litellm.exceptions import APIConnectionError, BadRequestError, RateLimitError, Timeout
from litellm.integrations.custom_logger import CustomLogger

FORMAT = "jarvis-routes/1"
ROUTES_PATH = Path(__file__).with_name("routes.json")
FIELD = "node"
PIN_FIELD_SOURCE = f"field {FIELD!r}"  # where a pin came from, as messages name it
ROLE_PREFIX = "role:"
PIN_KEY = "jarvis_pin"  # in the request's metadata: what the pin chose, for the failure hook
KEY_META = "jarvis_key"  # in a declared key's auth metadata: the key's name
PIN_HEADER = "x-jarvis-node"
PIN_SEPARATOR = "@"  # model names cannot hold it, so `MODEL@TARGET` is always a pin
# What a request asks of a model, by the capability the model must declare for it.
CAPABILITY_USES = {
    "tools": "tools (function calling)",
    "vision": "image input",
    "json_mode": "JSON mode (response_format)",
    "reasoning": "reasoning_effort",
}


class PinError(ValueError):
    """The request's `node` cannot be honoured; the message is for the client."""


class Unsupported(ValueError):
    """The request uses a capability its model does not declare; the message is for the client."""


class KeyRefusal(PermissionError):
    """A declared key asked for a model outside its list; the message is for the client."""


class RoutingTable:
    """The parts of routes.json a request needs, as plain dictionaries."""

    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise ValueError(
                f"routes.json has format {data.get('format')!r}; this callback "
                f"reads {FORMAT!r}: rebuild the gateway with jarvis-config"
            )
        self.pinning: str = data["pinning"]
        self.nodes: dict[str, Any] = data["nodes"]
        self.roles: dict[str, list[str]] = data["roles"]
        self.models: dict[str, Any] = data["models"]
        self.aliases: dict[str, str] = data["aliases"]
        self.groups: dict[str, Any] = data["groups"]
        self.hidden = frozenset(
            name for name, group in data["groups"].items() if group["kind"] in ("node", "role")
        )
        # Groups a strict pin may not leave at all: one node's group. (A role's group keeps
        # its fallbacks, which under strict pinning lead only to the role's own nodes.)
        self.sealed = frozenset(
            name for name, group in data["groups"].items() if group["kind"] == "node"
        )
        self.pin_header: str = data.get("pin_header", PIN_HEADER)
        self.list_pinned: bool = data.get("list_pinned_models", False)
        self.capabilities: dict[str, list[str]] = data.get("capabilities", {})
        self.keys: dict[str, Any] = data.get("keys", {})
        self.affinity = Affinity(data)
        self.queues: dict[str, Any] = data.get("queues", {})
        self.streams: dict[str, Any] = data.get("streams", {})

    @classmethod
    def from_file(cls, path: Path) -> RoutingTable:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f"{path} is missing: the jarvis_router callback reads the "
                "routing table beside it; rebuild with jarvis-config"
            ) from exc
        return cls(json.loads(text))

    def pin(
        self, requested: str, target: str, source: str = PIN_FIELD_SOURCE
    ) -> tuple[str, dict[str, Any]]:
        """The model group a request for `requested` pinned to `target` (sent in `source`)
        goes to, and what the pin chose; PinError when it cannot be honoured."""
        model = self.aliases.get(requested, requested)
        route = self.models.get(model)
        if route is None:
            known = ", ".join(sorted([*self.models, *self.aliases]))
            raise PinError(
                f"cannot pin {requested!r} to a node: no such model or alias; known: {known}"
            )
        if target.startswith(ROLE_PREFIX):
            kind, name, table, names = (
                "role",
                target[len(ROLE_PREFIX) :],
                route["roles"],
                self.roles,
            )
        else:
            kind, name, table, names = "node", target, route["nodes"], self.nodes
        group = table.get(name)
        if group is None:
            raise PinError(self._refusal(requested, model, route, (kind, name, source), names))
        if kind == "node":
            where = f"node {name!r}"
        else:
            nodes = sorted(n for n in route["nodes"] if name in self.nodes[n]["roles"])
            where = f"the nodes with role {name!r} ({', '.join(nodes)})"
        return group, {"node": target, "model": model, "where": where}

    def _refusal(
        self,
        requested: str,
        model: str,
        route: dict[str, Any],
        pinned: tuple[str, str, str],
        names: dict[str, Any],
    ) -> str:
        kind, name, source = pinned
        if name in names:
            head = f"{kind} {name!r} does not serve {requested!r}"
        else:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            head = f"unknown {kind} {name!r} in {source}{hint}"
        return f"{head}; {self.served_by(model, route)}"

    def check_key(self, key: str | None, requested: str) -> None:
        """KeyRefusal when key `key` may not call `requested` (a model, alias or group)."""
        allowed = self.keys.get(key, {}).get("models") if key else None
        if allowed is None:
            return
        model = self.model_of(requested)
        if model is not None and model in {self.model_of(name) for name in allowed}:
            return
        raise KeyRefusal(
            f"key {key!r} may not use model {requested!r}; it may use: {', '.join(allowed)}"
        )

    def model_of(self, name: str) -> str | None:
        """The model a request for `name` reaches: a model, an alias or one of its groups."""
        name = self.aliases.get(name, name)
        if name in self.models:
            return name
        group = self.groups.get(name)
        return str(group["model"]) if group else None

    def check_capabilities(self, requested: str, data: dict[str, Any]) -> None:
        """Unsupported when the request uses what the model does not declare."""
        model = self.model_of(requested)
        declared = self.capabilities.get(model) if model else None
        if declared is None:
            return
        missing = [name for name in needed_capabilities(data) if name not in declared]
        if missing:
            uses = ", ".join(CAPABILITY_USES[name] for name in missing)
            has = ", ".join(declared) or "none"
            raise Unsupported(
                f"model {model!r} does not support {uses} (its capabilities: {has}); "
                "choose a model that does, or leave that part out of the request"
            )

    def listed(self, name: str, key: str | None) -> bool:
        """Whether /v1/models shows `name` to `key` (None: the master key or a virtual key)."""
        if name in self.hidden and not self.list_pinned:
            return False
        allowed = self.keys.get(key, {}).get("models") if key else None
        if allowed is None:
            return True
        return self.model_of(name) in {self.model_of(a) for a in allowed}

    def served_by(self, model: str, route: dict[str, Any]) -> str:
        """Which nodes serve `model`, for messages: 'nodes serving 'llama3': ai-max (gpu), ...'."""
        if not route["nodes"]:
            return (
                f"{model!r} is served by provider {route['provider']!r}, not by a node; "
                f"send it without {FIELD!r}"
            )
        nodes = ", ".join(
            f"{node} ({', '.join(self.nodes[node]['roles']) or 'no roles'})"
            for node in sorted(route["nodes"])
        )
        roles = ", ".join(ROLE_PREFIX + role for role in sorted(route["roles"]))
        return f"nodes serving {model!r}: {nodes}" + (f"; or pin a role: {roles}" if roles else "")


def take_node(data: dict[str, Any]) -> Any:
    """Remove the `node` field from the request body and return it (None when absent)."""
    return data.pop(FIELD, None)


def take_pin(data: dict[str, Any], header: str) -> tuple[Any, str]:
    """The request's pin, from the field `node`, the pin header or a pinned model name
    (`llama3@mini`, whose model part stays in the request), and where it came from for
    messages; None when it has none. The field and a pinned name are removed. Two sources
    naming different targets: PinError."""
    found: dict[str, Any] = {}
    field_value = take_node(data)
    if field_value is not None:
        found[PIN_FIELD_SOURCE] = field_value
    headers = (data.get("proxy_server_request") or {}).get("headers") or {}
    sent = next((v for k, v in headers.items() if str(k).lower() == header), None)
    if sent:
        found[f"header {header!r}"] = sent.strip()
    model = data.get("model")
    if isinstance(model, str) and PIN_SEPARATOR in model:
        data["model"], found["model name"] = model.split(PIN_SEPARATOR, 1)
    if len({json.dumps(v) for v in found.values()}) > 1:
        named = ", ".join(f"{value!r} in the {where}" for where, value in found.items())
        raise PinError(f"the request pins to different places: {named}; pin one way only")
    where = next(iter(found), PIN_FIELD_SOURCE)
    return next(iter(found.values()), None), (
        f"model name {model!r}" if where == "model name" else where
    )


def needed_capabilities(data: dict[str, Any]) -> list[str]:
    """The declarable capabilities a request uses, in CAPABILITY_USES order."""
    format_type = (data.get("response_format") or {}).get("type")
    uses = {
        "tools": bool(data.get("tools") or data.get("functions")),
        "vision": any(_has_image(m) for m in data.get("messages") or ()),
        "json_mode": format_type in ("json_object", "json_schema"),
        "reasoning": data.get("reasoning_effort") is not None,
    }
    return [name for name in CAPABILITY_USES if uses[name]]


def _has_image(message: Any) -> bool:
    content = message.get("content") if isinstance(message, dict) else None
    return isinstance(content, list) and any(
        isinstance(part, dict) and part.get("type") == "image_url" for part in content
    )


def _status(exc: Exception) -> int:
    """The client's own errors (4xx) keep their status; anything else means the pinned node
    could not serve the request (unreachable, timed out, failing, cooling down): 503. LiteLLM
    reports an unreachable OpenAI-API runtime as a 500, an unreachable Ollama as a connection
    error, and a node left alone after failures as a 429, which is kept for rate limits."""
    status = getattr(exc, "status_code", None)
    if (
        isinstance(status, int)
        and 400 <= status < 500
        and not isinstance(exc, Timeout)
        and not cooling_down(exc)
        and not unreadable_answer(exc)
    ):
        return status
    return 503


# A Python object's repr inside an upstream error ("ssl:<ssl.SSLContext object at 0x7f..>",
# as aiohttp words a failed connection) says nothing to a client: it is dropped.
_REPR = re.compile(r"\s*(?:\w+:)?<[\w.]+ object at 0x[0-9a-fA-F]+>")


def cooling_down(exc: Exception) -> bool:
    """True for the router's 'every deployment of the group is in cooldown' (a 429)."""
    return bool(getattr(exc, "all_deployments_in_cooldown", False)) or (
        "in cooldown" in str(exc) and getattr(exc, "status_code", None) == 429
    )


# The cause of a node's failure in plain words, by the kind of exception LiteLLM raised. Its
# own text is never passed on: it may hold Python reprs, internal URLs or upstream bodies.
CAUSES: tuple[tuple[type[BaseException], str], ...] = (
    (Timeout, "it did not answer in time (timed out)"),
    (APIConnectionError, "it could not be reached (connection refused or lost)"),
)
RATE_LIMITED = "it is rate limited"
UNHEALTHY = "it failed its last health check; try again later"
UNREADABLE = ("json", "decode", "parse", "malformed", "expecting")
UNREADABLE_ANSWER = "it sent an answer the gateway could not read (malformed response)"
# LiteLLM 1.108.7 words a runtime's answer it could not parse (JSON of the wrong shape) as a
# 400 from the provider, carrying the Python error: the node's fault, not the request's.
PARSE_FAILURES = (
    "got unexpected response from",
    "keyerror",
    "typeerror",
    "attributeerror",
    "indexerror",
    "jsondecodeerror",
    "validationerror",
)
BROKEN_OFF = ("payload is not completed", "peer closed", "incomplete", "transferencodingerror")


def cause(exc: Exception) -> str:
    """Why a node could not serve a request, for the client. A request the runtime refused
    as invalid keeps the runtime's first line: it is about the request, not the node."""
    if isinstance(exc, StreamCut):
        return exc.why
    if SKIPPED_UNHEALTHY in str(exc):
        return UNHEALTHY
    if unreadable_answer(exc):
        return UNREADABLE_ANSWER
    if isinstance(exc, BadRequestError):
        return _REPR.sub("", (str(exc).strip().splitlines() or [type(exc).__name__])[0])
    if cooling_down(exc):
        seconds = getattr(exc, "cooldown_time", None)
        wait = f" for up to {seconds:g} s" if isinstance(seconds, (int, float)) else ""
        return f"it failed recently and is left alone{wait} (cooldown); try again later"
    if isinstance(exc, RateLimitError) or getattr(exc, "status_code", None) == 429:
        return RATE_LIMITED  # a configured limit (rpm, tpm, max_parallel_requests) is reached
    text = str(exc).lower()
    if any(words in text for words in BROKEN_OFF):
        return "the connection was lost before its answer was complete"
    if any(word in text for word in UNREADABLE):
        return UNREADABLE_ANSWER
    for kind, words in CAUSES:
        if isinstance(exc, kind):
            return words
    if "connect" in text:
        return CAUSES[1][1]
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 500:
        return f"its runtime answered with an error (HTTP {status})"
    return f"it failed ({type(exc).__name__})"


def strict_failure(pin: dict[str, Any], why: str) -> str:
    return (
        f"{pin['where']} failed to serve {pin['model']!r} and node_pinning is strict, so "
        f"the request was not sent to another node: {why}"
    )


async def failed_health_check(deployment: str) -> bool:
    """True when the proxy's last background health check of `deployment` failed (and is
    recent). A pin to such a node need not wait for its timeout: a frozen node would hold a
    strict pin for the whole answer timeout, and a prefer pin as long before its fallback."""
    return deployment in await unhealthy_deployments()


def proxy_router() -> Any:
    """The proxy's router (None before the proxy made it: in tests, say)."""
    return getattr(sys.modules.get("litellm.proxy.proxy_server"), "llm_router", None)


def failure_message(request: dict[str, Any], exc: Exception) -> str | None:
    """The client's message for a request a node failed, in plain words; None to leave the
    proxy's own (a hosted provider's failure, say)."""
    metadata = request.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    pin = metadata.get(PIN_KEY)
    if pin and pin.get("strict"):
        return strict_failure(pin, cause(exc))
    if cooling_down(exc):
        # Every node that could serve the request is down: that is no rate limit.
        return f"no node can serve {request.get('model')!r} right now: {cause(exc)}"
    if isinstance(exc, StreamCut):
        return exc.message
    info = metadata.get("model_info")
    if _status(exc) == 503 and isinstance(info, dict) and info.get("node"):
        head = f"node {info['node']!r} failed to serve {info.get('jarvis_model')!r}: {cause(exc)}"
        return head + fallbacks_tried(request)
    return None


class JarvisRouter(CustomLogger):
    """The LiteLLM callback: node pinning in the pre-call hook, strict failures explained."""

    def __init__(self, table: RoutingTable) -> None:
        super().__init__()
        self.table = table
        self.slots = ParallelSlots(table)
        self.key_windows = KeyWindows()

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any]:
        self.key_windows.admit(self.table.keys, _key_name(user_api_key_dict))
        data = await self._pin_request(user_api_key_dict, data)
        model = self.table.model_of(str(data.get("model") or ""))
        if model is not None:
            await self.slots.enter(model, data)
            if _value(call_type) in WATCHED_CALLS:
                WATCH.set(AnswerWatch(self.table, model, bool(data.get("stream"))))
        return data

    async def _pin_request(self, user_api_key_dict: Any, data: dict[str, Any]) -> dict[str, Any]:
        target, source = self._screen(user_api_key_dict, data)
        if target is None:
            return data
        if not isinstance(target, str) or not target:
            raise HTTPException(
                status_code=400,
                detail=f"field {FIELD!r} must be a node name "
                f"or '{ROLE_PREFIX}ROLE', not {target!r}",
            )
        try:
            group, pin = self.table.pin(str(data.get("model") or ""), target, source)
        except PinError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        pin["strict"] = self.table.pinning == "strict"
        if group in self.table.sealed and await failed_health_check(group):
            if pin["strict"]:
                raise HTTPException(
                    status_code=503, detail=strict_failure(pin, UNHEALTHY)
                ) from None
            return data  # prefer: unpinned, so the router's health filter picks another node
        data["model"] = group
        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            metadata = data["metadata"] = {}
        metadata[PIN_KEY] = pin
        if pin["strict"] and group in self.table.sealed:
            data["disable_fallbacks"] = True
        return data

    def _screen(self, user_api_key_dict: Any, data: dict[str, Any]) -> tuple[Any, str]:
        """The request's pin (from field, header or name), once its key may call the model
        and the model has what the request uses; else the HTTP error for the client."""
        try:
            pin = take_pin(data, self.table.pin_header)
            self.table.check_key(_key_name(user_api_key_dict), str(data.get("model") or ""))
            self.table.check_capabilities(str(data.get("model") or ""), data)
        except KeyRefusal as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from None
        except (PinError, Unsupported) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return pin

    async def async_post_call_failure_hook(
        self,
        request_data: dict[str, Any],
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
    ) -> Any:
        self.slots.leave(request_data)
        if isinstance(original_exception, HTTPException):
            return None
        detail = failure_message(request_data, original_exception)
        if detail is None:
            return None
        # A stream that broke off after its first chunk can no longer change status: the proxy
        # ends it with an error event carrying the exception's `message`, so that is plain too.
        # Before its first chunk, the proxy answers with the exception's own status: a node's
        # failure is a 503 there as well (LiteLLM says 400 for an answer it could not parse).
        status = _status(original_exception)
        original_exception.message = detail  # type: ignore[attr-defined]
        with contextlib.suppress(AttributeError):
            original_exception.status_code = status  # type: ignore[attr-defined]
        return HTTPException(status_code=status, detail=detail)

    async def log_failure_fallback_event(
        self, original_model_group: str, kwargs: dict[str, Any], original_exception: Exception
    ) -> None:
        remember_hosted_failure(self.table, kwargs.get("model"), kwargs)

    async def async_pre_call_check(self, deployment: dict[str, Any], parent_otel_span: Any) -> None:
        await refuse_unhealthy(self.table, deployment)
        watch = WATCH.get()
        if watch is not None:
            watch.begin(deployment)

    async def async_post_call_failure_deployment_hook(
        self,
        request_data: Any,
        exception: Exception,
        call_type: Any,
        fallback_depth: int | None = None,
    ) -> None:
        watch = WATCH.get()
        if watch is not None:
            watch.end()

    async def async_moderation_hook(
        self, data: dict[str, Any], user_api_key_dict: Any, call_type: Any
    ) -> None:
        """Runs beside the request's node calls (the proxy gathers both): ends the request
        when a call outlives its own timeout, which aiohttp alone does not enforce."""
        watch = WATCH.get()
        if watch is not None and _value(call_type) in WATCHED_CALLS:
            await watch.until_answered()

    async def async_filter_deployments(
        self,
        model: str,
        healthy_deployments: list[Any],
        messages: Any,
        request_kwargs: dict[str, Any] | None = None,
        parent_otel_span: Any = None,
    ) -> list[Any]:
        return self.table.affinity.narrow(model, healthy_deployments, messages, request_kwargs)

    async def async_post_call_success_hook(
        self, data: dict[str, Any], user_api_key_dict: Any, response: Any
    ) -> Any:
        self.slots.leave(data)
        return None

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict[str, Any]
    ) -> AsyncGenerator[Any, None]:
        """A stream passes its guard (time, chunk and gap budgets; an empty or unreadable
        answer is the node's failure) and holds its parallel slot until it ends, fails or its
        client leaves."""
        guard = StreamGuard(self.table, request_data, response)
        try:
            async for chunk in guard.chunks(response):
                yield chunk
        finally:
            self.slots.leave(request_data)

    async def async_filter_listed_models(
        self, user_api_key_dict: Any, model_names: Any
    ) -> list[str]:
        key = _key_name(user_api_key_dict)
        return [name for name in model_names if self.table.listed(name, key)]


def _key_name(user_api_key_dict: Any) -> str | None:
    """The name of the declared key a request was authenticated with (None for others)."""
    metadata = getattr(user_api_key_dict, "metadata", None)
    name = metadata.get(KEY_META) if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


# --- conversation affinity: the turns of one conversation on one node (routing.affinity) --------
#
# The router hands every callback the deployments of a group it still finds healthy (background
# health checks and cooldowns already applied) through `async_filter_deployments`. For a group
# of several nodes (a model's own, or a role's) the callback keeps only the deployment that the
# conversation's key ranks first by rendezvous (highest random weight) hashing. The ranking is a
# pure function of the key and the deployment ids, so every worker and replica picks the same
# node without sharing any state; when that node drops out of the healthy list, the next node of
# the conversation's ranking takes its turns, and the first node gets them back once it is
# healthy again. The group itself is unchanged, so its fallbacks are too.

SESSION_FIELD = "session_id"  # LiteLLM's session id in a request's metadata
GENERATED_SESSION = "litellm_session_id_generated"  # set when LiteLLM made the id up


class Affinity:
    """Which groups keep conversations on one node, and how they recognise a conversation."""

    def __init__(self, data: dict[str, Any]) -> None:
        models: dict[str, Any] = data["models"]
        self.header: str = data.get("session_header", "x-jarvis-session")
        modes = {name: entry.get("affinity", "off") for name, entry in models.items()}
        by_group = {
            name: modes.get(group["model"], "off")
            for name, group in data["groups"].items()
            if group["kind"] in ("model", "role")
        }
        by_alias = {alias: modes.get(model, "off") for alias, model in data["aliases"].items()}
        # group (or alias) name -> "prefix" or "session"; absent: nothing to keep
        both = {**by_group, **by_alias}
        self.modes = {name: mode for name, mode in both.items() if mode != "off"}

    def narrow(
        self, group: str, deployments: list[Any], messages: Any, kwargs: dict[str, Any] | None
    ) -> list[Any]:
        """`deployments` narrowed to the conversation's node, or as given when the group keeps
        no conversations or the request belongs to none."""
        mode = self.modes.get(group)
        if mode is None or len(deployments) < 2:
            return deployments
        kwargs = kwargs or {}
        key = conversation_key(mode, messages, kwargs, self.header)
        if key is None:
            return deployments
        return [first_choice(key, _candidates(deployments, kwargs))]


def conversation_key(mode: str, messages: Any, kwargs: dict[str, Any], header: str) -> int | None:
    """64 bits naming the request's conversation: from its session id, else (prefix mode) from
    its opening; None when it has neither."""
    session = session_id(kwargs, header)
    if session is not None:
        return _digest(b"session\0" + session.encode())
    if mode != "prefix":
        return None
    text = opening(messages)
    return None if text is None else _digest(b"opening\0" + text)


def session_id(kwargs: dict[str, Any], header: str) -> str | None:
    """The session id a client sent: the header `X-Jarvis-Session`, else LiteLLM's own (the
    header `x-litellm-session-id`, another `x-...-session-id` header, or `metadata.session_id`
    in the body), never one LiteLLM generated."""
    headers = (kwargs.get("proxy_server_request") or {}).get("headers") or {}
    sent = headers.get(header)
    if isinstance(sent, str) and sent.strip():
        return sent.strip()
    metadata = kwargs.get("metadata")
    if not isinstance(metadata, dict) or metadata.get(GENERATED_SESSION):
        return None
    value = metadata.get(SESSION_FIELD)
    return str(value) if value not in (None, "") else None


# Of a long message only its length and both ends are hashed: enough to tell conversations
# apart (a clash only puts two on one node) at a bounded cost, whatever a RAG prompt holds.
ENDS = 512


def opening(messages: Any) -> bytes | None:
    """The stable opening of a conversation: its messages up to its first user message (the
    system prompt and the first question), which every later turn repeats unchanged."""
    if not isinstance(messages, list):
        return None
    parts: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            return None
        role, content = str(message.get("role")), message.get("content")
        text = content if isinstance(content, str) else json.dumps(content, sort_keys=True)
        if len(text) > 2 * ENDS:
            text = f"{text[:ENDS]}\x1d{len(text)}\x1d{text[-ENDS:]}"
        parts.append(f"{role}\x1f{text}")
        if role == "user":
            return "\x1e".join(parts).encode()
    return None


def _candidates(deployments: list[Any], kwargs: dict[str, Any]) -> list[Any]:
    """The deployments the router may still pick for this attempt: those it was told to skip
    (already failed this request) are left out, unless that leaves none."""
    skipped = kwargs.get("_excluded_deployment_ids") or kwargs.get("_retry_skipped_deployment_ids")
    if not skipped:
        return deployments
    kept = [d for d in deployments if deployment_id(d) not in skipped]
    return kept or deployments


def first_choice(key: int, deployments: list[Any]) -> Any:
    """The deployment `key` ranks first: the highest mix of the key and its id (rendezvous)."""
    return max(deployments, key=lambda d: rank(key, deployment_id(d)))


_MASK = (1 << 64) - 1
_ID_BITS: dict[str, int] = {}  # deployment id -> its 64 bits, made once per id


def rank(key: int, ident: str) -> int:
    bits = _ID_BITS.get(ident)
    if bits is None:
        bits = _ID_BITS[ident] = _digest(ident.encode())
    return _mix(key ^ bits)


def _digest(data: bytes) -> int:
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


def _mix(value: int) -> int:
    """SplitMix64's finaliser: every bit of the result depends on every bit of `value`."""
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def deployment_id(deployment: Any) -> str:
    info = deployment.get("model_info") if isinstance(deployment, dict) else None
    return str((info or {}).get("id") or "")


# --- parallel slots and key windows: limits that wait, and 429s that say how long -----------

QUEUE_KEY = "jarvis_slot"  # in the request's metadata: the token of the slot it holds
KEY_WINDOW = 60.0  # seconds: a key's rpm counts the requests of the last minute


def too_many(detail: str, seconds: float) -> HTTPException:
    wait = max(1, math.ceil(seconds))
    return HTTPException(status_code=429, detail=detail, headers={"Retry-After": str(wait)})


class ModelSlots:
    """One model's share of parallel slots in this process (each deployment's share, times
    its deployments), and the requests waiting for one."""

    def __init__(self, entry: dict[str, Any], deployments: int) -> None:
        self.size = int(entry["slots"]) * max(1, deployments)
        self.seconds = float(entry["seconds"])
        self.hold = float(entry.get("hold_seconds", 3600.0))
        self.free = asyncio.Semaphore(self.size)
        self.waiting = 0
        self.answer_seconds = 1.0  # how long a slot was held lately (moving average)

    def retry_after(self, ahead: int) -> float:
        """Seconds until a slot is likely free for a request with `ahead` others waiting
        before it: a slot's recent holding time for each round of `size` requests."""
        return self.answer_seconds * (1 + ahead // self.size)

    def held_for(self, seconds: float) -> None:
        self.answer_seconds = 0.8 * self.answer_seconds + 0.2 * seconds


class ParallelSlots:
    """Per model, at most its share of requests in flight from this process; a request over
    it waits up to the model's queue time for a slot, then is answered 429 with Retry-After.
    A slot is taken in the pre-call hook and given back exactly once (the token is popped)
    by whichever comes first: the success hook, the failure hook, or the end of a stream."""

    def __init__(self, table: RoutingTable) -> None:
        self.models = {
            name: ModelSlots(entry, len(table.models.get(name, {}).get("deployments", ())))
            for name, entry in table.queues.items()
        }
        # token -> (model, when taken, streamed)
        self.held: dict[str, tuple[str, float, bool]] = {}

    async def enter(self, model: str, data: dict[str, Any]) -> None:
        slots = self.models.get(model)
        if slots is None:
            return
        self._free_stale(time.monotonic())
        if slots.free.locked():
            slots.waiting += 1
            try:
                await asyncio.wait_for(slots.free.acquire(), timeout=slots.seconds)
            except TimeoutError:
                wait = slots.retry_after(slots.waiting - 1)  # the others still waiting
                raise too_many(self._refusal(model, slots), wait) from None
            finally:
                slots.waiting -= 1
        else:
            await slots.free.acquire()
        token = uuid.uuid4().hex
        self.held[token] = (model, time.monotonic(), bool(data.get("stream")))
        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            metadata = data["metadata"] = {}
        metadata[QUEUE_KEY] = token

    def leave(self, data: Any) -> None:
        metadata = data.get("metadata") if isinstance(data, dict) else None
        token = metadata.pop(QUEUE_KEY, None) if isinstance(metadata, dict) else None
        entry = self.held.pop(token, None) if isinstance(token, str) else None
        if entry is not None:
            model, taken, _ = entry
            slots = self.models[model]
            slots.held_for(time.monotonic() - taken)
            slots.free.release()

    def _free_stale(self, now: float) -> None:
        """Backstop: a non-streamed request cannot hold a slot past its last try's timeout,
        so a slot held longer lost its release (a route without the hooks) and is freed."""
        stale = [
            token
            for token, (model, taken, streamed) in self.held.items()
            if not streamed and now - taken > self.models[model].hold
        ]
        for token in stale:
            model, _, _ = self.held.pop(token)
            self.models[model].free.release()

    @staticmethod
    def _refusal(model: str, slots: ModelSlots) -> str:
        return (
            f"model {model!r} is busy: all {slots.size} of this gateway process's parallel "
            f"slots stayed in use for the {slots.seconds:g} s a request may queue "
            "(limits.max_parallel_requests, limits.queue_seconds); retry after the "
            "Retry-After seconds"
        )


class KeyWindows:
    """A declared key's rpm (this process's share) over a sliding minute; a request over it
    is answered 429 with Retry-After: the seconds until its oldest request leaves the minute."""

    def __init__(self) -> None:
        self.seen: dict[str, collections.deque[float]] = {}

    def admit(self, keys: dict[str, Any], name: str | None) -> None:
        limit = keys.get(name, {}).get("rpm") if name else None
        if not isinstance(limit, int):
            return
        now = time.monotonic()
        window = self.seen.setdefault(str(name), collections.deque())
        while window and now - window[0] >= KEY_WINDOW:
            window.popleft()
        if len(window) >= limit:
            wait = KEY_WINDOW - (now - window[0])
            raise too_many(
                f"key {name!r} has made its {limit} requests of this minute on this gateway "
                f"process (gateway.keys.{name}.rpm, shared among the gateway's processes); "
                f"retry in {max(1, math.ceil(wait))} s",
                wait,
            )
        window.append(now)


# --- custom auth: the keys of gateway.keys, and a 401 for any other key ---------------------------


def find_key(keys: dict[str, Any], api_key: str) -> str | None:
    """The name of the declared key whose variable holds `api_key` (compared in constant
    time); None when none does. A variable that is unset or empty matches nothing."""
    found = None
    for name, entry in keys.items():
        value = os.environ.get(entry["env"], "")
        if value and hmac.compare_digest(value.encode(), api_key.encode()):
            found = name
    return found


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message)


def _identity(name: str, entry: dict[str, Any]) -> Any:
    """What LiteLLM knows a declared key by: its name (the rate limiter counts by `api_key`,
    so that is the name too, never the key) and its limits."""
    from litellm.proxy._types import UserAPIKeyAuth

    return UserAPIKeyAuth(
        api_key=f"jarvis-key-{name}",
        key_alias=name,
        key_name=name,
        metadata={KEY_META: name},
        rpm_limit=None,  # the callback's KeyWindows counts it, with a truthful Retry-After
        tpm_limit=entry.get("tpm"),
        max_parallel_requests=entry.get("max_parallel_requests"),
    )


async def user_api_key_auth(request: Any, api_key: str) -> Any:
    """`general_settings.custom_auth`: a declared key's identity; None to let LiteLLM check
    the master key (and, with a database, virtual keys); otherwise a 401."""
    from litellm.proxy._types import LiteLLMRoutes
    from litellm.proxy.proxy_server import master_key, prisma_client

    if not api_key:
        if request.url.path in LiteLLMRoutes.public_routes.value:
            return None  # LiteLLM's own public pages need no key
        raise _unauthorized(
            "missing API key: send 'Authorization: Bearer KEY' with the gateway's master "
            "key or one of its keys (gateway.keys)"
        )
    name = find_key(_AUTH_TABLE.keys, api_key)
    if name is not None:
        return _identity(name, _AUTH_TABLE.keys[name])
    is_master = isinstance(master_key, str) and hmac.compare_digest(
        master_key.encode(), api_key.encode()
    )
    if is_master or prisma_client is not None:
        return None
    raise _unauthorized(
        "invalid API key: it is neither the gateway's master key nor one of its keys (gateway.keys)"
    )


# --- fallbacks: a node that failed its health check is not called again ------------------------

SKIPPED_UNHEALTHY = "skipped: failed its last health check"


async def refuse_unhealthy(table: RoutingTable, deployment: dict[str, Any]) -> None:
    """The router's last check before it calls a deployment (every attempt, fallbacks too).
    A node's deployment whose last health check failed is refused at once, while another node
    of its model passed its own (when all failed, they are tried, as LiteLLM's health filter
    does). The model's fallback chain starts with each of its nodes' groups, so without this a
    request whose node froze would wait out its timeout and then be sent to the same node again
    (LiteLLM does not count the node's group as tried, and a group of one deployment is never
    filtered by health): 90 s instead of 45."""
    ident = str((deployment.get("model_info") or {}).get("id") or "")
    group = table.groups.get(ident)
    if not group or group.get("kind") != "node":
        return
    unhealthy = await unhealthy_deployments()
    siblings = table.models.get(group["model"], {}).get("nodes", {}).values()
    if ident in unhealthy and any(other not in unhealthy for other in siblings):
        raise APIConnectionError(
            message=f"node {group['node']!r} {SKIPPED_UNHEALTHY}", llm_provider="", model=ident
        )


async def unhealthy_deployments() -> frozenset[str]:
    """The deployments whose last background health check failed (none when unknown)."""
    health = getattr(proxy_router(), "health_state_cache", None)
    if health is None:
        return frozenset()
    try:
        return frozenset(await health.async_get_unhealthy_deployment_ids())
    except Exception:  # no health state is no verdict
        return frozenset()


# --- streams: a time and size budget, and an answer that carries nothing ------------------------


class StreamCut(Exception):
    """A stream the gateway ended because its node misbehaved; `message` is for the client
    (the proxy sends it as the stream's error event, or as a 503 before the first chunk)."""

    status_code = 503

    def __init__(self, where: str, model: str, why: str) -> None:
        self.why = why
        self.message = f"{where} failed to serve {model!r}: {why}"
        super().__init__(self.message)

    @classmethod
    def at(cls, node: str | None, model: str, why: str) -> StreamCut:
        """The cut of `node`'s answer (`the node` when it is not known)."""
        return cls(f"node {node!r}" if node else "the node", model, why)


def unreadable_answer(exc: Exception) -> bool:
    """True when LiteLLM could not parse what the runtime sent (it reports that as a 400)."""
    if not isinstance(exc, BadRequestError) or isinstance(exc, StreamCut):
        return False
    text = str(exc).lower()
    return any(words in text for words in PARSE_FAILURES)


# The last failure of a hosted fallback, per request (LiteLLM's call id): when every target
# fails, the router raises the first failure (a node's), and the fallback's own is lost.
HOSTED_FAILURES: OrderedDict[str, tuple[str, Exception]] = OrderedDict()
HOSTED_FAILURES_KEPT = 512  # requests whose fallback failed, until their failure hook reads them


def remember_hosted_failure(table: RoutingTable, target: Any, kwargs: dict[str, Any]) -> None:
    """Keep what a failed fallback hop to a hosted model (one without nodes) failed with: the
    call's logging object holds the hop's exception (LiteLLM passes the hook the first)."""
    route = table.models.get(target) if isinstance(target, str) else None
    details = getattr(kwargs.get("litellm_logging_obj"), "model_call_details", None) or {}
    exc = details.get("exception")
    call = kwargs.get("litellm_call_id") or details.get("litellm_call_id")
    if route is None or route["nodes"] or not isinstance(exc, Exception) or not call:
        return
    HOSTED_FAILURES[str(call)] = (target, exc)
    HOSTED_FAILURES.move_to_end(str(call))
    while len(HOSTED_FAILURES) > HOSTED_FAILURES_KEPT:
        HOSTED_FAILURES.popitem(last=False)


def fallbacks_tried(request: dict[str, Any]) -> str:
    """'; its fallback 'gpt-4o' failed too: ...' when a declared fallback failed for this
    request; '' otherwise."""
    found = HOSTED_FAILURES.pop(str(request.get("litellm_call_id") or ""), None)
    if found is None:
        return ""
    model, exc = found
    return f"; its fallback {model!r} failed too: {hosted_cause(exc)}"


def hosted_cause(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        return f"the provider refused the gateway's key (HTTP {status}); check its api_key"
    if cooling_down(exc):
        return "it failed recently and is left alone (cooldown)"
    if isinstance(status, int):
        return f"the provider answered with an error (HTTP {status})"
    return cause(exc)


def _has_content(chunk: Any) -> bool:
    """Whether a streamed chunk carries any of the answer: text, a tool call, reasoning."""
    for choice in getattr(chunk, "choices", None) or ():
        delta = getattr(choice, "delta", None)
        if delta is None:
            continue
        for field in ("content", "tool_calls", "function_call", "reasoning_content"):
            if getattr(delta, field, None):
                return True
    return False


# What a stream's failover sends again: the request as the client wrote it, nothing the proxy
# added to it (its metadata, logging objects, keys).
RESENT_PARAMS = frozenset(
    {
        "messages",
        "stream",
        "stream_options",
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "tools",
        "tool_choice",
        "response_format",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "n",
        "user",
        "reasoning_effort",
    }
)


class StreamGuard:
    """Ends a stream that runs past `routing.stream_max_seconds`, sends more chunks than the
    request's max_tokens (or its model's context window) allows, or ends without carrying any
    answer (LiteLLM 1.108.7 skips lines it cannot parse, so a malformed stream would read as an
    empty success). Chunks before the first one with content are held back, so an empty or
    unreadable stream is answered with a 503 instead of a 200."""

    def __init__(self, table: RoutingTable, request: dict[str, Any], response: Any) -> None:
        streams = table.streams
        self.table = table
        self.request = request
        self.response = response
        self.seconds = float(streams.get("max_seconds") or 0) or None
        model = table.model_of(str(request.get("model") or "")) or ""
        self.model = model
        tokens = request.get("max_tokens") or request.get("max_completion_tokens")
        budget = tokens if isinstance(tokens, int) else streams.get("max_chunks", {}).get(model)
        self.max_chunks = budget + int(streams.get("chunk_slack", 0)) if budget else None
        self.gap = float(streams.get("gap_seconds") or 0) or None
        self.deadline = time.monotonic() + self.seconds if self.seconds else None
        self.sent = 0
        hidden = getattr(response, "_hidden_params", None) or {}
        self.tried = {str(hidden.get("model_id") or "")}  # deployments (= node groups) tried

    async def chunks(self, response: Any) -> Any:
        held: list[Any] | None = []
        iterator = response.__aiter__()
        while (chunk := await self.next_chunk(iterator)) is not None:
            if held is None:
                yield chunk
                continue
            held.append(chunk)
            if _has_content(chunk):
                for early in held:
                    yield early
                held = None
        if held is not None:
            await self.count_failure()
            again = await self.failover()
            if again is None:
                raise self.cut(UNREADABLE_ANSWER)
            async for chunk in again.chunks(again.response):
                yield chunk

    async def failover(self) -> StreamGuard | None:
        """The same request streamed by the next target of its group's fallback chain (the
        model's other nodes, then its declared fallbacks), for a stream that carried nothing;
        None when the request may not leave its node or no target answers. The proxy's own
        fallbacks are over by then: LiteLLM took the empty stream for a success."""
        router = proxy_router()
        group = self.table.groups.get(str(self.request.get("model") or ""))
        if router is None or group is None or self.request.get("disable_fallbacks"):
            return None
        params = {k: v for k, v in self.request.items() if k in RESENT_PARAMS}
        for target in group["fallbacks"]:
            if target in self.tried:
                continue
            self.tried.add(target)
            try:
                response = await router.acompletion(model=target, **params)
            except Exception:  # that target failed too: the next one
                continue
            again = StreamGuard(self.table, {**self.request, "model": target}, response)
            again.tried = self.tried
            return again
        return None

    async def next_chunk(self, iterator: Any) -> Any:
        """The stream's next chunk, None at its end; StreamCut past a budget."""
        left = self.deadline - time.monotonic() if self.deadline else None
        bounds = [bound for bound in (left, self.gap) if bound is not None]
        wait = min(bounds) if bounds else None
        try:
            if left is not None and left <= 0:
                raise TimeoutError
            chunk = await asyncio.wait_for(iterator.__anext__(), wait)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            if left is not None and wait == left:
                raise self.cut(
                    f"it was still sending after {self.seconds:g} s (stream_max_seconds), "
                    "so the gateway ended the answer"
                ) from None
            raise self.cut(
                f"it sent no complete chunk for {self.gap:g} s (stream_timeout): it stalled "
                "or sends too slowly"
            ) from None
        self.sent += 1
        if self.max_chunks is not None and self.sent > self.max_chunks:
            raise self.cut(
                f"it sent more than the {self.max_chunks} chunks the request's token "
                "budget allows, so the gateway ended the answer"
            )
        return chunk

    def node(self) -> str | None:
        """The node whose deployment is streaming (from the stream, else the request)."""
        hidden = getattr(self.response, "_hidden_params", None) or {}
        group = self.table.groups.get(str(hidden.get("model_id") or ""))
        if group and group.get("node"):
            return str(group["node"])
        metadata = self.request.get("metadata")
        info = metadata.get("model_info") if isinstance(metadata, dict) else None
        return str(info["node"]) if isinstance(info, dict) and info.get("node") else None

    def cut(self, why: str) -> StreamCut:
        """The error ending the stream (a strict pin's failure hook words it as such)."""
        return StreamCut.at(self.node(), self.model, why)

    async def count_failure(self) -> None:
        """Count the failure toward the node's cooldown: an answer that carried nothing is
        the node's fault."""
        hidden = getattr(self.response, "_hidden_params", None) or {}
        count_node_failure(str(hidden.get("model_id") or ""), UNREADABLE_ANSWER)


def count_node_failure(deployment: str, why: str) -> None:
    """Count a failure the gateway found (LiteLLM saw none) toward the deployment's cooldown,
    as LiteLLM counts the failures it sees."""
    router = proxy_router()
    if router is None or not deployment:
        return
    failure = APIConnectionError(message=why, llm_provider="", model=deployment)
    failure.status_code = 500
    kwargs = {
        "exception": failure,
        "litellm_params": {
            "model_info": {"id": deployment},
            "metadata": {"model_group": deployment, "deployment": deployment},
        },
    }
    try:
        router.deployment_callback_on_failure(kwargs, None, None, None)
    except Exception:  # counting is best effort: the client's 503 stands either way
        return


# --- answers that never finish: each node call is held to its own timeout ----------------------

# The request's watch, set in the pre-call hook: the proxy runs the moderation hook and the
# router's call in two tasks made after it, and both see the same watch through this variable.
WATCH: ContextVar[AnswerWatch | None] = ContextVar("jarvis_answer_watch", default=None)
WATCH_GRACE = 5.0  # seconds past a call's timeout: aiohttp's own read timeout ends a silent node
WATCH_POLL = 1.0  # seconds between two looks at whether another attempt began
WATCH_NO_CALL = 10.0  # seconds without any node call after which the watch stops looking
# Chat completions only: the calls whose every attempt the router checks first (the watch
# learns of a node call there), and the only ones a node streams.
WATCHED_CALLS = frozenset({"acompletion", "completion"})
DEFAULT_CALL_SECONDS = 600.0  # LiteLLM's own request timeout, when neither sets one


class AnswerWatch:
    """Ends a request whose node call outlives its timeout. LiteLLM gives aiohttp the timeout
    per read, so a node that sends its answer a byte at a time (or, streaming, dribbles before
    its first whole chunk) was never timed out and held the client as long as the client
    waited. A call may take `timeout` for a whole answer, `stream_timeout` for a stream's first
    chunk (the router returns the stream once it has it), plus a grace; past that the request
    is answered 503 naming the node, and the failure counts toward the node's cooldown."""

    __slots__ = ("began", "bound", "deployment", "model", "started", "stream", "table", "task")

    def __init__(self, table: RoutingTable, model: str, stream: bool) -> None:
        self.table = table
        self.model = model
        self.stream = stream
        self.task: asyncio.Task[Any] | None = None  # the task calling the nodes
        self.started = asyncio.Event()  # set once the first node call begins
        self.began: float | None = None  # when the call under way began
        self.bound = 0.0
        self.deployment = ""

    def begin(self, deployment: dict[str, Any]) -> None:
        """A node call starts (every attempt, fallbacks too), in the task that makes it."""
        self.task = asyncio.current_task()
        self.deployment = str((deployment.get("model_info") or {}).get("id") or "")
        self.bound = call_timeout(deployment, self.stream) + WATCH_GRACE
        self.began = time.monotonic()
        self.started.set()

    def end(self) -> None:
        """The call failed: the router may wait before its next attempt, which is no call."""
        self.began = None

    async def until_answered(self) -> None:
        """Returns as soon as the router has the answer (or gave up: its own error then
        reaches the client); raises StreamCut when a call outlives its bound. It always waits
        on the calling task itself, so an answer is never held back by the watch."""
        try:
            await asyncio.wait_for(self.started.wait(), WATCH_NO_CALL)
        except TimeoutError:
            return  # nothing to watch: the answer came without a node call
        while self.task is not None and not self.task.done():
            wait = WATCH_POLL  # between two attempts: the router's own wait, no deadline
            if self.began is not None:
                left = self.began + self.bound - time.monotonic()
                if left <= 0:
                    raise self.overdue()
                wait = min(left, WATCH_POLL)
            await asyncio.wait({self.task}, timeout=wait)

    def overdue(self) -> StreamCut:
        group = self.table.groups.get(self.deployment) or {}
        node = group.get("node")
        seconds = self.bound - WATCH_GRACE
        what = "its first chunk" if self.stream else "its answer"
        why = (
            f"it did not finish sending {what} within {seconds:g} s "
            f"({'stream_timeout' if self.stream else 'timeout'}): it stalled or sends too slowly"
        )
        count_node_failure(self.deployment, why)
        return StreamCut.at(node, self.model, why)


def _value(call_type: Any) -> str:
    """A call type as the proxy names it, whether given as a string or as LiteLLM's enum."""
    return str(getattr(call_type, "value", call_type))


def call_timeout(deployment: dict[str, Any], stream: bool) -> float:
    """The seconds a call to `deployment` may take: its own timeout, else the router's."""
    name = "stream_timeout" if stream else "timeout"
    own = (deployment.get("litellm_params") or {}).get(name)
    if isinstance(own, (int, float)) and own > 0:
        return float(own)
    router_value = getattr(proxy_router(), name, None)
    if isinstance(router_value, (int, float)) and router_value > 0:
        return float(router_value)
    return DEFAULT_CALL_SECONDS


proxy_handler_instance = JarvisRouter(RoutingTable.from_file(ROUTES_PATH))
_AUTH_TABLE = proxy_handler_instance.table
