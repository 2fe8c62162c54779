"""Allow `python -m jarvis_config`."""

from __future__ import annotations

import sys

from jarvis_config.entry import main

sys.exit(main())
