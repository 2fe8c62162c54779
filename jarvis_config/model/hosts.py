"""Stage 3 (shared): strict parsing of the hosts the gateway connects to.

A node address or the host of a provider URL is a host name, an IPv4 address or an IPv6
address (bracketed inside URLs). Anything looser lets a value smuggle another host or a line
into the rendered URLs: an IPv6 zone id (`fe80::1%eth0`), whitespace, control characters.
"""

from __future__ import annotations

import ipaddress
import re

HOSTNAME = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    r"(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?\Z"
)
# A name whose last label is a number (decimal or 0x...) is read as an IPv4 address by some
# resolvers (`0x7f.1` is 127.0.0.1 to inet_aton): it must then be a valid dotted quad.
_NUMERIC_LAST_LABEL = re.compile(r"(?:^|\.)(?:[0-9]+|0[xX][0-9A-Fa-f]*)\.?\Z")


def is_ip(text: str) -> bool:
    """An IPv4 address, or an IPv6 address (bare or bracketed) without a zone id."""
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if not inner or "%" in inner or any(ch in inner for ch in "[] \t\r\n"):
        return False
    try:
        address = ipaddress.ip_address(inner)
    except ValueError:
        return False
    return inner == text or address.version == 6


def host_fault(text: str, *, in_url: bool = False) -> str | None:
    """Why `text` is not a strict host, in words, or None. Inside a URL an IPv6 address
    must be bracketed."""
    if not text:
        return "is empty"
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        return "holds whitespace or a control character"
    if "%" in text:
        return "carries an IPv6 zone id (%...), which is not part of an address"
    if ":" in text or text.startswith("["):
        if in_url and not text.startswith("["):
            return "is an IPv6 address without brackets"
        return None if is_ip(text) else "is not a valid IPv6 address"
    if _NUMERIC_LAST_LABEL.search(text):
        return None if is_ip(text) else "is not a valid IPv4 address"
    return None if HOSTNAME.match(text) else "is not a valid host name"
