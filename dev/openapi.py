"""Generates the Swagger 2.0 description of the HTTP routes, for the Power Automate connector.

python -m dev.openapi                   # API-key variant to stdout
python -m dev.openapi --variant oauth   # OAuth 2.0 (Entra ID) variant to stdout
python -m dev.openapi --write           # rewrite both files under infra/connector/
python -m dev.openapi --check           # exit 1 when a committed file is out of date

Power Automate accepts only Swagger 2.0. The request and answer schemas come from the
pydantic models (`model_json_schema()`, converted from JSON Schema 2020-12 to the Swagger 2.0
subset: `anyOf: [X, {type: null}]` becomes `X` with `x-nullable: true`); the problem codes
and statuses come from the `ProblemError` subclasses in `shared/errors.py`. What the models
cannot say (the connector's labels, visibility, the password's length) is layered on from
the tables below, and the generator refuses a table entry for a field the model lacks, or a
model field without one, so the file and the code cannot drift apart unnoticed.

Development tooling only: never imported by `function_app.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from reset_password.models import MAX_BODY_BYTES, ResetPasswordAnswer, ResetPasswordBody
from reset_password.password_policy import MAX_LENGTH, MIN_LENGTH
from shared.errors import ProblemError
from shared.problems import PROBLEM_TYPE_BASE
from shared.version import VERSION

Variant = Literal["api_key", "oauth"]
VARIANTS: tuple[Variant, ...] = ("api_key", "oauth")
JsonDict = dict[str, Any]

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR_DIR = ROOT / "infra" / "connector"
OUTPUT_FILES: Mapping[Variant, Path] = {
    "api_key": CONNECTOR_DIR / "apiDefinition.swagger.json",
    "oauth": CONNECTOR_DIR / "oauth" / "apiDefinition.swagger.json",
}

HOST_PLACEHOLDER = "your-function-app.azurewebsites.net"
BASE_PATH = "/api"
RESET_PATH = "/customers/{customer}/users/{user}/resetpassword"
HEALTH_PATH = "/health"
FUNCTION_KEY_HEADER = "x-functions-key"
API_KEY_SCHEME = "api_key"
OAUTH_SCHEME = "oauth2_auth"
AUTHORIZATION_URL = "https://login.microsoftonline.com/common/oauth2/authorize"
TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/token"

# JSON Schema keywords that mean the same in a Swagger 2.0 Schema Object.
_SWAGGER_KEYWORDS = frozenset(
    {
        "$ref",
        "format",
        "description",
        "default",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxProperties",
        "minProperties",
        "required",
        "enum",
        "type",
        "items",
        "allOf",
        "properties",
        "additionalProperties",
        "readOnly",
        "example",
    }
)
# Annotations that Swagger 2.0 lacks and that carry nothing the connector needs.
_DROPPED_KEYWORDS = frozenset({"title", "writeOnly", "$schema", "examples"})


class SchemaConversionError(ValueError):
    """The model's JSON Schema uses a construct Swagger 2.0 cannot express."""


# What the connector shows for each field. Keys must match the models' aliases exactly.
BODY_FIELDS: Mapping[str, JsonDict] = {
    "password": {
        "x-ms-summary": "New password",
        "description": (
            f"The new password: {MIN_LENGTH}-{MAX_LENGTH} characters, at least 3 of lowercase, "
            "uppercase, digit and symbol, only characters Microsoft Entra allows. Never echoed "
            "back or logged. Turn on Secure inputs in the action's settings to hide it from "
            "run history."
        ),
        "minLength": MIN_LENGTH,
        "maxLength": MAX_LENGTH,
        "x-ms-visibility": "important",
    },
    "forceChangePassword": {
        "x-ms-summary": "Force change at next sign-in",
        "description": "Make the user choose a new password at next sign-in (default: true).",
        "x-ms-visibility": "advanced",
    },
    "ticketId": {
        "x-ms-summary": "Ticket ID",
        "description": (
            "Your ticket or incident number, 1-64 characters without control, format "
            "(bidi, zero-width) or line-separator characters. Recorded in the audit event "
            "and echoed back."
        ),
    },
}

