"""`jarvis-config init`: write a commented starter config with the schema beside it."""

from __future__ import annotations

from pathlib import Path

from jarvis_config import resources
from jarvis_config.outcome import echo
from jarvis_config.write import write_file


def init(path: Path) -> int:
    from jarvis_config.render.templating import render_template

    # The comments name the file as the user gave it, so the next commands copy and paste.
    starter = render_template("init/jarvis.yaml.j2", file=path.as_posix())
    write_file(path, starter.encode("utf-8"))
    # The starter's modeline points editors at a schema file beside it.
    schema = path.parent / resources.SCHEMA_FILE
    if not schema.exists() and not schema.is_symlink():
        write_file(schema, resources.schema_text().encode("utf-8"))
        echo(f"wrote {schema}")
    echo(f"wrote {path}; next: jarvis-config validate {path}")
    return 0
