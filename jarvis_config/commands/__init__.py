"""The command layer: one module per CLI command, each a function returning an exit code.

`cli.py` parses options and calls these; they run the pipeline (`jarvis_config.pipeline`) or a
review module (`jarvis_config.review`), print results to stdout and problems to stderr, and raise
`JarvisConfigError` for the failures `cli.run` turns into exit codes. Modules are imported when
their command runs, so `validate` never pays for rendering or the review modules.
"""
