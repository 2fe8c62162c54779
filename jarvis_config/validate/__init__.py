"""Stage 2, validate: the JSON Schema (`schema`), then the semantic rules (`semantics`), every
problem in one run; `wording` holds the message helpers they share. `pipeline.validate` runs
them in order."""
