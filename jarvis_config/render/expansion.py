"""Stage 4, render: each output format's own expansion syntax, and how a value from the mesh
is written so that the program reading the file takes it as written.

A value reaches several formats, and each expands something different; an escape fit for one
is no escape in another (compose's `$$` leaves Kubernetes' `$(VAR)` alone). One function per
format; the renderers call the one of the file they write, for every value from the mesh.

- compose files, Swarm stack: `$VAR`, `${VAR}`, `${VAR:-x}` in any string value; `$` is
  doubled (`$$` reads as `$`).
- Kubernetes container `command`, `args`, `env[].value`: the kubelet replaces `$(VAR)` with
  the container's variable, Secrets included; `$` is doubled (`$$` reads as `$`).
- LiteLLM `config.yaml`: a string starting `os.environ/` becomes that variable's value, with
  no escape; such a value is refused.
- nginx.conf: `$var` in most directives, and whitespace, `;`, braces and quotes end a token;
  only plain tokens (generated names, numbers) are written.
- shell (`sh -c`, `CMD-SHELL`, the init container): one quoted word (`shlex.quote`).
- `.env.example`: compose reads `NAME=value` lines, `#` starts a comment; names are
  `[A-Za-z_][A-Za-z0-9_]*`, comments one line.
docs/hardening.md holds the same table.

Validation refuses what cannot be escaped (`litellm-env-ref`, `control-character`); these
functions are the renderers' own defence, so an unvalidated mesh cannot slip through either.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from jarvis_config.errors import RenderError

LITELLM_ENV_PREFIX = "os.environ/"
NGINX_TOKEN = re.compile(r"[A-Za-z0-9._:\[\]-]+")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")  # at most 128, as validation says
LINE_BREAKS = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def compose(text: str) -> str:
    """A string value of a compose file or Swarm stack: compose interpolates `$VAR` and
    `${VAR}` and reads `$$` as one `$`."""
    return text.replace("$", "$$")


def kubernetes(text: str) -> str:
    """A container's command, args or env value: the kubelet replaces `$(VAR)` with the
    container's variable (Secrets included) and reads `$$` as one `$` (a lone `$` stays)."""
    return text.replace("$", "$$")


def litellm(text: str) -> str:
    """A value of the proxy's config: the proxy reads a string starting `os.environ/` as the
    variable's value, and has no escape for it."""
    if text.startswith(LITELLM_ENV_PREFIX):
        raise RenderError(
            f"the value {text[:60]!r} would be read by the LiteLLM proxy as an environment "
            "variable; only api_key and master_key may read the environment"
        )
    return text


def litellm_data(value: Any) -> Any:
    """`litellm` on every string of a value (a params entry: a string, a list, a mapping)."""
    if isinstance(value, str):
        return litellm(value)
    if isinstance(value, list):
        return [litellm_data(item) for item in value]
    if isinstance(value, dict):
        return {key: litellm_data(item) for key, item in value.items()}
    return value


def litellm_secret(var: str) -> str:
    """The proxy's reference to an environment variable, for the fields that read one."""
    return f"{LITELLM_ENV_PREFIX}{env_name(var)}"


def nginx(text: str) -> str:
    """A token of nginx.conf (a host, a port): nginx expands `$var` and splits on spaces, `;`,
    braces and quotes, so only plain tokens are written."""
    if NGINX_TOKEN.fullmatch(text) is None:
        raise RenderError(f"{text[:60]!r} cannot be written into nginx.conf as one token")
    return text


def shell(text: str) -> str:
    """One word of a shell command line, whatever it holds."""
    return shlex.quote(text)


def env_name(name: str) -> str:
    """A variable name of `.env.example` (and of any reference to one)."""
    if ENV_NAME.fullmatch(name) is None:
        raise RenderError(f"{name[:60]!r} is not an environment variable name")
    return name


def env_comment(text: str) -> str:
    """A comment line of `.env.example`: a line break would end the comment and start a
    `NAME=value` line that compose reads."""
    if LINE_BREAKS.search(text):
        raise RenderError(f"the comment {text[:60]!r} holds a line break")
    return text
