"""`jarvis-config try`: a mesh served on this machine by the stock LiteLLM proxy, its nodes'
runtimes replaced by stand-ins on 127.0.0.1 (`jarvis_config.standin`).

A consumer of the pipeline, like the review commands: `loopback` copies a mesh and rewrites
its addresses for loopback (the tests use the same copy), `proxy` finds, starts and stops the
proxy, `session` puts them together for the command.
"""
