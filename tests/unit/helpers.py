"""What several unit specs share: the product modules as files, reset requests as the
host hands them over, and the committed API documents read and checked. One home: a
spec imports helpers from here, never from another spec module."""

from __future__ import annotations

import ast
import functools
import json
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from openapi_schema_validator import (
    OAS30Validator,
    OAS31Validator,
    oas30_format_checker,
    oas31_format_checker,
)
from openapi_schema_validator import validate as validate_instance

from dev import openapi
from reset_password.records import ResetOrder
from reset_password.request import PathValues, parse_reset_order
from shared.errors import InvalidRequest

ROOT = Path(__file__).resolve().parents[2]
# The product code: the app's two root modules and its packages (never dev/, ops/, tests/).
ROOT_MODULES = ("function_app", "composition")
PACKAGES = ("credentials", "reset_password", "reset_batches", "secret_links", "shared", "worker")


def product_modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in ROOT_MODULES}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


MODULES = product_modules()


@functools.cache
def syntax_tree(path: Path) -> ast.Module:
    """A file's syntax tree, parsed once per run: many specs walk the same product modules
    (a spec must not change the tree it is handed)."""
    return ast.parse(path.read_text(encoding="utf-8"))


CUSTOMER = "0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
USER = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
PASSWORD = "Correct-Horse-42"


def parsed_order(req: func.HttpRequest) -> ResetOrder:
    """The order, with the path values read from the request once, as the route does."""
    return parse_reset_order(req, PathValues.of(req))


def request(
    body: bytes | str | dict[str, object] | list[object] | None = None,
    *,
    customer: str = CUSTOMER,
    user: str = USER,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> func.HttpRequest:
    if body is None:
        body = {"password": PASSWORD}
    raw = json.dumps(body).encode() if isinstance(body, dict | list) else body
    return func.HttpRequest(
        method="POST",
        url=f"http://localhost/api/customers/{customer}/users/{user}/resetpassword",
        headers={"Content-Type": "application/json", **(headers or {})},
        params=params or {},
        route_params={"customer": customer, "user": user},
        body=raw.encode() if isinstance(raw, str) else raw,
    )


def errors_of(req: func.HttpRequest) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as caught:
        parsed_order(req)
    assert caught.value.errors is not None
    return {e["field"]: e["message"] for e in caught.value.errors}


# --- the committed API documents -------------------------------------------------------

RESET = "/customers/{customer}/users/{user}/resetpassword"
UPN_ONLY = "/users/{user}/resetpassword"
CORRELATION_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def load(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(value, dict)
    return value


def reset_operation(document: dict[str, Any], path: str = RESET) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path]["post"]
    return operation


def schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    schemas = (
        document["components"]["schemas"] if "openapi" in document else document["definitions"]
    )
    schema: dict[str, Any] = schemas[name]
    return schema


def both_documents() -> list[dict[str, Any]]:
    return [load(openapi.OUTPUT_FILES[name]) for name in openapi.DOCUMENTS]


def to_oas30(node: Any) -> Any:
    """Swagger 2.0 schema -> OpenAPI 3.0 schema, for instance validation in these tests."""
    if isinstance(node, list):
        return [to_oas30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_oas30(value) for key, value in node.items() if not key.startswith("x-")}
    if node.get("x-nullable"):
        out["nullable"] = True
    return out


def check_instance(instance: Any, document: dict[str, Any], definition: str) -> None:
    """Validates against a definition, with undeclared top-level properties refused too."""
    if "openapi" in document:
        components = document["components"]
        schema = {**components["schemas"][definition], "additionalProperties": False}
        schema["components"] = components
        if document["openapi"].startswith("3.0"):
            validate_instance(
                instance, schema, cls=OAS30Validator, format_checker=oas30_format_checker
            )
        else:
            validate_instance(
                instance, schema, cls=OAS31Validator, format_checker=oas31_format_checker
            )
        return
    schema = to_oas30(document["definitions"][definition])
    schema["additionalProperties"] = False
    schema["definitions"] = to_oas30(document["definitions"])
    validate_instance(instance, schema, cls=OAS30Validator, format_checker=oas30_format_checker)
