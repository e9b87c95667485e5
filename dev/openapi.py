"""Generates the published API documents from the pydantic models and the error classes.

python -m dev.openapi                       # the API-key Swagger 2.0 document to stdout
python -m dev.openapi --document openapi    # the OpenAPI 3.1 document to stdout
python -m dev.openapi --document openapi30  # the OpenAPI 3.0.3 document to stdout
python -m dev.openapi --write               # rewrite every committed document
python -m dev.openapi --check               # exit 1 when a committed document is out of date

Schemas are pydantic's own JSON Schema (2020-12), which OpenAPI 3.1 takes as it is; thin
adapters turn them into the Swagger 2.0 subset that Power Automate's custom connectors
need and into OpenAPI 3.0.3 (API Management and ServiceNow import 3.0, not all of 3.1).
What a model cannot say (labels, the password rules, the connector's visibility) comes
from the tables below; the generator refuses a model field without a label, a label for no
field, a label that contradicts the model, and a `pattern` outside the interoperable
regex subset (dev/api_patterns.py).

Development tooling only: never imported by `function_app.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.json_schema import SkipJsonSchema

from dev import api_patterns
from reset_password.models import (
    MAX_BODY_BYTES,
    MAX_REQUESTED_BY_LENGTH,
    ResetPasswordAnswer,
    ResetPasswordBody,
)
from reset_password.names import MAX_DOMAIN_LENGTH, MAX_LOCAL_PART_LENGTH
from reset_password.password_policy import MAX_LENGTH, MIN_LENGTH, REQUIRED_CLASSES
from secret_links.routes import LINK_PROBLEMS
from shared.problems import PROBLEM_TYPE_BASE, PROBLEMS
from shared.version import VERSION

Variant = Literal["api_key", "oauth"]
Document = Literal["api_key", "oauth", "openapi", "openapi30"]
Mode = Literal["validation", "serialization"]
JsonDict = dict[str, Any]
VARIANTS: tuple[Variant, ...] = ("api_key", "oauth")
DOCUMENTS: tuple[Document, ...] = (*VARIANTS, "openapi", "openapi30")

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_FILES: Mapping[Document, Path] = {
    "api_key": ROOT / "infra" / "connector" / "apiDefinition.swagger.json",
    "oauth": ROOT / "infra" / "connector" / "oauth" / "apiDefinition.swagger.json",
    "openapi": ROOT / "docs" / "openapi.json",
    "openapi30": ROOT / "docs" / "openapi-3.0.json",
}

TITLE = "Partner Password Reset"
HOST_PLACEHOLDER = "your-function-app.azurewebsites.net"
BASE_PATH = "/api"
RESET_PATH = "/customers/{customer}/users/{user}/resetpassword"
UPN_ONLY_RESET_PATH = "/users/{user}/resetpassword"
HEALTH_PATH = "/health"
CREDENTIALS_HEALTH_PATH = "/health/credentials"
SECRET_PAGE_PATH = "/secrets/{linkId}"
SECRET_REVEAL_PATH = "/secrets/{linkId}/reveal"
# The one-time link's routes serve a person's browser, not a flow: the connector has none.
LINK_PATHS = (SECRET_PAGE_PATH, SECRET_REVEAL_PATH)
FUNCTION_KEY_HEADER = "x-functions-key"
FUNCTION_KEY_QUERY = "code"
API_KEY_SCHEME = "api_key"
OAUTH_SCHEME = "oauth2_auth"
AUTHORIZATION_URL = "https://login.microsoftonline.com/common/oauth2/authorize"
TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/token"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
HTML = "text/html"


class SchemaConversionError(ValueError):
    """A schema uses a construct the target cannot express, or a label does not fit it."""


def problem_statuses() -> dict[str, int]:
    """Every problem code the function answers, with its status (the one-time link
    routes' own codes too)."""
    found = {problem.code: problem.status for problem in PROBLEMS.values()}
    return found | {problem.code: problem.status for problem in LINK_PROBLEMS.values()}


# What the reset routes answer as a problem: the shared table's (shared/problems.py).
RESET_PROBLEMS = tuple(problem.code for problem in PROBLEMS.values())


def problem_codes_by_status(codes: Iterable[str] | None = None) -> dict[int, list[str]]:
    """The codes (all by default) grouped by status, both in order."""
    statuses = problem_statuses()
    chosen = statuses if codes is None else {code: statuses[code] for code in codes}
    by_status: dict[int, list[str]] = {}
    for code, status in sorted(chosen.items(), key=lambda item: (item[1], item[0])):
        by_status.setdefault(status, []).append(code)
    return by_status


_PROBLEM_CODES: list[JsonValue] = [
    code for codes in problem_codes_by_status(RESET_PROBLEMS).values() for code in codes
]
# What the reveal answers as a problem (secret_links/routes.py): its own two, and the
# shared table's for a malformed request or storage out of reach.
REVEAL_PROBLEMS = (
    *(problem.code for problem in LINK_PROBLEMS.values()),
    "invalid_request",
    "payload_too_large",
    "unsupported_media_type",
    "configuration_error",
    "internal_error",
    "dependency_unavailable",
)
_LINK_PROBLEM_CODES: list[JsonValue] = [
    code for codes in problem_codes_by_status(REVEAL_PROBLEMS).values() for code in codes
]


# --- the answers that have no runtime model -------------------------------------------


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    type: str
    title: str
    status: int = Field(json_schema_extra={"enum": list(problem_codes_by_status(RESET_PROBLEMS))})
    detail: str
    code: str = Field(json_schema_extra={"enum": _PROBLEM_CODES})
    correlation_id: str = Field(alias="correlationId")
    errors: list[FieldError] = Field(default_factory=list)
    candidates: list[str] = Field(default_factory=list)


class LinkProblem(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    type: str
    title: str
    status: int = Field(json_schema_extra={"enum": list(problem_codes_by_status(REVEAL_PROBLEMS))})
    detail: str
    code: str = Field(json_schema_extra={"enum": _LINK_PROBLEM_CODES})
    correlation_id: str = Field(alias="correlationId")


class RevealBody(BaseModel):
    """The reveal's body: the empty object."""

    model_config = ConfigDict(extra="forbid")


class SealedPassword(BaseModel):
    """What the reveal answers (secret_links.crypto.SealedPassword.to_json)."""

    model_config = ConfigDict(serialize_by_alias=True)

    ephemeral_public_key: str = Field(alias="ephemeralPublicKey")
    nonce: str
    ciphertext: str


class Health(BaseModel):
    status: Literal["ok"]
    version: str


HealthStatus = Literal["ok", "warning", "critical"]


class CredentialCheck(BaseModel):
    # Each check adds facts of its own (dates, day counts, secret names).
    model_config = ConfigDict(extra="allow")

    name: str
    status: HealthStatus
    detail: str


def _no_default(schema: JsonDict) -> None:
    """An answer field left out when it does not apply has no default to state."""
    schema.pop("default", None)


class CredentialsReport(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    status: HealthStatus
    checks: list[CredentialCheck]
    # A boolean when present, never null.
    probed: bool | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    last_probe_at: datetime | None = Field(None, alias="lastProbeAt")


# --- labels: what the models cannot say -----------------------------------------------


@dataclass(frozen=True)
class Label:
    summary: str
    description: str
    visibility: Literal["important", "advanced"] | None = None
    rules: Mapping[str, Any] = field(default_factory=dict)


MODELS: Sequence[tuple[type[BaseModel], Mode]] = (
    (ResetPasswordBody, "validation"),
    (ResetPasswordAnswer, "serialization"),
    (Problem, "serialization"),
    (Health, "serialization"),
    (CredentialsReport, "serialization"),
)
# The one-time link routes' own, in the OpenAPI documents only.
LINK_MODELS: Sequence[tuple[type[BaseModel], Mode]] = (
    (RevealBody, "validation"),
    (SealedPassword, "serialization"),
    (LinkProblem, "serialization"),
)
DESCRIPTIONS: Mapping[str, str] = {
    "ResetPasswordBody": "The reset request. Unknown fields are refused with 400.",
    "ResetPasswordAnswer": "The reset's outcome. Never holds the password.",
    "Problem": (
        "An RFC 9457 problem (application/problem+json). Branch on 'code'; 'detail' is for people."
    ),
    "FieldError": "One invalid field. The message names the rule, never the value.",
    "ResetWarning": "Something after the reset that did not work; the reset itself did.",
    "SecretLink": (
        "The one-time link to the generated password. Answered here once and never again: "
        "its key is only in the URL's fragment, which a browser never sends."
    ),
    "RevealBody": "The empty JSON object {}.",
    "SealedPassword": (
        "The password sealed to the link's key (contract 1c), base64url without padding: "
        "only the key in the link's fragment opens it, in the person's browser."
    ),
    "LinkProblem": (
        "An RFC 9457 problem of a one-time link (application/problem+json). Branch on 'code'."
    ),
    "Health": "The service is up. No dependency is called.",
    "CredentialsReport": (
        "The Partner Center credentials' health and what to do. Never holds a secret value."
    ),
    "CredentialCheck": (
        "One check. Besides name, status and detail it carries facts of its own (dates, day "
        "counts, secret names), never a secret value."
    ),
}
LABELS: Mapping[str, Mapping[str, Label]] = {
    "ResetPasswordBody": {
        "password": Label(
            "New password",
            "The new password, when you choose it; leave it out with delivery (both: 400). "
            f"{MIN_LENGTH}-{MAX_LENGTH} characters, at least {REQUIRED_CLASSES} of lowercase, "
            "uppercase, digit and symbol, only characters Microsoft Entra allows (A-Z, a-z, "
            "0-9, space and the ASCII punctuation). Never echoed back or logged, but it passes "
            "through your systems: prefer delivery. Turn on Secure inputs in the action's "
            "settings to hide it from run history.",
            "advanced",
            {
                "minLength": MIN_LENGTH,
                "maxLength": MAX_LENGTH,
                "pattern": api_patterns.password_pattern(),
            },
        ),
        "delivery": Label(
            "Delivery",
            "Instead of a password (send one or the other, never both): the function generates "
            "the password, so no ticket, flow run or log ever holds it. 'link': the answer's "
            "secretLink is a one-time link; send it to the user by another channel than the "
            "ticket (an SMS to the registered phone, the manager), and the person who opens it "
            "clicks once to see the password. 'none': a scramble; the password is set and "
            "forgotten, for a compromised account or a leaver (usually with revokeSessions). "
            "With delivery, forceChangePassword is always true, and an Idempotency-Key header "
            "is refused (400): a generated password cannot be sent again, so a retry is a new "
            "reset with a new link.",
            "important",
            {"examples": ["link"]},
        ),
        "requestedBy": Label(
            "Requested by",
            f"Who asked for the reset (the person or agent the ticket names), 1-"
            f"{MAX_REQUESTED_BY_LENGTH} characters, the ticketId rule (no Unicode Cc, Cf, Zl, "
            "Zp). Recorded in the audit event and echoed back.",
            rules={"examples": ["Grace Hopper"], "pattern": api_patterns.ticket_id_pattern()},
        ),
        "forceChangePassword": Label(
            "Force change at next sign-in",
            "Make the user choose a new password at next sign-in (default: true).",
            "advanced",
        ),
        "ticketId": Label(
            "Ticket ID",
            "Your ticket or incident number, 1-64 characters without control, format (bidi, "
            "zero-width, tag) or line-separator characters (Unicode Cc, Cf, Zl, Zp). Recorded "
            "in the audit event and echoed back. The pattern names only characters up to "
            "U+FFFF (no noncharacters): a portable regex cannot tell a format character "
            "beyond it from an emoji, which the function accepts all the same.",
            rules={"examples": ["INC0012345"], "pattern": api_patterns.ticket_id_pattern()},
        ),
        "revokeSessions": Label(
            "Revoke sign-in sessions",
            "After the reset, revoke the user's sign-in sessions and refresh tokens through "
            "Microsoft Graph (default: false). Needs the app's Graph consent "
            "(User.RevokeSessions.All) in the customer's tenant and a GDAP role that may "
            "revoke (User Administrator; Privileged Authentication Administrator for admins). "
            "A failed revocation keeps the reset and is reported in 'sessionsRevoked' and "
            "'warnings'.",
            "advanced",
        ),
    },
    "ResetWarning": {
        "code": Label(
            "Warning code",
            "A stable code: sessions_not_revoked (the revocation failed; the detail says why "
            "and what to fix), sessions_not_checked (a dry run tries nothing at Graph), "
            "gdap_not_checked (a dry run could not read the partner's GDAP relationships; the "
            "detail names the missing permission or the failure) or older_links_not_deleted "
            "(the new one-time link works; the user's older ones could not be deleted and open "
            "passwords that no longer work).",
        ),
        "detail": Label("Warning detail", "What did not work after the reset and what to do."),
    },
    "ResetPasswordAnswer": {
        "status": Label(
            "Status",
            "'succeeded': the password was reset. 'validated': a dry run passed every check "
            "and nothing was changed.",
        ),
        "customerTenantId": Label(
            "Customer tenant ID", "The customer's Microsoft Entra tenant ID (a GUID)."
        ),
        "userId": Label("User ID", "The user's object ID (a GUID)."),
        "userPrincipalName": Label("User principal name", "The user's sign-in name, when known."),
        "displayName": Label("Display name", "The user's display name, when known."),
        "forceChangePassword": Label(
            "Force change at next sign-in",
            "Whether the user must choose a new password at next sign-in.",
        ),
        "ticketId": Label("Ticket ID", "The ticket ID sent with the request, or null."),
        "requestedBy": Label("Requested by", "The requestedBy sent with the request, or null."),
        "correlationId": Label(
            "Correlation ID",
            "Quote this GUID to support; it is also in the x-correlation-id header.",
        ),
        "completedAt": Label("Completed at", "When the reset (or the dry run) finished, in UTC."),
        "sessionsRevoked": Label(
            "Sessions revoked",
            "true: the user's sessions were revoked; false: asked for but failed (see "
            "warnings); null: not asked, or a dry run.",
        ),
        "passwordGenerated": Label(
            "Password generated",
            "Present with delivery: true when the function generated the password and set "
            "it; false for a dry run, which generates nothing.",
        ),
        "delivery": Label("Delivery", "Present with delivery: 'link' or 'none', as sent."),
        "secretLink": Label(
            "One-time link",
            "Present after a reset with delivery 'link' (never for a dry run): the link to "
            "send the user. This answer is the only place it exists.",
        ),
        "warnings": Label(
            "Warnings", "What did not work after the reset; present only when something did not."
        ),
    },
    "SecretLink": {
        "url": Label(
            "Link",
            "{PUBLIC_BASE_URL}/api/secrets/{linkId}#{key}: the key that opens the password is "
            "only in the fragment after '#', which a browser never sends. Send the whole link "
            "to the user by another channel than the ticket (an SMS to the registered phone, "
            "the manager); a link preview does not use it up, only a click on its page does.",
        ),
        "expiresAt": Label(
            "Expires at", "When the link stops working (SECRET_LINK_TTL_MINUTES), in UTC."
        ),
        "maxViews": Label("Views", "How many times the link shows the password: once."),
    },
    "SealedPassword": {
        "ephemeralPublicKey": Label(
            "Ephemeral public key", "A fresh P-256 public key, the 65-byte uncompressed point."
        ),
        "nonce": Label("Nonce", "The AES-256-GCM nonce, 12 bytes."),
        "ciphertext": Label("Ciphertext", "The password (UTF-8) encrypted, then the 16-byte tag."),
    },
    "LinkProblem": {
        "type": Label("Problem type", f"A URI naming the problem: {PROBLEM_TYPE_BASE}<code>."),
        "title": Label("Title", "A short summary of the problem type."),
        "status": Label(
            "HTTP status", "The HTTP status code of this answer.", rules={"format": "int32"}
        ),
        "detail": Label("Detail", "What went wrong and what to do about it."),
        "code": Label(
            "Error code",
            "secret_gone: opened already, expired, unknown or its reset failed (one answer for "
            "all); secret_not_ready: a batch link whose reset has not happened yet (try again "
            "after Retry-After; the link stays usable).",
        ),
        "correlationId": Label("Correlation ID", "Quote this GUID to support."),
    },
    "Problem": {
        "type": Label("Problem type", f"A URI naming the problem: {PROBLEM_TYPE_BASE}<code>."),
        "title": Label("Title", "A short summary of the problem type."),
        "status": Label(
            "HTTP status", "The HTTP status code of this answer.", rules={"format": "int32"}
        ),
        "detail": Label("Detail", "What went wrong this time and what to do about it."),
        "code": Label("Error code", "A stable, machine-readable code for the problem."),
        "correlationId": Label("Correlation ID", "Quote this GUID to support."),
        "errors": Label(
            "Field errors", "For invalid_request: each invalid field and the rule it broke."
        ),
        "candidates": Label(
            "Candidate customers",
            "For ambiguous_customer: the customers the domain matched; call again with one of "
            "their tenant IDs.",
        ),
    },
    "FieldError": {
        "field": Label("Field", "The field, parameter or header that is invalid."),
        "message": Label("Message", "The rule the value breaks."),
    },
    "Health": {
        "status": Label("Status", "Always 'ok'."),
        "version": Label("Version", "The deployed version of the function."),
    },
    "CredentialsReport": {
        "status": Label(
            "Status", "The worst of the checks: ok, warning or critical (then the answer is 503)."
        ),
        "checks": Label(
            "Checks",
            "key_vault, refresh_token, app_secret, token_exchange and mfa (or settings alone "
            "when the app settings are broken).",
        ),
        "probed": Label(
            "Probed",
            "Whether this answer made a token exchange: false when probe=true came within "
            "HEALTH_PROBE_MIN_SECONDS of the last one, which the answer then reports.",
        ),
        "lastProbeAt": Label(
            "Last probe at", "When this instance last made a probe's exchange, or null."
        ),
    },
    "CredentialCheck": {
        "name": Label("Check", "What was checked."),
        "status": Label("Status", "ok, warning or critical."),
        "detail": Label("Detail", "What was found and, unless ok, what to do."),
    },
}
# Keywords a label adds on top of the model without contradicting it.
_LABEL_OWNED = frozenset({"title", "description", "x-ms-summary", "x-ms-visibility"})


def label_schema(name: str, schema: JsonDict, labels: Mapping[str, Label]) -> None:
    """Adds the labels and rules to one component schema, in place."""
    properties: JsonDict = schema.get("properties", {})
    missing, unknown = set(properties) - set(labels), set(labels) - set(properties)
    if missing or unknown:
        raise SchemaConversionError(
            f"{name}: label every field in dev/openapi.py; "
            f"unlabelled {sorted(missing)}, labels for no field {sorted(unknown)}"
        )
    for prop, label in labels.items():
        target: JsonDict = properties[prop]
        additions: JsonDict = {
            "title": label.summary,
            "description": label.description,
            "x-ms-summary": label.summary,
            **label.rules,
        }
        if label.visibility is not None:
            additions["x-ms-visibility"] = label.visibility
        for key, value in additions.items():
            if key not in _LABEL_OWNED and key in target and target[key] != value:
                raise SchemaConversionError(
                    f"{name}.{prop}: the model says {key}={target[key]!r}, the label {value!r}"
                )
            target[key] = value
        if "items" in target and "$ref" not in target["items"]:
            target["items"].setdefault("x-ms-summary", label.summary)


def component_schemas(
    ref_template: str,
    models: Sequence[tuple[type[BaseModel], Mode]] = MODELS,
    labels: Mapping[str, Mapping[str, Label]] = LABELS,
    descriptions: Mapping[str, str] = DESCRIPTIONS,
) -> dict[str, JsonDict]:
    """Every model's JSON Schema (nested models too), labelled, keyed by model name."""
    found: dict[str, JsonDict] = {}
    for model, mode in models:
        raw = model.model_json_schema(mode=mode, by_alias=True, ref_template=ref_template)
        nested: dict[str, JsonDict] = raw.pop("$defs", {})
        for name, schema in {model.__name__: raw, **nested}.items():
            if found.setdefault(name, schema) != schema:
                raise SchemaConversionError(f"{name}: two different schemas share the name")
    for name, schema in found.items():
        label_schema(name, schema, labels.get(name, {}))
        if name not in descriptions:
            raise SchemaConversionError(f"{name}: describe the model in dev/openapi.py")
        schema["description"] = descriptions[name]
    return found


# --- JSON Schema 2020-12 to Swagger 2.0, OpenAPI 3.0 and OpenAPI 3.1 ---------------------

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


# --- the operations, independent of the document format ------------------------------


@dataclass(frozen=True)
class Parameter:
    name: str
    location: Literal["path", "query", "header"]
    schema: JsonDict
    label: Label
    required: bool = False


@dataclass(frozen=True)
class Answer:
    description: str
    # A component's name; None for a page (text/html), whose body is a string.
    schema: str | None
    media_type: str = JSON
    headers: Mapping[str, tuple[JsonDict, Label]] = field(default_factory=dict)

    def schema_object(self, prefix: str) -> JsonDict:
        return {"type": "string"} if self.schema is None else {"$ref": prefix + self.schema}


@dataclass(frozen=True)
class Operation:
    method: str
    operation_id: str
    summary: str
    description: str
    visibility: Literal["important", "advanced"]
    parameters: Sequence[Parameter]
    responses: Mapping[int, Answer]
    body: tuple[str, str] | None = None
    anonymous: bool = False
    # What a flow author reads in the connector, when it differs from `summary`.
    connector_summary: str | None = None


_CORRELATION_HEADER = (
    {"type": "string"},
    Label("Correlation ID", "The correlation ID of this request (yours, or a new GUID)."),
)
_RETRY_AFTER_HEADER = (
    {"type": "integer", "format": "int32"},
    Label("Retry after", "Seconds to wait before trying again, when the function knows."),
)
_WWW_AUTHENTICATE_HEADER = (
    {"type": "string"},
    Label("WWW-Authenticate", "The bearer challenge: why the caller token was refused."),
)
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


def problem_answers(
    codes: Iterable[str] | None = None, schema: str = "Problem"
) -> dict[int, Answer]:
    """One problem answer per status of `codes` (every code by default)."""
    responses = {}
    for status, found in problem_codes_by_status(codes).items():
        headers = {"x-correlation-id": _CORRELATION_HEADER}
        if status in {429, 503} or "secret_not_ready" in found:
            headers["Retry-After"] = _RETRY_AFTER_HEADER
        if status == 401:
            headers["WWW-Authenticate"] = _WWW_AUTHENTICATE_HEADER
        text = _STATUS_TEXT.get(status, f"HTTP {status}")
        responses[status] = Answer(f"{text}: {', '.join(found)}.", schema, PROBLEM_JSON, headers)
    return responses


def reset_responses() -> dict[int, Answer]:
    return {
        200: Answer(
            "The password was reset, or with dryRun=true every check passed (warnings say "
            "what the dry run could not check).",
            "ResetPasswordAnswer",
            headers={"x-correlation-id": _CORRELATION_HEADER},
        ),
        **problem_answers(RESET_PROBLEMS),
    }


_CUSTOMER_RULE = (
    "The customer's tenant ID (GUID), or any domain its tenant verified (contoso.com as well "
    f"as contoso.onmicrosoft.com): at most {MAX_DOMAIN_LENGTH} characters, two or more labels "
    "of letters, digits and inner hyphens, 1-63 characters each."
)
_USER_PRINCIPAL_NAME_RULE = (
    f"A userPrincipalName is a local part of 1-{MAX_LOCAL_PART_LENGTH} characters (letters, "
    "digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~, single dots between them; no % "
    "followed by two hex digits, the mark of a second URL-encoding), then @ and a domain as "
    "for the customer; URL-encode it in the path. The pattern admits a subset that a "
    "portable regex can state: no %, a local part longer than "
    f"{api_patterns.LOCAL_PART_ANY_FORM} characters only when dots break it up, and at most "
    f"{api_patterns.MAX_USER_LENGTH} characters in all; the function accepts the rest too."
)


def user_parameter(pattern: str, what: str) -> Parameter:
    return Parameter(
        "user",
        "path",
        {"type": "string", "maxLength": api_patterns.MAX_USER_LENGTH, "pattern": pattern},
        Label("User", f"The user's {what}. {_USER_PRINCIPAL_NAME_RULE}", "important"),
        required=True,
    )


def reset_options() -> list[Parameter]:
    """The query and header parameters every reset route takes."""
    return [
        Parameter(
            "dryRun",
            "query",
            {"type": "boolean", "default": False},
            Label(
                "Dry run",
                "true or false (any case). Run every check (caller, policy, validation, "
                "lookups, protected account, the partner's GDAP access) and stop before the "
                "reset; the answer's status is then 'validated'. No GDAP role that may reset: "
                "403 partner_forbidden, as the reset would be; GDAP not readable: a "
                "gdap_not_checked warning. An empty or repeated dryRun, or any other query "
                "parameter than dryRun and the function key's code, is refused with 400.",
                "advanced",
            ),
        ),
        Parameter(
            "x-correlation-id",
            "header",
            {"type": "string"},
            Label(
                "Correlation ID",
                "A GUID that ties this call to your own logs; sent on to Partner Center. "
                "A new one is made when absent or not a GUID.",
                "advanced",
            ),
        ),
        Parameter(
            "Idempotency-Key",
            "header",
            {
                "type": "string",
                "minLength": 1,
                "maxLength": api_patterns.MAX_IDEMPOTENCY_KEY_LENGTH,
                "pattern": api_patterns.idempotency_key_pattern(),
            },
            Label(
                "Idempotency key",
                "1-128 printable ASCII characters, not starting or ending with a space (HTTP "
                "trims those). Retries with the same key for the same customer, user and "
                "password are the same reset for Partner Center; the same key with another "
                "password is a new reset. Refused (400) with delivery: a generated password "
                "cannot be sent again.",
                "advanced",
            ),
        ),
    ]


_BODY = ("ResetPasswordBody", f"A JSON object of at most {MAX_BODY_BYTES // 1024} KiB.")
_RESET_DESCRIPTION = (
    "Sets a new password for a user of a CSP customer through Partner Center. With delivery "
    "'link' the function generates the password and answers a one-time link (secretLink) "
    "that shows it once to whoever opens it; with 'none' it generates one and forgets it (a "
    "scramble); or send your own password instead. A password never appears in any answer "
    "or log. A link needs its table: unreachable before the reset, 503 "
    "dependency_unavailable and nothing is reset; after it, 503 secret_link_not_stored (the "
    "password was set but cannot be delivered: reset again). A guest (B2B) user signs in at "
    "its home organisation: 409 user_is_guest, nothing is sent."
)
_CONNECTOR_SUMMARY = "Reset a user's password with a one-time link"


def reset_operation() -> Operation:
    customer = Parameter(
        "customer",
        "path",
        {
            "type": "string",
            "maxLength": api_patterns.MAX_CUSTOMER_LENGTH,
            "pattern": api_patterns.customer_pattern(),
        },
        Label("Customer", _CUSTOMER_RULE, "important"),
        required=True,
    )
    return Operation(
        "post",
        "ResetPassword",
        "Reset a customer user's password",
        _RESET_DESCRIPTION,
        "important",
        [
            customer,
            user_parameter(api_patterns.user_pattern(), "object ID (GUID) or userPrincipalName"),
            *reset_options(),
        ],
        reset_responses(),
        body=_BODY,
        connector_summary=_CONNECTOR_SUMMARY,
    )


def upn_only_reset_operation() -> Operation:
    """`POST /users/{user}/resetpassword`: the customer is the tenant of the UPN's domain."""
    return Operation(
        "post",
        "ResetPasswordByUserPrincipalName",
        "Reset a user's password by userPrincipalName",
        _RESET_DESCRIPTION + " The customer is the tenant that verified the UPN's domain.",
        "advanced",
        [
            user_parameter(api_patterns.user_principal_name_pattern(), "userPrincipalName"),
            *reset_options(),
        ],
        reset_responses(),
        body=_BODY,
    )


def health_operation() -> Operation:
    return Operation(
        "get",
        "Health",
        "Check that the service is up",
        "Anonymous liveness check; calls no dependency.",
        "advanced",
        [],
        {200: Answer("The service is up.", "Health")},
        anonymous=True,
    )


# What GET /health/credentials answers as a problem (contract section 2).
CREDENTIALS_HEALTH_PROBLEMS = ("invalid_request", "unauthenticated", "forbidden", "internal_error")


def credentials_health_operation() -> Operation:
    probe = Parameter(
        "probe",
        "query",
        {"type": "boolean", "default": False},
        Label(
            "Probe",
            "true or false (any case): also make one token exchange with the stored refresh "
            "token. Needs the operator app role when caller tokens are on. At most one real "
            "exchange per HEALTH_PROBE_MIN_SECONDS per instance; within that the answer "
            "reports the last one ('probed': false, 'lastProbeAt'). An empty or repeated "
            "probe, or any other query parameter than probe and the function key's code, is "
            "refused with 400.",
            "advanced",
        ),
    )
    report = {"x-correlation-id": _CORRELATION_HEADER}
    return Operation(
        "get",
        "CredentialsHealth",
        "Check the Partner Center credentials",
        "The refresh token's age, the app secret's expiry, Key Vault, the last token exchange "
        "and MFA, each with what to do; never a secret value. With caller tokens on, a valid "
        "caller token is required (401), and probe=true needs the operator app role (403).",
        "advanced",
        [probe],
        {
            200: Answer(
                "The credentials are ok, or need attention soon.",
                "CredentialsReport",
                headers=report,
            ),
            **problem_answers(CREDENTIALS_HEALTH_PROBLEMS),
            503: Answer(
                "A check is critical: resets fail or will fail soon.",
                "CredentialsReport",
                headers=report,
            ),
        },
    )


def link_id_parameter() -> Parameter:
    return Parameter(
        "linkId",
        "path",
        {
            "type": "string",
            "minLength": 22,
            "maxLength": 22,
            "pattern": api_patterns.link_id_pattern(),
        },
        Label(
            "Link ID",
            "The link's ID from its URL: 16 random bytes in base64url without padding. Any "
            "other value is a link that does not exist.",
        ),
        required=True,
    )


_PAGE_HEADERS: Mapping[str, tuple[JsonDict, Label]] = {
    "Content-Security-Policy": (
        {"type": "string"},
        Label(
            "Content-Security-Policy",
            "default-src 'none'; the page's own script and style by hash; connect-src "
            "'self'; frame-ancestors 'none'.",
        ),
    ),
    "Referrer-Policy": ({"type": "string"}, Label("Referrer-Policy", "no-referrer")),
    "Cache-Control": ({"type": "string"}, Label("Cache-Control", "no-store")),
    "X-Robots-Tag": ({"type": "string"}, Label("X-Robots-Tag", "noindex")),
}


def secret_page_operation() -> Operation:
    return Operation(
        "get",
        "OpenSecretLink",
        "The page of a one-time link",
        "What the person who got the link opens in a browser: a small page with one button "
        "that shows nothing secret, so a link preview (Teams, Outlook Safe Links, chat "
        "unfurlers) that fetches it does not use the link up. The click reveals: the page "
        "decrypts with WebCrypto and the key in the URL's fragment, which never reaches the "
        "server, shows the password with a copy button and says it must be changed at first "
        "sign-in. Anonymous.",
        "advanced",
        [link_id_parameter()],
        {
            200: Answer("The page, with its button.", None, HTML, _PAGE_HEADERS),
            404: Answer(
                "The page saying the link was opened already, has expired or does not exist.",
                None,
                HTML,
                _PAGE_HEADERS,
            ),
            500: Answer("The page saying the link cannot be opened now.", None, HTML),
            503: Answer(
                "The page saying the link cannot be opened now; it stays usable.",
                None,
                HTML,
                {"Retry-After": _RETRY_AFTER_HEADER},
            ),
        },
        anonymous=True,
    )


def secret_reveal_operation() -> Operation:
    return Operation(
        "post",
        "RevealSecretLink",
        "Spend a one-time link and get its sealed password",
        "What the page's button calls: deletes the link (ETag-conditional, so of two racing "
        "reveals exactly one gets it) and answers its sealed password once. A second "
        "reveal, an expired, unknown or malformed link: 404 secret_gone, one answer for all. "
        "A batch link whose reset has not happened yet: 409 secret_not_ready with "
        "Retry-After; it stays usable. Each reveal is audited (password_link.revealed). "
        "Anonymous.",
        "advanced",
        [link_id_parameter()],
        {
            200: Answer(
                "The sealed password, answered once.",
                "SealedPassword",
                headers={"x-correlation-id": _CORRELATION_HEADER},
            ),
            **problem_answers(REVEAL_PROBLEMS, "LinkProblem"),
        },
        body=("RevealBody", "The empty JSON object {}."),
        anonymous=True,
    )


def operations() -> dict[str, Operation]:
    return {
        RESET_PATH: reset_operation(),
        UPN_ONLY_RESET_PATH: upn_only_reset_operation(),
        HEALTH_PATH: health_operation(),
        CREDENTIALS_HEALTH_PATH: credentials_health_operation(),
        SECRET_PAGE_PATH: secret_page_operation(),
        SECRET_REVEAL_PATH: secret_reveal_operation(),
    }


def connector_operations() -> dict[str, Operation]:
    """What a flow calls: every operation but the one-time link's page and reveal."""
    return {path: op for path, op in operations().items() if path not in LINK_PATHS}


# --- Swagger 2.0 ----------------------------------------------------------------------


def _swagger_labels(label: Label) -> JsonDict:
    out: JsonDict = {"x-ms-summary": label.summary, "description": label.description}
    if label.visibility is not None:
        out["x-ms-visibility"] = label.visibility
    return out


def swagger_parameter(parameter: Parameter) -> JsonDict:
    out: JsonDict = {
        "name": parameter.name,
        "in": parameter.location,
        "required": parameter.required,
        **to_swagger_schema(parameter.schema),
        **_swagger_labels(parameter.label),
    }
    if parameter.location == "path":
        out["x-ms-url-encoding"] = "single"
    return out


def swagger_operation(operation: Operation) -> JsonDict:
    parameters = [swagger_parameter(p) for p in operation.parameters]
    if operation.body is not None:
        name, description = operation.body
        parameters.append(
            {
                "name": "body",
                "in": "body",
                "required": True,
                "x-ms-summary": "Request",
                "description": description,
                "schema": {"$ref": f"#/definitions/{name}"},
            }
        )
    responses: JsonDict = {}
    for status, answer in operation.responses.items():
        responses[str(status)] = {
            "description": answer.description,
            "schema": answer.schema_object("#/definitions/"),
        }
        if answer.headers:
            responses[str(status)]["headers"] = {
                name: {**to_swagger_schema(schema), **_swagger_labels(label)}
                for name, (schema, label) in answer.headers.items()
            }
    out: JsonDict = {
        "operationId": operation.operation_id,
        "summary": operation.connector_summary or operation.summary,
        "description": operation.description,
        "x-ms-visibility": operation.visibility,
    }
    if operation.body is not None:
        out["consumes"] = [JSON]
    out["produces"] = list(dict.fromkeys(a.media_type for a in operation.responses.values()))
    out["parameters"] = parameters
    out["responses"] = responses
    if operation.anonymous:
        out["security"] = []
    return out


def swagger_security(variant: Variant) -> tuple[JsonDict, list[JsonDict]]:
    if variant == "api_key":
        scheme: JsonDict = {
            "type": "apiKey",
            "name": FUNCTION_KEY_HEADER,
            "in": "header",
            "description": "A function key of the function app (host or function key).",
        }
        return {API_KEY_SCHEME: scheme}, [{API_KEY_SCHEME: []}]
    scheme = {
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
    return {OAUTH_SCHEME: scheme}, [{OAUTH_SCHEME: []}]


def _description(how: str) -> str:
    return (
        "Resets the password of a user in a Cloud Solution Provider customer's tenant "
        f"through Microsoft Partner Center. {how}"
    )


# What the connector's designer fills in before a flow author types anything: a reset
# with a one-time link (the function itself has no default; the author may clear it and
# send a password instead).
CONNECTOR_DEFAULTS: Mapping[str, Mapping[str, JsonValue]] = {
    "ResetPasswordBody": {"delivery": "link"},
}


def build_swagger(variant: Variant = "api_key") -> JsonDict:
    """The Swagger 2.0 document of the Power Automate connector, for one way to connect."""
    definitions = {
        name: to_swagger_schema(schema, f"#/definitions/{name}")
        for name, schema in component_schemas("#/definitions/{model}").items()
    }
    for name, defaults in CONNECTOR_DEFAULTS.items():
        for prop, value in defaults.items():
            definitions[name]["properties"][prop]["default"] = value
    security_definitions, requirement = swagger_security(variant)
    how = (
        "Connect with a function key of the function app."
        if variant == "api_key"
        else "Connect with your Microsoft Entra ID account (caller tokens on)."
    )
    return {
        "swagger": "2.0",
        "info": {"title": TITLE, "description": _description(how), "version": VERSION},
        "host": HOST_PLACEHOLDER,
        "basePath": BASE_PATH,
        "schemes": ["https"],
        "consumes": [JSON],
        "produces": [JSON, PROBLEM_JSON],
        "paths": {
            path: {operation.method: swagger_operation(operation)}
            for path, operation in connector_operations().items()
        },
        "definitions": definitions,
        "securityDefinitions": security_definitions,
        "security": requirement,
    }


# --- OpenAPI 3.1 and 3.0.3 ------------------------------------------------------------

OpenApiVersion = Literal["3.1.0", "3.0.3"]


def openapi_operation(operation: Operation, version: OpenApiVersion = "3.1.0") -> JsonDict:
    def schema_of(schema: JsonDict) -> Any:
        return to_openapi30_schema(schema) if version == "3.0.3" else schema

    out: JsonDict = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "description": operation.description,
        "parameters": [
            {
                "name": p.name,
                "in": p.location,
                "required": p.required,
                "description": p.label.description,
                "schema": schema_of({"title": p.label.summary, **p.schema}),
            }
            for p in operation.parameters
        ],
    }
    if operation.body is not None:
        name, description = operation.body
        out["requestBody"] = {
            "description": description,
            "required": True,
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    responses: JsonDict = {}
    for status, answer in operation.responses.items():
        response: JsonDict = {"description": answer.description}
        if answer.headers:
            response["headers"] = {
                name: {"description": label.description, "schema": schema_of(schema)}
                for name, (schema, label) in answer.headers.items()
            }
        reference = answer.schema_object("#/components/schemas/")
        response["content"] = {answer.media_type: {"schema": reference}}
        responses[str(status)] = response
    out["responses"] = responses
    if operation.anonymous:
        out["security"] = []
    return out


def build_openapi(version: OpenApiVersion = "3.1.0") -> JsonDict:
    """The OpenAPI document (3.1, or 3.0.3 for API Management, ServiceNow and the code
    generators that read no 3.1), for every client other than Power Automate."""
    schemas = component_schemas("#/components/schemas/{model}", (*MODELS, *LINK_MODELS))
    # Exactly one of the two: the rule a connector (Swagger 2.0) can only describe.
    schemas["ResetPasswordBody"]["oneOf"] = [{"required": ["password"]}, {"required": ["delivery"]}]
    converted = (
        {
            name: to_openapi30_schema(s, f"#/components/schemas/{name}")
            for name, s in schemas.items()
        }
        if version == "3.0.3"
        else to_openapi31_schema(schemas)
    )
    how = (
        "Send a function key (x-functions-key header or code query parameter) and, when the "
        "function requires caller tokens, a Microsoft Entra ID bearer token."
    )
    return {
        "openapi": version,
        "info": {"title": TITLE, "description": _description(how), "version": VERSION},
        "servers": [{"url": f"https://{HOST_PLACEHOLDER}{BASE_PATH}"}],
        "paths": {
            path: {operation.method: openapi_operation(operation, version)}
            for path, operation in operations().items()
        },
        "components": {
            "schemas": converted,
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": FUNCTION_KEY_HEADER},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": FUNCTION_KEY_QUERY},
                "callerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A token for CALLER_AUDIENCE, when caller tokens are on.",
                },
            },
        },
        "security": [
            {"functionKey": []},
            {"functionKeyQuery": []},
            {"functionKey": [], "callerToken": []},
            {"functionKeyQuery": [], "callerToken": []},
        ],
    }


# --- files ----------------------------------------------------------------------------


def build_document(document: Document = "api_key") -> JsonDict:
    """One document, refused when any of its patterns leaves the interoperable subset."""
    if document == "openapi":
        built = build_openapi()
    elif document == "openapi30":
        built = build_openapi("3.0.3")
    else:
        built = build_swagger(document)
    for where, pattern in iter_patterns(built):
        reason = api_patterns.outside_subset(pattern)
        if reason is not None:
            raise SchemaConversionError(f"{document} {where}: {reason}")
    return built


def iter_patterns(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """Every `pattern` keyword of a document (a property named 'pattern' is a schema, not
    a string, and is walked into instead)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield f"{where}/pattern", value
            else:
                yield from iter_patterns(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from iter_patterns(item, f"{where}/{index}")


def render(document: Document = "api_key") -> str:
    """The document as committed: two-space indent, trailing newline."""
    return json.dumps(build_document(document), indent=2, ensure_ascii=False) + "\n"


def iter_schemas(document: Mapping[str, Any]) -> Iterator[tuple[str, JsonDict]]:
    """Every property and item schema of every Swagger definition, with its location.

    A `$ref` is skipped: it is checked where it is defined.
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
    parser.add_argument("--document", choices=DOCUMENTS, default="api_key")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite every committed file")
    action.add_argument("--check", action="store_true", help="fail when a file is stale")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        sys.stdout.write(render(args.document))
        return 0
    stale = []
    for document, path in OUTPUT_FILES.items():
        text = render(document)
        if path.exists() and path.read_text(encoding="utf-8") == text:
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
