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

import difflib
import hmac
import json
import os
import re
import sys
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
BROKEN_OFF = ("payload is not completed", "peer closed", "incomplete", "transferencodingerror")


def cause(exc: Exception) -> str:
    """Why a node could not serve a request, for the client. A request the runtime refused
    as invalid keeps the runtime's first line: it is about the request, not the node."""
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
        return "it sent an answer the gateway could not read (malformed response)"
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
    proxy = sys.modules.get("litellm.proxy.proxy_server")
    health = getattr(getattr(proxy, "llm_router", None), "health_state_cache", None)
    if health is None:
        return False
    try:
        unhealthy = await health.async_get_unhealthy_deployment_ids()
    except Exception:  # no health state is no verdict: send the request
        return False
    return deployment in unhealthy


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
    info = metadata.get("model_info")
    if _status(exc) == 503 and isinstance(info, dict) and info.get("node"):
        return f"node {info['node']!r} failed to serve {info.get('jarvis_model')!r}: {cause(exc)}"
    return None


class JarvisRouter(CustomLogger):
    """The LiteLLM callback: node pinning in the pre-call hook, strict failures explained."""

    def __init__(self, table: RoutingTable) -> None:
        super().__init__()
        self.table = table

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any]:
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
        if isinstance(original_exception, HTTPException):
            return None
        detail = failure_message(request_data, original_exception)
        if detail is None:
            return None
        # A stream that broke off after its first chunk can no longer change status: the proxy
        # ends it with an error event carrying the exception's `message`, so that is plain too.
        original_exception.message = detail  # type: ignore[attr-defined]
        return HTTPException(status_code=_status(original_exception), detail=detail)

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
        rpm_limit=entry.get("rpm"),
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


proxy_handler_instance = JarvisRouter(RoutingTable.from_file(ROUTES_PATH))
_AUTH_TABLE = proxy_handler_instance.table
