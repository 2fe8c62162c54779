"""The command line: a thin click layer, and the console script (`jarvis-config`,
`python -m jarvis_config`). Each command parses its options and calls one function in
`jarvis_config.commands.<name>` that returns an exit code; errors become messages and exit codes
in `outcome.finish` alone (through `run`). This is the only module that imports click.

Exit codes: 0 ok; 1 invalid config, failed build or drift; 2 usage error; 3 internal error (a
bug in this tool); 130 interrupted. Command modules are imported when their command runs, so
`--help` and `validate` never pay for rendering or the review modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import click

from jarvis_config import __version__
from jarvis_config.outcome import EXIT_INTERRUPTED, echo, finish
from jarvis_config.render import TARGETS
from jarvis_config.report import REPORTERS

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(REPORTERS)),
    default="text",
    show_default=True,
    help="How problems are printed (github: annotations).",
)
STRICT = click.option(
    "--strict", is_flag=True, help="Treat warnings (such as unset environment variables) as errors."
)
CONFIG = click.argument("path", type=click.Path(path_type=Path))


class RegistryChoice(click.Choice[str]):
    """The keys of a registry as choices, read from its module when click first needs them
    (parsing or --help of that command), so the CLI does not import every review module."""

    def __init__(self, module: str, registry: str) -> None:
        self._registry = (module, registry)
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        module, name = self._registry
        return tuple(getattr(importlib.import_module(module), name))

    @choices.setter
    def choices(self, _: object) -> None:
        """The registry alone decides."""


def run(ctx: click.Context, action: Callable[[], int]) -> None:
    """Run a command; `outcome.finish` turns its errors into messages and exit codes."""
    ctx.exit(finish(action, traceback=bool(ctx.find_root().params.get("traceback"))))


class Group(click.Group):
    """The command group; a Ctrl-C before a command could answer it (while the command's
    modules import) exits 130 as it does inside the command, not with click's "Aborted!"."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="jarvis-config")
@click.option("--traceback", is_flag=True, help="Show Python tracebacks (debugging this tool).")
def main(traceback: bool) -> None:
    """Compile a Jarvis inference-mesh config into what the mesh runs on: the LiteLLM gateway
    config with its node routing table (litellm), docker-compose stacks and a Swarm stack
    (compose), and Kubernetes manifests (kubernetes).

    \b
    Example:
      jarvis-config validate examples/homelab
      jarvis-config build examples/homelab -o out/
    """


