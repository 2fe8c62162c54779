"""Review: read a validated `Mesh` (and its rendered files) to explain, compare, draw and
document it. Nothing here imports click or the command layer; `jarvis_config.commands` calls in.
"""