ANSWER_FIELDS: Mapping[str, JsonDict] = {
    "status": {
        "x-ms-summary": "Status",
        "description": (
            "'succeeded': the password was reset. 'validated': a dry run passed every check "
            "and nothing was changed."
        ),
    },
    "customerTenantId": {
        "x-ms-summary": "Customer tenant ID",
        "description": "The customer's Microsoft Entra tenant ID (a GUID).",
    },
    "userId": {
        "x-ms-summary": "User ID",
        "description": "The user's object ID (a GUID).",
    },
    "userPrincipalName": {
        "x-ms-summary": "User principal name",
        "description": "The user's sign-in name, when known.",
    },
    "displayName": {
        "x-ms-summary": "Display name",
        "description": "The user's display name, when known.",
    },
    "forceChangePassword": {
        "x-ms-summary": "Force change at next sign-in",
        "description": "Whether the user must choose a new password at next sign-in.",
    },
    "ticketId": {
        "x-ms-summary": "Ticket ID",
        "description": "The ticket ID sent with the request, or null.",
    },
    "correlationId": {
        "x-ms-summary": "Correlation ID",
        "description": "Quote this GUID to support; it is also in the x-correlation-id header.",
    },
    "completedAt": {
        "x-ms-summary": "Completed at",
        "description": "When the reset (or the dry run) finished, in UTC.",
    },
}

MODELS: Mapping[str, tuple[type[BaseModel], Literal["validation", "serialization"]]] = {
    "ResetPasswordBody": (ResetPasswordBody, "validation"),
    "ResetPasswordAnswer": (ResetPasswordAnswer, "serialization"),
}
MODEL_FIELDS: Mapping[str, Mapping[str, JsonDict]] = {
    "ResetPasswordBody": BODY_FIELDS,
    "ResetPasswordAnswer": ANSWER_FIELDS,
}
MODEL_DESCRIPTIONS: Mapping[str, str] = {
    "ResetPasswordBody": "The reset request. Unknown fields are refused with 400.",
    "ResetPasswordAnswer": "The reset's outcome. Never holds the password.",
}


