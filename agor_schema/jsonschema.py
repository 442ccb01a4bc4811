"""JSON Schema of the DSL for editors (yaml-language-server), from the pydantic models.

It depends only on the package, so it ships as package data (`agorschema.schema.json`, next
to this module; a test keeps it equal to `dsl_json_schema_text()`): `compile` copies that
file instead of asking pydantic for the schema in every run.
"""

from __future__ import annotations

import json
from pathlib import Path

from agor_schema.dialects import DIALECT_NAMES

SHIPPED = Path(__file__).with_name("agorschema.schema.json")

PER_DIALECT = {
    "type": "object",
    "properties": {name: {} for name in DIALECT_NAMES},
    "additionalProperties": False,
    "description": "A different value for each dialect.",
}


def dsl_json_schema() -> dict:
    """The model's JSON Schema, widened for the shorthands the YAML accepts."""
    from agor_schema.spec.models import SchemaSpec

    schema = SchemaSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "agorschema schema file"
    defs = schema["$defs"]
    table = defs["TableSpec"]["properties"]
    table["columns"]["additionalProperties"] = {
        "anyOf": [{"$ref": "#/$defs/ColumnSpec"},
                  {"type": "string", "description": "Shorthand: a nullable column of this type."}]
    }
    table["indexes"]["additionalProperties"] = {
        "anyOf": [{"$ref": "#/$defs/IndexSpec"},
                  {"type": "array", "items": {"type": "string"}, "description": "Columns."}]
    }
    table["checks"]["additionalProperties"] = {
        "anyOf": [{"type": "string"}, {"$ref": "#/$defs/CheckSpec"}]
    }
    schema["properties"]["enums"]["additionalProperties"] = {
        "anyOf": [{"$ref": "#/$defs/EnumSpec"},
                  {"type": "array", "items": defs["EnumSpec"]["properties"]["values"]["items"],
                   "description": "Shorthand: the values."}]
    }
    expression = [{"type": "string"}, {"$ref": "#/$defs/Verbatim"}, PER_DIALECT]
    index = defs["IndexSpec"]["properties"]
    index["where"] = {"anyOf": [*expression, {"type": "null"}]}
    index["expressions"]["items"] = {"anyOf": expression}
    defs["IndexPart"]["properties"]["expression"] = {"anyOf": [*expression, {"type": "null"}]}
    defs["GeneratedSpec"]["properties"]["as"] = {"anyOf": expression}
    column = defs["ColumnSpec"]["properties"]
    column["generated"] = {"anyOf": [*expression, {"$ref": "#/$defs/GeneratedSpec"},
                                     {"type": "null"}],
                           "description": column["generated"].get("description", "")}
    index["parts"]["items"] = {"anyOf": [{"type": "string", "description": "A column."},
                                         {"$ref": "#/$defs/IndexPart"}]}
    columns_list = {"type": "array", "items": {"type": "string"}}
    table["unique"]["items"] = {"anyOf": [columns_list, {"$ref": "#/$defs/UniqueSpec"}]}
    table["primary_key"] = {"anyOf": [columns_list, {"$ref": "#/$defs/PrimaryKeySpec"},
                                      {"type": "null"}],
                            "description": table["primary_key"].get("description", "")}
    table["checks"]["additionalProperties"]["anyOf"].insert(1, {"$ref": "#/$defs/Verbatim"})
    for key in ("sql", *DIALECT_NAMES):
        defs["CheckSpec"]["properties"][key] = {"anyOf": [{"type": "string"},
                                                          {"$ref": "#/$defs/Verbatim"},
                                                          {"type": "null"}]}
    return schema


def dsl_json_schema_text() -> str:
    return json.dumps(dsl_json_schema(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def shipped_json_schema_text() -> str:
    """`dsl_json_schema_text()` as shipped with the package (computed if the file is absent)."""
    try:
        return SHIPPED.read_text(encoding="utf-8")
    except OSError:
        return dsl_json_schema_text()


if __name__ == "__main__":  # python -m agor_schema.jsonschema: refresh the shipped file
    SHIPPED.write_text(dsl_json_schema_text(), encoding="utf-8")
