"""JSON Schema (2020-12, as pydantic writes it) as the schema dialects of the published
documents: Swagger 2.0 (Power Automate's custom connectors), OpenAPI 3.0.3 (API
Management, ServiceNow, code generators) and OpenAPI 3.1 (JSON Schema itself, minus the
connector's annotations). A construct a dialect cannot say is refused, never dropped.

Development tooling only (dev/openapi.py); never imported by `function_app.py`.
"""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]


class SchemaConversionError(ValueError):
    """A schema uses a construct the target cannot express, or a label does not fit it."""


# JSON Schema keywords that mean the same in a Swagger 2.0 Schema Object.
_SWAGGER_KEYWORDS = frozenset(
    {
        "$ref", "format", "description", "default", "multipleOf", "maximum",
        "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength",
        "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties",
        "required", "enum", "type", "items", "allOf", "properties", "additionalProperties",
        "readOnly", "example",
    }
)  # fmt: skip
# Annotations Swagger 2.0 lacks (or Power Automate does not read) that carry nothing needed.
_SWAGGER_DROPPED = frozenset({"title", "writeOnly", "$schema"})


def to_swagger_schema(node: Any, where: str = "#") -> Any:
    """A JSON Schema (2020-12, as pydantic writes it) as a Swagger 2.0 Schema Object."""
    if not isinstance(node, dict):
        return node
    schema: JsonDict = dict(node)
    if "$ref" in schema:
        # Swagger ignores a reference's siblings.
        return {"$ref": schema["$ref"]}
    nullable = False
    for union in ("anyOf", "oneOf"):
        if union in schema:
            branches = [b for b in schema.pop(union) if b != {"type": "null"}]
            if len(branches) != 1:
                raise SchemaConversionError(f"{where}: only 'X or null' unions fit Swagger 2.0")
            nullable = True
            schema = {**branches[0], **schema}
    if isinstance(schema.get("type"), list):
        types = [t for t in schema["type"] if t != "null"]
        if len(types) != 1:
            raise SchemaConversionError(f"{where}: a type list must be one type or null")
        nullable = nullable or len(types) < len(schema["type"])
        schema["type"] = types[0]
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    if "examples" in schema:
        schema["example"] = schema.pop("examples")[0]
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    out: JsonDict = {}
    for key, value in schema.items():
        if key in _SWAGGER_DROPPED:
            continue
        if key.startswith("x-"):
            out[key] = value
        elif key not in _SWAGGER_KEYWORDS:
            raise SchemaConversionError(f"{where}: '{key}' has no Swagger 2.0 equivalent")
        elif key == "properties":
            out[key] = {
                n: to_swagger_schema(s, f"{where}/properties/{n}") for n, s in value.items()
            }
        elif key == "allOf":
            out[key] = [to_swagger_schema(s, f"{where}/allOf/{i}") for i, s in enumerate(value)]
        elif key in {"items", "additionalProperties"}:
            out[key] = to_swagger_schema(value, f"{where}/{key}")
        else:
            out[key] = value
    if nullable:
        out["x-nullable"] = True
    first = {key: out.pop(key) for key in ("type", "format") if key in out}
    return {**first, **out}


def to_openapi31_schema(node: Any) -> Any:
    """A JSON Schema as an OpenAPI 3.1 Schema Object: the same, minus the connector's keys."""
    if isinstance(node, list):
        return [to_openapi31_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: to_openapi31_schema(v) for k, v in node.items() if not k.startswith("x-ms-")}


# The Schema Object keywords of OpenAPI 3.0, a subset of JSON Schema draft 5 with its own
# 'nullable' and 'example'.
_OPENAPI30_KEYWORDS = frozenset(
    {
        "$ref", "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
        "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
        "uniqueItems", "maxProperties", "minProperties", "required", "enum", "type", "allOf",
        "oneOf", "anyOf", "not", "items", "properties", "additionalProperties", "description",
        "format", "default", "nullable", "readOnly", "writeOnly", "example", "deprecated",
    }
)  # fmt: skip


