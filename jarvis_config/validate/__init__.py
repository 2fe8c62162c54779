"""Stage 2, validate: the JSON Schema (`schema`, through jsonschema), then the semantic rules
(`semantics`, `hostile`), every problem in one run; `codes` catalogues the problem codes.
`pipeline` runs them in order."""
