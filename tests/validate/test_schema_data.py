"""The schema gate's copy of the JSON Schema (`validate/schema_data.py`) is generated from
schemas/jarvis-config.schema.json, the one source: `pytest --update-golden` writes it, and this
test fails when the two differ. The copy is Python data so that `validate` of a valid mesh
loads it from bytecode, without importlib.resources and a JSON parse (docs/benchmarks.md)."""

from __future__ import annotations

import pprint
from typing import Any

from jarvis_config import resources
from jarvis_config.validate import schema_data
from tests.kit import ROOT

MODULE = ROOT / "jarvis_config" / "validate" / "schema_data.py"
HEADER = '''"""schemas/jarvis-config.schema.json as Python data, for the schema gate
(`validate.gate`): a valid mesh is proven valid without importlib.resources and a JSON parse.

Generated from the schema file by `pytest tests/validate/test_schema_data.py --update-golden`;
do not edit. jsonschema (invalid documents), `schema` and `init` read the file itself.
"""

from typing import Any

SCHEMA: dict[str, Any] = '''


def module_text(schema: dict[str, Any]) -> str:
    return HEADER + pprint.pformat(schema, indent=1, width=96, sort_dicts=False) + "\n"


def test_the_module_is_generated_from_the_schema_file(update_golden: bool) -> None:
    expected = module_text(resources.schema())
    if update_golden:
        MODULE.write_text(expected, encoding="utf-8")
    assert MODULE.read_text("utf-8") == expected, "run pytest --update-golden"


def test_the_module_holds_the_schema_file() -> None:
    assert resources.schema() == schema_data.SCHEMA
