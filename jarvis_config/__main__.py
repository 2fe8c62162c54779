"""Allow `python -m jarvis_config`."""

from __future__ import annotations

from jarvis_config.cli import main

main()