@main.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@FORMAT
@STRICT
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Check configs (files or folders of split files), reporting every problem.

    Each PATH is one mesh: a YAML file, or a folder whose YAML files are merged.

    \b
    Example:
      jarvis-config validate examples/homelab/jarvis.yaml --format github
    """
    from jarvis_config.commands.validate import validate as command

    run(ctx, lambda: command(list(paths), fmt=fmt, strict=strict))


@main.command(context_settings=CONTEXT)
@click.pass_context
def schema(ctx: click.Context) -> None:
    """Print the JSON Schema (draft 2020-12) of the config format, for editors and CI.

    \b
    Example:
      jarvis-config schema > jarvis-config.schema.json
    """
    from jarvis_config.commands.schema import print_schema

    run(ctx, print_schema)


@main.command(context_settings=CONTEXT)
@click.argument("path", type=click.Path(path_type=Path), default="jarvis.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_context
def init(ctx: click.Context, path: Path, force: bool) -> None:
    """Write a commented starter config (with the schema modeline for editors).

    \b
    Example:
      jarvis-config init mesh/jarvis.yaml
    """
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; pass --force to overwrite it")
    from jarvis_config.commands.init import init as command

    run(ctx, lambda: command(path))


@main.command(context_settings=CONTEXT)
@CONFIG
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Output folder; replaced atomically as a whole.",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    type=click.Choice(tuple(TARGETS)),
    help="Render only this target (repeatable). Default: all.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 with a short diff when OUT is stale (CI drift check).",
)
@click.option("--force", is_flag=True, help="Replace OUT even if jarvis-config did not write it.")
@FORMAT
@STRICT
@click.pass_context
def build(
    ctx: click.Context,
    path: Path,
    out: Path,
    targets: tuple[str, ...],
    check: bool,
    force: bool,
    fmt: str,
    strict: bool,
) -> None:
    """Render the targets into OUT: the LiteLLM gateway config and routing table, the
    docker-compose and Swarm stacks, the Kubernetes manifests.

    \b
    Example:
      jarvis-config build examples/homelab -o out/
      jarvis-config build examples/homelab -o out/ --check   # in CI
    """
    if check and force:
        raise click.UsageError("--check writes nothing; it cannot be combined with --force")
    from jarvis_config.commands.build import BuildOptions
    from jarvis_config.commands.build import build as command

    options = BuildOptions(
        path=path, out=out, targets=targets, check=check, force=force, fmt=fmt, strict=strict
    )
    run(ctx, lambda: command(options))


@main.command(context_settings=CONTEXT)
@CONFIG
@click.option(
    "--format",
    "fmt",
    type=RegistryChoice("jarvis_config.commands.routes", "FORMATS"),
    default="text",
    show_default=True,
    help="json: routes.json itself.",
)
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Deprecated: --format json.")
@click.pass_context
def routes(ctx: click.Context, path: Path, fmt: str, as_json: bool) -> None:
    """Print the node routing table: model or alias -> nodes, deployment ids, fallbacks.

    \b
    Example:
      jarvis-config routes examples/homelab
      jarvis-config routes examples/homelab --format json
    """
    from jarvis_config.commands.routes import DEPRECATED_JSON
    from jarvis_config.commands.routes import routes as command

    if as_json:
        click.echo(DEPRECATED_JSON, err=True)
    run(ctx, lambda: command(path, fmt="json" if as_json else fmt))


@main.command(context_settings=CONTEXT)
@CONFIG
@click.argument("model")
@click.option("--node", help="The request's node field: a node name or role:ROLE.")
@click.option(
    "--format",
    "fmt",
    type=RegistryChoice("jarvis_config.review.explain", "FORMATS"),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.pass_context
def explain(ctx: click.Context, path: Path, model: str, node: str | None, fmt: str) -> None:
    """Explain where a request for MODEL (a model or alias) goes, and why.

    Shows the alias resolution, the model group and its deployments (nodes, api bases), what
    the node field does under the pinning policy, the fallbacks and the limits. Exit 1 with
    the reason when the gateway would reject the request.

    \b
    Example:
      jarvis-config explain examples/homelab chat
      jarvis-config explain examples/homelab llama3 --node mini --format json
    """
    from jarvis_config.commands.explain import ExplainOptions
    from jarvis_config.commands.explain import explain as command

    options = ExplainOptions(path=path, model=model, node=node, fmt=fmt)
    run(ctx, lambda: command(options))


@main.command(context_settings=CONTEXT)
@CONFIG
@click.argument("new", required=False, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    help="Compare PATH with this already built output folder.",
)
@click.option(
    "--against",
    metavar="GITREV",
    help="Compare PATH with itself at this git revision (e.g. origin/main).",
)
@click.option(
    "--format",
    "fmt",
    type=RegistryChoice("jarvis_config.review.diff", "REPORT_FORMATS"),
    default="text",
    show_default=True,
    help="markdown: a pull-request comment.",
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything differs (as git diff).")
@click.pass_context
def diff(
    ctx: click.Context,
    path: Path,
    new: Path | None,
    out: Path | None,
    against: str | None,
    fmt: str,
    exit_code: bool,
) -> None:
    """Show what changes in the mesh, then in the rendered files.

    Compare PATH with NEW (two configs), with a built folder (-o OUT) or with PATH at a git
    revision (--against). Exit 0, or with --exit-code 1 when anything differs.

    \b
    Example:
      jarvis-config diff examples/homelab -o out/
      jarvis-config diff mesh/ --against origin/main --format markdown > comment.md
      jarvis-config diff old.yaml new.yaml --exit-code
    """
    if sum(x is not None for x in (new, out, against)) != 1:
        raise click.UsageError("give exactly one of NEW, -o OUT or --against GITREV")
    from jarvis_config.commands.diff import DiffOptions
    from jarvis_config.commands.diff import diff as command

    options = DiffOptions(
        path=path, new=new, out=out, against=against, fmt=fmt, exit_code=exit_code
    )
    run(ctx, lambda: command(options))


@main.command(context_settings=CONTEXT)
@CONFIG
@click.option(
    "--format",
    "fmt",
    type=RegistryChoice("jarvis_config.review.graph", "FORMATS"),
    default="mermaid",
    show_default=True,
    help="mermaid renders in pull requests; svg needs Graphviz's dot.",
)
@click.pass_context
def graph(ctx: click.Context, path: Path, fmt: str) -> None:
    """Draw the mesh: nodes, models by category, aliases and fallbacks.

    \b
    Example:
      jarvis-config graph examples/homelab --format svg > mesh.svg
      jarvis-config graph examples/homelab            # Mermaid, for a README or PR
    """
    from jarvis_config.commands.graph import graph as command

    run(ctx, lambda: command(path, fmt=fmt))


@main.command(context_settings=CONTEXT)
@CONFIG
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for the pages; replaced atomically as a whole.",
)
@click.option(
    "--gateway-url",
    metavar="URL",
    help="The gateway's address in the examples.  [default: http://localhost:PORT]",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when OUT is stale.")
@click.option("--force", is_flag=True, help="Replace OUT even if jarvis-config did not write it.")
@click.pass_context
def docs(
    ctx: click.Context, path: Path, out: Path, gateway_url: str | None, check: bool, force: bool
) -> None:
    """Write the mesh's user-facing pages: models, nodes, and how to call them.

    \b
    Example:
      jarvis-config docs examples/homelab -o site/ --gateway-url http://gateway.lan:4000
    """
    if check and force:
        raise click.UsageError("--check writes nothing; it cannot be combined with --force")
    from jarvis_config.commands.docs import DocsOptions
    from jarvis_config.commands.docs import docs as command

    options = DocsOptions(path=path, out=out, gateway_url=gateway_url, check=check, force=force)
    run(ctx, lambda: command(options))


TIMEOUT = click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=5.0,
    show_default=True,
    help="Seconds each probe may take; all probes run at once.",
)


@main.command(context_settings=CONTEXT)
@CONFIG
@click.option("--node", help="Probe only this node.")
@click.option(
    "--gateway", metavar="URL", help="Also check the gateway at URL (e.g. http://gw:4000)."
)
@click.option(
    "--gateway-key-env",
    metavar="VAR",
    help="Environment variable holding the gateway key.  [default: the mesh's master_key variable]",
)
@click.option(
    "--probe-completions",
    is_flag=True,
    help="Send one tiny completion per node and model (through the gateway too, with --gateway).",
)
@TIMEOUT
@FORMAT
@click.pass_context
def doctor(
    ctx: click.Context,
    path: Path,
    node: str | None,
    gateway: str | None,
    gateway_key_env: str | None,
    probe_completions: bool,
    timeout: float,
    fmt: str,
) -> None:
    """Compare the mesh with what runs: runtimes, their models, and the gateway.

    Exit 0 when everything matches, 1 on drift or anything down.

    \b
    Example:
      jarvis-config doctor examples/homelab
      jarvis-config doctor mesh/ --gateway http://gateway.lan:4000 --format github
    """
    if gateway_key_env is not None and gateway is None:
        raise click.UsageError("--gateway-key-env needs --gateway URL")
    from jarvis_config.commands.doctor import DoctorOptions
    from jarvis_config.commands.doctor import doctor as command

    options = DoctorOptions(
        path=path,
        node=node,
        gateway=gateway,
        gateway_key_env=gateway_key_env,
        probe_completions=probe_completions,
        timeout=timeout,
        fmt=fmt,
    )
    run(ctx, lambda: command(options))


@main.command("try", context_settings=CONTEXT)
@CONFIG
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="The gateway's port on 127.0.0.1.  [default: the mesh's gateway.port]",
)
@click.option(
    "--live",
    is_flag=True,
    help="Send to the mesh's real runtimes (their addresses) instead of stand-ins.",
)
@click.pass_context
def try_(ctx: click.Context, path: Path, port: int | None, live: bool) -> None:
    """Serve the mesh on this machine with the stock LiteLLM proxy, over stand-in runtimes
    that answer with their model and node, and print ready requests; Ctrl-C stops it all.

    Hosted providers answer with LiteLLM's mock responses, so no key is needed. Needs the
    proxy: pip install 'jarvis-config[proxy]'.

    \b
    Example:
      jarvis-config try examples/homelab
      jarvis-config try mesh/ --port 4400 --live
    """
    from jarvis_config.commands.try_ import TryOptions
    from jarvis_config.commands.try_ import try_ as command

    options = TryOptions(path=path, port=port, live=live)
    run(ctx, lambda: command(options))


@main.command(context_settings=CONTEXT)
@click.argument("urls", nargs=-1, required=True)
@click.option(
    "-o", "--out", type=click.Path(path_type=Path), help="Write the mesh here (default: stdout)."
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@TIMEOUT
@click.pass_context
def discover(
    ctx: click.Context, urls: tuple[str, ...], out: Path | None, force: bool, timeout: float
) -> None:
    """Write a starter mesh from what running runtimes serve (Ollama, vLLM, llama.cpp,
    OpenAI-compatible), with comments where you must decide.

    \b
    Example:
      jarvis-config discover http://ai-max.lan:11434 http://ai-max.lan:8000 -o mesh/jarvis.yaml
    """
    if out is not None and out.exists() and not force:
        raise click.UsageError(f"{out} exists; pass --force to overwrite it")
    from jarvis_config.commands.discover import DiscoverOptions
    from jarvis_config.commands.discover import discover as command

    options = DiscoverOptions(urls=urls, out=out, timeout=timeout)
    run(ctx, lambda: command(options))
