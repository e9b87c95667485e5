"""Generates the published API documents from the app's routes, the pydantic models and
the error classes.

python -m dev.openapi                       # the API-key Swagger 2.0 document to stdout
python -m dev.openapi --document openapi    # the OpenAPI 3.1 document to stdout
python -m dev.openapi --document openapi30  # the OpenAPI 3.0.3 document to stdout
python -m dev.openapi --write               # rewrite every committed document
python -m dev.openapi --check               # exit 1 when a committed document is out of date

One description of the routes: each documented operation names its function, and the
path, method and auth level come from that function's HTTP trigger, read from the
blueprints as function_app.py makes them; its path and query parameters must be the
route's own (its path's placeholders, its module's known query parameters). What the
answers hold: dev/api_models.py (pydantic's JSON Schema, labelled), turned into each
document's dialect by dev/api_schemas.py. The generator also refuses a `pattern` outside
the interoperable regex subset (dev/api_patterns.py).

Development tooling only: never imported by `function_app.py`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, NoReturn

import azure.functions as func
from azure.functions.decorators.http import HttpTrigger
from pydantic import JsonValue

from credentials import health_route
from dev import api_patterns
from dev.api_models import (
    BATCH_ACCEPT_PROBLEMS,
    BATCH_STATUS_PROBLEMS,
    LINK_MODELS,
    MODELS,
    RESET_PROBLEMS,
    REVEAL_PROBLEMS,
    Label,
    component_schemas,
    problem_codes_by_status,
)
from dev.api_schemas import (
    JsonDict,
    SchemaConversionError,
    inline_nullable_references,
    to_openapi30_schema,
    to_openapi31_schema,
    to_swagger_schema,
)
from reset_batches import request as batch_request
from reset_batches import routes as batch_routes
from reset_batches import status as batch_status
from reset_password import request as reset_request
from reset_password import routes as reset_routes
from reset_password.models import MAX_BODY_BYTES
from reset_password.names import MAX_DOMAIN_LENGTH, MAX_LOCAL_PART_LENGTH
from secret_links.routes import secret_links_blueprint
from shared.version import VERSION
from worker import liveness

Variant = Literal["api_key", "oauth"]
Document = Literal["api_key", "oauth", "openapi", "openapi30"]
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
FUNCTION_KEY_HEADER = "x-functions-key"
FUNCTION_KEY_QUERY = "code"
API_KEY_SCHEME = "api_key"
OAUTH_SCHEME = "oauth2_auth"
AUTHORIZATION_URL = "https://login.microsoftonline.com/common/oauth2/authorize"
TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/token"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
HTML = "text/html"


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
    """What a document says of one registered function beyond its route (which is the
    function's own: `Route`)."""

    function: str
    operation_id: str
    summary: str
    description: str
    # "none": shown among the actions, after the "important" ones.
    visibility: Literal["important", "none", "advanced"]
    parameters: Sequence[Parameter]
    responses: Mapping[int, Answer]
    body: tuple[str, str] | None = None
    # The query parameters the route knows (it refuses any other): the documented ones.
    known_query: frozenset[str] = frozenset()
    # What a flow author reads in the connector, when it differs from `summary`.
    connector_summary: str | None = None


@dataclass(frozen=True)
class Route:
    """A registered function's HTTP trigger, as the documents state it."""

    path: str
    method: str
    anonymous: bool


def _not_served() -> NoReturn:
    raise RuntimeError("the API documents read the routes; they serve no request")


@cache
def routes() -> Mapping[str, Route]:
    """The documented blueprints' routes by function name: the blueprints made as
    function_app.py makes them, with providers that no document calls."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(reset_routes.blueprint(_not_served))
    app.register_functions(liveness.blueprint())
    app.register_functions(health_route.blueprint(_not_served, _not_served))
    app.register_functions(secret_links_blueprint(_not_served))
    app.register_functions(batch_routes.blueprint(_not_served))
    found: dict[str, Route] = {}
    for function in app.get_functions():
        if not isinstance(function.get_trigger(), HttpTrigger):
            continue  # the link purge's timer, the batch queue's trigger: no route
        trigger: Any = function.get_trigger()
        (method,) = trigger.methods
        found[str(function.get_function_name())] = Route(
            f"/{trigger.route}",
            str(method.value).lower(),
            str(trigger.auth_level.value) == "anonymous",
        )
    return found


def path_of(function: str) -> str:
    """The documented path of a registered function (below BASE_PATH)."""
    return routes()[function].path


# The one-time link's routes serve a person's browser, not a flow: the connector has none.
LINK_FUNCTIONS = ("secret_link_page", "secret_link_reveal")
LINK_PATHS = tuple(path_of(function) for function in LINK_FUNCTIONS)


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


def customer_parameter() -> Parameter:
    return Parameter(
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


def correlation_parameter() -> Parameter:
    return Parameter(
        "x-correlation-id",
        "header",
        {"type": "string"},
        Label(
            "Correlation ID",
            "A GUID that ties this call to your own logs; sent on to Partner Center. "
            "A new one is made when absent or not a GUID.",
            "advanced",
        ),
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
        correlation_parameter(),
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
    return Operation(
        "reset_password",
        "ResetPassword",
        "Reset a customer user's password",
        _RESET_DESCRIPTION,
        "important",
        [
            customer_parameter(),
            user_parameter(api_patterns.user_pattern(), "object ID (GUID) or userPrincipalName"),
            *reset_options(),
        ],
        reset_responses(),
        body=_BODY,
        known_query=reset_request.KNOWN_QUERY_PARAMETERS,
        connector_summary=_CONNECTOR_SUMMARY,
    )


def upn_only_reset_operation() -> Operation:
    """`POST /users/{user}/resetpassword`: the customer is the tenant of the UPN's domain."""
    return Operation(
        "reset_password_by_upn",
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
        known_query=reset_request.KNOWN_QUERY_PARAMETERS,
    )


_LOCATION_HEADER = (
    {"type": "string"},
    Label("Location", "The batch's status, below the host: /api/batches/{batchId}."),
)
_BATCH_DESCRIPTION = (
    "Resets many users of one customer, each with a password the function generates: "
    "'link' answers a one-time link per user, 'none' scrambles. Every entry is checked "
    "first (400 names each bad one as users[i]); then the batch is queued and answered at "
    "once with 202: read its progress with GetBatchStatus (statusUrl) until it is 'completed'. "
    "Each user is reset as a single reset would be (lookups, the caller's policy, the "
    "protected-account check, one audit record each). A password, an Idempotency-Key and "
    "any query parameter are refused. In Power Automate turn on Secure outputs on this "
    "action, since the answer holds the links, and leave its Asynchronous pattern setting "
    "off: the links are in this 202's body alone, and a flow that followed Location would "
    "get the status instead."
)


def batch_accept_operation() -> Operation:
    max_kib = batch_request.MAX_BODY_BYTES // 1024
    return Operation(
        "reset_password_batch",
        "ResetPasswordsBatch",
        "Reset the passwords of many users of one customer",
        _BATCH_DESCRIPTION,
        "none",
        [customer_parameter(), correlation_parameter()],
        {
            202: Answer(
                "The batch was accepted and queued; with delivery 'link', each user's link.",
                "BatchAccepted",
                headers={"Location": _LOCATION_HEADER, "x-correlation-id": _CORRELATION_HEADER},
            ),
            **problem_answers(BATCH_ACCEPT_PROBLEMS),
        },
        body=("ResetPasswordsBatchBody", f"A JSON object of at most {max_kib} KiB."),
        connector_summary="Reset many users' passwords (batch)",
    )


def batch_status_operation() -> Operation:
    last_page = -(-batch_request.MAX_USERS // batch_status.PAGE_SIZE)
    batch_id = Parameter(
        "batchId",
        "path",
        {"type": "string", "minLength": 36, "maxLength": 36, "pattern": f"^{api_patterns.GUID}$"},
        Label(
            "Batch ID",
            "The batchId of the accepted batch (a GUID). A batch another caller made reads as "
            "one that does not exist: 404 batch_not_found.",
            "important",
        ),
        required=True,
    )
    page = Parameter(
        batch_status.PAGE_PARAMETER,
        "query",
        {"type": "integer", "minimum": 1, "maximum": last_page, "default": 1},
        Label(
            "Page",
            f"Which {batch_status.PAGE_SIZE} items (default: the first). Follow nextLink rather "
            "than counting: a page the batch does not have is refused with 400, never read as "
            "the first. Any other query parameter than page and the function key's code is "
            "refused with 400.",
            "advanced",
        ),
    )
    return Operation(
        "batch_status",
        "GetBatchStatus",
        "Get the status of a password reset batch",
        "How far a batch got: counts of succeeded, failed and pending users, and each user's "
        f"status and code, {batch_status.PAGE_SIZE} a page with nextLink. 'completed' once no "
        "user is pending. For the caller that made the batch only. Holds no password or link.",
        "none",
        [batch_id, page, correlation_parameter()],
        {
            200: Answer(
                "The batch's progress.",
                "BatchStatus",
                headers={"x-correlation-id": _CORRELATION_HEADER},
            ),
            **problem_answers(BATCH_STATUS_PROBLEMS, "BatchProblem"),
        },
        known_query=batch_status.KNOWN_QUERY_PARAMETERS,
    )


def health_operation() -> Operation:
    return Operation(
        "health",
        "Health",
        "Check that the service is up",
        "Anonymous liveness check; calls no dependency.",
        "advanced",
        [],
        {200: Answer("The service is up.", "Health")},
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
        "credentials_health",
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
        known_query=health_route.KNOWN_QUERY_PARAMETERS,
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
        "secret_link_page",
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
    )


def secret_reveal_operation() -> Operation:
    return Operation(
        "secret_link_reveal",
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
    )


def operations() -> list[tuple[Route, Operation]]:
    """Every documented operation with its route, in the documents' order; refused when
    its parameters are not its route's own."""
    documented = [
        reset_operation(),
        upn_only_reset_operation(),
        batch_accept_operation(),
        batch_status_operation(),
        health_operation(),
        credentials_health_operation(),
        secret_page_operation(),
        secret_reveal_operation(),
    ]
    return [(_checked_route(operation), operation) for operation in documented]


def connector_operations() -> list[tuple[Route, Operation]]:
    """What a flow calls: every operation but the one-time link's page and reveal."""
    return [(r, op) for r, op in operations() if op.function not in LINK_FUNCTIONS]


def _checked_route(operation: Operation) -> Route:
    route = routes()[operation.function]
    stated = {location: [p.name for p in operation.parameters if p.location == location]
              for location in ("path", "query")}  # fmt: skip
    if stated["path"] != re.findall(r"\{(\w+)\}", route.path):
        raise SchemaConversionError(
            f"{operation.function}: path parameters {stated['path']} are not {route.path}'s"
        )
    if set(stated["query"]) != operation.known_query:
        raise SchemaConversionError(
            f"{operation.function}: query parameters {stated['query']} are not the route's "
            f"{sorted(operation.known_query)}"
        )
    return route


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


def swagger_operation(operation: Operation, route: Route) -> JsonDict:
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
    if route.anonymous:
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
    schemas = inline_nullable_references(component_schemas("#/definitions/{model}"))
    definitions = {
        name: to_swagger_schema(schema, f"#/definitions/{name}") for name, schema in schemas.items()
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
            route.path: {route.method: swagger_operation(operation, route)}
            for route, operation in connector_operations()
        },
        "definitions": definitions,
        "securityDefinitions": security_definitions,
        "security": requirement,
    }


# --- OpenAPI 3.1 and 3.0.3 ------------------------------------------------------------

OpenApiVersion = Literal["3.1.0", "3.0.3"]


def openapi_operation(
    operation: Operation, route: Route, version: OpenApiVersion = "3.1.0"
) -> JsonDict:
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
    if route.anonymous:
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
            for name, s in inline_nullable_references(schemas).items()
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
            route.path: {route.method: openapi_operation(operation, route, version)}
            for route, operation in operations()
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
