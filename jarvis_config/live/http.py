"""One small HTTP client for the probes: JSON over urllib, bounded by a deadline, every
failure turned into a `ProbeFailure` whose message names the cause in plain words.

Redirects are never followed: a probe carries a runtime's or the gateway's key, and a
runtime answering `302 Location: http://elsewhere/` would have it resend that key to another
origin (in clear text when https drops to http). A redirect is reported with where it points,
and the operator decides whether that address belongs in the mesh."""

from __future__ import annotations

import http.client
import json
import math
import socket
import time
import urllib.error
import urllib.request
from typing import Any


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer stays an answer (an HTTPError with its Location), never a new request."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# Probes talk to runtimes on the operator's network; a system proxy must not intercept them.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)
# How much of a redirect's Location a message quotes.
SHOWN_LOCATION = 200
MAX_BODY = 8 * 1024 * 1024
# No size, context window or count a runtime reports needs more digits than this; 2**53 has 16.
MAX_DIGITS = 18
# Nesting beyond this is no runtime's answer; Python's JSON reader would recurse until it fails.
MAX_DEPTH = 64
NO_ANSWER = "no answer within the timeout"


class ProbeFailure(Exception):
    """A request that got no usable answer; str() is the cause in plain words."""

    def __init__(self, cause: str, status: int | None = None, *, answered: bool = False) -> None:
        super().__init__(cause)
        self.status = status
        # The server answered, but not as asked (an HTTP error, not JSON, another shape).
        self.answered = answered or status is not None


def request_json(url: str, *, deadline: float, body: Any = None, key: str | None = None) -> Any:
    """GET (or POST `body` as JSON) and decode the JSON answer before `deadline`
    (a time.monotonic() value)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ProbeFailure(NO_ANSWER)
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json", "User-Agent": "jarvis-config"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with _OPENER.open(req, timeout=remaining) as reply:
            raw = _read(reply, deadline)
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise ProbeFailure(
                redirected(exc.code, exc.headers.get("Location")), exc.code
            ) from None
        raise ProbeFailure(f"HTTP {exc.code} {exc.reason}".strip(), exc.code) from None
    except (urllib.error.URLError, OSError) as exc:
        raise ProbeFailure(plain_cause(exc)) from None
    except http.client.HTTPException:
        raise ProbeFailure("the answer is not HTTP", answered=True) from None
    return decode_json(raw)


def decode_json(raw: bytes) -> Any:
    """A runtime's JSON, refused unless every number is finite and of sane length and the
    nesting is shallow: whatever reads the answer then meets only plain values."""
    if _depth(raw) > MAX_DEPTH:
        raise ProbeFailure(f"the answer is nested more than {MAX_DEPTH} levels deep", answered=True)
    try:
        return json.loads(raw, parse_constant=_no_constant, parse_int=_int, parse_float=_float)
    except ValueError as exc:
        cause = str(exc) if isinstance(exc, _BadNumber) else "the answer is not JSON"
        raise ProbeFailure(cause, answered=True) from None


class _BadNumber(ValueError):
    """A number in an answer that no runtime has a reason to send."""


def _no_constant(name: str) -> Any:
    raise _BadNumber(f"the answer holds {name}, which is not a JSON number")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _BadNumber(f"the answer holds a number of {len(text)} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber("the answer holds a number too large to represent")
    return value


def _depth(raw: bytes) -> int:
    """The deepest nesting of brackets and braces, counted on the bytes (strings included: an
    over-count only refuses what no runtime sends)."""
    depth = deepest = 0
    for byte in raw.translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def redirected(status: int, location: str | None) -> str:
    """A redirect in words: where it points, and that it was not followed."""
    where = "" if not location else f" to '{location[:SHOWN_LOCATION]}'"
    return (
        f"HTTP {status}: the answer redirects{where}, which is not followed (doctor never "
        "sends a key to an address the mesh does not name); put the address that answers "
        "in the mesh"
    )


def _read(reply: Any, deadline: float) -> bytes:
    """The body, read in pieces so a server trickling bytes is still bounded by the deadline."""
    chunks: list[bytes] = []
    size = 0
    while piece := reply.read(65536):
        chunks.append(piece)
        size += len(piece)
        if size > MAX_BODY:
            raise ProbeFailure("the answer is too large")
        if time.monotonic() > deadline:
            raise ProbeFailure("no complete answer within the timeout")
    return b"".join(chunks)


def plain_cause(exc: BaseException) -> str:
    """A network error in words an operator can act on (no Python reprs)."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return NO_ANSWER
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    if isinstance(reason, ConnectionResetError):
        return "the connection was reset"
    if isinstance(reason, socket.gaierror):
        return "the address does not resolve"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror[0].lower() + reason.strerror[1:]
    return str(reason) or type(reason).__name__