def _without_null(schema: JsonDict) -> tuple[JsonDict, bool]:
    """The schema with 'or null' taken out of its unions and type list, and whether it was
    there: OpenAPI 3.0 has no null type, only 'nullable'."""
    nullable = False
    for union in ("anyOf", "oneOf"):
        if union in schema:
            branches = [b for b in schema[union] if b != {"type": "null"}]
            nullable = nullable or len(branches) < len(schema[union])
            rest = {k: v for k, v in schema.items() if k != union}
            schema = {**branches[0], **rest} if len(branches) == 1 else {**rest, union: branches}
    if isinstance(schema.get("type"), list):
        types = [t for t in schema["type"] if t != "null"]
        if len(types) != 1:
            raise SchemaConversionError("a type list must be one type or null")
        nullable = nullable or len(types) < len(schema["type"])
        schema = {**schema, "type": types[0]}
    return schema, nullable


def to_openapi30_schema(node: Any, where: str = "#") -> Any:
    """A JSON Schema (2020-12, as pydantic writes it) as an OpenAPI 3.0.3 Schema Object."""
    if not isinstance(node, dict):
        return node
    schema, nullable = _without_null(node)
    if "const" in schema:
        schema = {k: v for k, v in schema.items() if k != "const"} | {"enum": [schema["const"]]}
    if "examples" in schema:
        example = schema["examples"][0]
        schema = {k: v for k, v in schema.items() if k != "examples"} | {"example": example}
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(schema.get(bound), int | float) and not isinstance(schema[bound], bool):
            schema = {**schema, inclusive: schema[bound], bound: True}
    out: JsonDict = {}
    for key, value in schema.items():
        if key == "$schema" or key.startswith("x-ms-") or (key == "default" and value is None):
            continue
        if key.startswith("x-"):
            out[key] = value
        elif key not in _OPENAPI30_KEYWORDS:
            raise SchemaConversionError(f"{where}: '{key}' has no OpenAPI 3.0 equivalent")
        elif key == "properties":
            out[key] = {
                n: to_openapi30_schema(s, f"{where}/properties/{n}") for n, s in value.items()
            }
        elif key in {"allOf", "anyOf", "oneOf"}:
            out[key] = [to_openapi30_schema(s, f"{where}/{key}/{i}") for i, s in enumerate(value)]
        elif key in {"items", "additionalProperties", "not"}:
            out[key] = to_openapi30_schema(value, f"{where}/{key}")
        else:
            out[key] = value
    if nullable:
        out["nullable"] = True
    if "$ref" in out and len(out) > 1:
        # OpenAPI 3.0 ignores a reference's siblings; through allOf they count.
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def _nullable_reference(node: JsonDict) -> str | None:
    """The reference of an "X or null" union of one reference, else None."""
    for union in ("anyOf", "oneOf"):
        branches = node.get(union)
        if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
            (other,) = [b for b in branches if b != {"type": "null"}]
            if set(other) == {"$ref"}:
                return str(other["$ref"])
    return None


def inline_nullable_references(schemas: dict[str, JsonDict]) -> dict[str, JsonDict]:
    """Swagger 2.0 and OpenAPI 3.0 cannot say "this reference, or null": a reference's
    siblings are ignored, and 3.0's `nullable` counts only beside a `type`. So such a
    property gets a copy of the schema it names (its own title and description kept) whose
    type admits null; the union stays as it is in 3.1, which says it as JSON Schema does."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        reference = _nullable_reference(node)
        if reference is None:
            return {key: walk(value) for key, value in node.items()}
        named = schemas[reference.rsplit("/", 1)[1]]
        rest = {k: v for k, v in node.items() if k not in {"anyOf", "oneOf", "default"}}
        return walk({**named, **rest, "type": [named["type"], "null"]})

    return {name: walk(schema) for name, schema in schemas.items()}
