"""jarvis-config: compile a declarative inference-mesh description into what the mesh runs on.

The pipeline, one module per stage:
load -> validate (schema, semantics) -> model -> render -> write.
"""

from __future__ import annotations

__version__ = "0.1.0"
