"""Allow `python -m jarvis_config`: the same click group as the console script."""

from __future__ import annotations

from jarvis_config.cli import main

main()
