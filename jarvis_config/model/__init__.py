"""Stage 3, model: the typed, normalised mesh (`mesh`) and the routing plan derived from it
(`routing`). Renderers and review modules read these, never the raw YAML."""