def problem_classes() -> list[type[ProblemError]]:
    """`ProblemError` and every subclass, by status then code."""
    found: dict[str, type[ProblemError]] = {}
    pending: list[type[ProblemError]] = [ProblemError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return sorted(found.values(), key=lambda cls: (cls.status, cls.code))


def problem_codes_by_status() -> dict[int, list[str]]:
    by_status: dict[int, list[str]] = {}
    for cls in problem_classes():
        by_status.setdefault(cls.status, []).append(cls.code)
    return by_status


def to_swagger_schema(node: Any, where: str = "#") -> Any:
    """Converts a JSON Schema (2020-12, as pydantic writes it) to a Swagger 2.0 Schema Object."""
    if isinstance(node, list):
        return [to_swagger_schema(item, f"{where}/{i}") for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    schema: JsonDict = dict(node)
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
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    if isinstance(schema.get("$ref"), str):
        schema["$ref"] = schema["$ref"].replace("#/$defs/", "#/definitions/")
    out: JsonDict = {}
    for key, value in schema.items():
        if key in _DROPPED_KEYWORDS or key == "$defs":
            continue
        if key.startswith("x-"):
            out[key] = value
        elif key not in _SWAGGER_KEYWORDS:
            raise SchemaConversionError(f"{where}: '{key}' has no Swagger 2.0 equivalent")
        elif key == "properties":
            out[key] = {
                name: to_swagger_schema(sub, f"{where}/properties/{name}")
                for name, sub in value.items()
            }
        elif key in {"items", "additionalProperties", "allOf"}:
            out[key] = to_swagger_schema(value, f"{where}/{key}")
        else:
            out[key] = value
    if nullable:
        out["x-nullable"] = True
    # `type` and `format` first: the committed file reads better that way.
    first = {key: out.pop(key) for key in ("type", "format") if key in out}
    return {**first, **out}


def model_definitions(
    name: str,
    model: type[BaseModel],
    mode: Literal["validation", "serialization"],
    fields: Mapping[str, JsonDict],
    description: str,
) -> dict[str, JsonDict]:
    """The model's Swagger definition (and any nested ones), with the connector's labels."""
    raw = model.model_json_schema(by_alias=True, mode=mode, ref_template="#/$defs/{model}")
    nested = {key: to_swagger_schema(value) for key, value in raw.get("$defs", {}).items()}
    schema: JsonDict = to_swagger_schema(raw, f"#/definitions/{name}")
    schema["description"] = description
    properties: JsonDict = schema.get("properties", {})
    missing = set(properties) - set(fields)
    unknown = set(fields) - set(properties)
    if missing or unknown:
        raise SchemaConversionError(
            f"{name}: label every field in dev/openapi.py; "
            f"unlabelled {sorted(missing)}, labels for no field {sorted(unknown)}"
        )
    for field, extra in fields.items():
        target: JsonDict = properties[field]
        for key, value in extra.items():
            if key in target and target[key] != value:
                raise SchemaConversionError(
                    f"{name}.{field}: the model says {key}={target[key]!r}, the label {value!r}"
                )
            target[key] = value
    return {name: schema, **nested}


def problem_definitions() -> dict[str, JsonDict]:
    by_status = problem_codes_by_status()
    codes = [code for status_codes in by_status.values() for code in status_codes]
    return {
        "Problem": {
            "type": "object",
            "description": (
                "An RFC 9457 problem (application/problem+json). Branch on 'code'; "
                "'detail' is for people."
            ),
            "required": ["type", "title", "status", "detail", "code", "correlationId"],
            "properties": {
                "type": {
                    "type": "string",
                    "x-ms-summary": "Problem type",
                    "description": f"A URI naming the problem: {PROBLEM_TYPE_BASE}<code>.",
                },
                "title": {
                    "type": "string",
                    "x-ms-summary": "Title",
                    "description": "A short summary of the problem type.",
                },
                "status": {
                    "type": "integer",
                    "format": "int32",
                    "enum": list(by_status),
                    "x-ms-summary": "HTTP status",
                    "description": "The HTTP status code of this answer.",
                },
                "detail": {
                    "type": "string",
                    "x-ms-summary": "Detail",
                    "description": "What went wrong this time and what to do about it.",
                },
                "code": {
                    "type": "string",
                    "enum": codes,
                    "x-ms-summary": "Error code",
                    "description": "A stable, machine-readable code for the problem.",
                },
                "correlationId": {
                    "type": "string",
                    "x-ms-summary": "Correlation ID",
                    "description": "Quote this GUID to support.",
                },
                "errors": {
                    "type": "array",
                    "items": {"$ref": "#/definitions/FieldError"},
                    "x-ms-summary": "Field errors",
                    "description": "For invalid_request: each invalid field and the rule it broke.",
                },
                "candidates": {
                    "type": "array",
                    "items": {"type": "string", "x-ms-summary": "Candidate customer"},
                    "x-ms-summary": "Candidate customers",
                    "description": (
                        "For ambiguous_customer: the customers the domain matched; call again "
                        "with one of their tenant IDs."
                    ),
                },
            },
        },
        "FieldError": {
            "type": "object",
            "description": "One invalid field. The message names the rule, never the value.",
            "required": ["field", "message"],
            "properties": {
                "field": {
                    "type": "string",
                    "x-ms-summary": "Field",
                    "description": "The field, parameter or header that is invalid.",
                },
                "message": {
                    "type": "string",
                    "x-ms-summary": "Message",
                    "description": "The rule the value breaks.",
                },
            },
        },
    }


def health_definitions() -> dict[str, JsonDict]:
    return {
        "Health": {
            "type": "object",
            "description": "The service is up. No dependency is called.",
            "required": ["status", "version"],
            "properties": {
                "status": {
                    "type": "string",
                    "enum": ["ok"],
                    "x-ms-summary": "Status",
                    "description": "Always 'ok'.",
                },
                "version": {
                    "type": "string",
                    "x-ms-summary": "Version",
                    "description": "The deployed version of the function.",
                },
            },
        }
    }


_CORRELATION_HEADER: JsonDict = {
    "type": "string",
    "x-ms-summary": "Correlation ID",
    "description": "The correlation ID of this request (yours, or a new GUID).",
}
_RETRY_AFTER_HEADER: JsonDict = {
    "type": "integer",
    "format": "int32",
    "x-ms-summary": "Retry after",
    "description": "Seconds to wait before trying again, when the function knows.",
}
_WWW_AUTHENTICATE_HEADER: JsonDict = {
    "type": "string",
    "x-ms-summary": "WWW-Authenticate",
    "description": "The bearer challenge: why the caller token was refused.",
}
_STATUS_TEXT = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Throttled",
    500: "Internal error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def reset_responses() -> JsonDict:
    responses: JsonDict = {
        "200": {
            "description": "The password was reset, or with dryRun=true every check passed.",
            "schema": {"$ref": "#/definitions/ResetPasswordAnswer"},
            "headers": {"x-correlation-id": dict(_CORRELATION_HEADER)},
        }
    }
    for status, codes in problem_codes_by_status().items():
        headers: JsonDict = {"x-correlation-id": dict(_CORRELATION_HEADER)}
        if status in {429, 503}:
            headers["Retry-After"] = dict(_RETRY_AFTER_HEADER)
        if status == 401:
            headers["WWW-Authenticate"] = dict(_WWW_AUTHENTICATE_HEADER)
        text = _STATUS_TEXT.get(status, f"HTTP {status}")
        responses[str(status)] = {
            "description": f"{text}: {', '.join(codes)}.",
            "schema": {"$ref": "#/definitions/Problem"},
            "headers": headers,
        }
    return responses


def reset_parameters() -> list[JsonDict]:
    return [
        {
            "name": "customer",
            "in": "path",
            "required": True,
            "type": "string",
            "x-ms-summary": "Customer",
            "description": (
                "The customer's tenant ID (GUID), or the domain recorded in its Partner "
                "Center company profile (usually contoso.onmicrosoft.com)."
            ),
            "x-ms-url-encoding": "single",
            "x-ms-visibility": "important",
        },
        {
            "name": "user",
            "in": "path",
            "required": True,
            "type": "string",
            "x-ms-summary": "User",
            "description": "The user's object ID (GUID) or userPrincipalName.",
            "x-ms-url-encoding": "single",
            "x-ms-visibility": "important",
        },
        {
            "name": "dryRun",
            "in": "query",
            "required": False,
            "type": "boolean",
            "default": False,
            "x-ms-summary": "Dry run",
            "description": (
                "true or false (any case). Run every check (caller, policy, validation, "
                "lookups, protected account) and stop before the reset; the answer's status "
                "is then 'validated'. An empty or repeated dryRun, or any other query "
                "parameter than dryRun and the function key's code, is refused with 400."
            ),
            "x-ms-visibility": "advanced",
        },
        {
            "name": "x-correlation-id",
            "in": "header",
            "required": False,
            "type": "string",
            "x-ms-summary": "Correlation ID",
            "description": (
                "A GUID that ties this call to your own logs; sent on to Partner Center. "
                "A new one is made when absent or not a GUID."
            ),
            "x-ms-visibility": "advanced",
        },
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": "^[\\x20-\\x7e]+$",
            "x-ms-summary": "Idempotency key",
            "description": (
                "1-128 printable ASCII characters. Retries with the same key for the same "
                "customer, user and password are the same reset for Partner Center; the "
                "same key with another password is a new reset."
            ),
            "x-ms-visibility": "advanced",
        },
        {
            "name": "body",
            "in": "body",
            "required": True,
            "x-ms-summary": "Request",
            "description": f"A JSON object of at most {MAX_BODY_BYTES // 1024} KiB.",
            "schema": {"$ref": "#/definitions/ResetPasswordBody"},
        },
    ]


def security(variant: Variant) -> tuple[JsonDict, list[JsonDict]]:
    if variant == "api_key":
        definitions: JsonDict = {
            API_KEY_SCHEME: {
                "type": "apiKey",
                "name": FUNCTION_KEY_HEADER,
                "in": "header",
                "description": "A function key of the function app (host or function key).",
            }
        }
        return definitions, [{API_KEY_SCHEME: []}]
    definitions = {
        OAUTH_SCHEME: {
            "type": "oauth2",
            "flow": "accessCode",
            "authorizationUrl": AUTHORIZATION_URL,
            "tokenUrl": TOKEN_URL,
            "scopes": {},
            "description": (
                "Microsoft Entra ID sign-in; the connection sends 'Authorization: Bearer' with a "
                "token for CALLER_AUDIENCE. The function key is added by the connector's "
                "setheader policy (apiProperties.json)."
            ),
        }
    }
    return definitions, [{OAUTH_SCHEME: []}]


def build_document(variant: Variant = "api_key") -> JsonDict:
    """The whole Swagger 2.0 document for one authentication variant."""
    definitions: JsonDict = {}
    for name, (model, mode) in MODELS.items():
        definitions.update(
            model_definitions(name, model, mode, MODEL_FIELDS[name], MODEL_DESCRIPTIONS[name])
        )
    definitions.update(problem_definitions())
    definitions.update(health_definitions())
    security_definitions, requirement = security(variant)
    how = (
        "Connect with a function key of the function app."
        if variant == "api_key"
        else "Connect with your Microsoft Entra ID account (caller tokens on)."
    )
    return {
        "swagger": "2.0",
        "info": {
            "title": "Partner Password Reset",
            "description": (
                "Resets the password of a user in a Cloud Solution Provider customer's tenant "
                f"through Microsoft Partner Center. {how}"
            ),
            "version": VERSION,
        },
        "host": HOST_PLACEHOLDER,
        "basePath": BASE_PATH,
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json", "application/problem+json"],
        "paths": {
            RESET_PATH: {
                "post": {
                    "operationId": "ResetPassword",
                    "summary": "Reset a customer user's password",
                    "description": (
                        "Sets a new password for a user of a CSP customer through Partner "
                        "Center. The password never appears in any answer or log; turn on "
                        "Secure inputs in the action's settings so it stays out of run history "
                        "too."
                    ),
                    "x-ms-visibility": "important",
                    "consumes": ["application/json"],
                    "produces": ["application/json", "application/problem+json"],
                    "parameters": reset_parameters(),
                    "responses": reset_responses(),
                }
            },
            HEALTH_PATH: {
                "get": {
                    "operationId": "Health",
                    "summary": "Check that the service is up",
                    "description": "Anonymous liveness check; calls no dependency.",
                    "x-ms-visibility": "advanced",
                    "produces": ["application/json"],
                    "parameters": [],
                    "responses": {
                        "200": {
                            "description": "The service is up.",
                            "schema": {"$ref": "#/definitions/Health"},
                        }
                    },
                    "security": [],
                }
            },
        },
        "definitions": definitions,
        "securityDefinitions": security_definitions,
        "security": requirement,
    }


def render(variant: Variant = "api_key") -> str:
    """The document as committed: two-space indent, trailing newline."""
    return json.dumps(build_document(variant), indent=2, ensure_ascii=False) + "\n"


def iter_schemas(document: Mapping[str, Any]) -> Iterator[tuple[str, JsonDict]]:
    """Every property and item schema of every definition, with a readable location.

    A `$ref` is skipped: it is checked where it is defined (Swagger ignores its siblings).
    """

    def walk(schema: Any, where: str) -> Iterator[tuple[str, JsonDict]]:
        if not isinstance(schema, dict) or "$ref" in schema:
            return
        children = [(f"{where}.{n}", sub) for n, sub in schema.get("properties", {}).items()]
        if "items" in schema:
            children.append((f"{where}[]", schema["items"]))
        for location, sub in children:
            if isinstance(sub, dict) and "$ref" not in sub:
                yield location, sub
            yield from walk(sub, location)

    for name, definition in document.get("definitions", {}).items():
        yield from walk(definition, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.openapi", description=__doc__)
    parser.add_argument("--variant", choices=VARIANTS, default="api_key")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite both committed files")
    action.add_argument("--check", action="store_true", help="fail when a file is stale")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        sys.stdout.write(render(args.variant))
        return 0
    stale = []
    for variant, path in OUTPUT_FILES.items():
        text = render(variant)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
        else:
            stale.append(path)
    for path in stale:
        print(f"{path.relative_to(ROOT)} is out of date: run python -m dev.openapi --write")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
