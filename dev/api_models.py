"""The answers' schemas as the published documents state them: the runtime models
(reset_password/models.py), the answers that have no runtime model, and what no model can
say (labels, rules, the connector's visibility). The generator refuses a model field
without a label, a label for no field, a label that contradicts the model and a model
without a description.

Development tooling only (dev/openapi.py); never imported by `function_app.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.json_schema import SkipJsonSchema

from dev import api_patterns
from dev.api_schemas import JsonDict, SchemaConversionError
from reset_batches.errors import BATCH_PROBLEMS
from reset_batches.request import MAX_BODY_BYTES as MAX_BATCH_BODY_BYTES
from reset_batches.request import MAX_USERS, BatchOptions
from reset_batches.status import PAGE_SIZE
from reset_password.models import (
    MAX_REQUESTED_BY_LENGTH,
    ResetPasswordAnswer,
    ResetPasswordBody,
    SecretLink,
)
from reset_password.password_policy import MAX_LENGTH, MIN_LENGTH, REQUIRED_CLASSES
from secret_links.routes import LINK_PROBLEMS
from shared.problems import PROBLEM_TYPE_BASE, PROBLEMS

Mode = Literal["validation", "serialization"]


def problem_statuses() -> dict[str, int]:
    """Every problem code the function answers, with its status (the one-time link
    routes' and the batch routes' own codes too)."""
    found = {problem.code: problem.status for problem in PROBLEMS.values()}
    found |= {problem.code: problem.status for problem in LINK_PROBLEMS.values()}
    return found | {problem.code: problem.status for problem in BATCH_PROBLEMS.values()}


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


def _in_status_order(codes: Iterable[str]) -> list[JsonValue]:
    """The codes as the documents list them: by status, then by name."""
    return [code for group in problem_codes_by_status(codes).values() for code in group]


_PROBLEM_CODES: list[JsonValue] = _in_status_order(RESET_PROBLEMS)
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
_LINK_PROBLEM_CODES: list[JsonValue] = _in_status_order(REVEAL_PROBLEMS)
# What the batch routes answer as a problem (reset_batches/routes.py): the caller's
# checks, the request's, storage out of reach; nothing goes upstream before the 202.
BATCH_ACCEPT_PROBLEMS = (
    "invalid_request",
    "unauthenticated",
    "forbidden",
    "payload_too_large",
    "unsupported_media_type",
    "configuration_error",
    "internal_error",
    "dependency_unavailable",
)
BATCH_STATUS_PROBLEMS = (
    "invalid_request",
    "unauthenticated",
    "forbidden",
    "batch_not_found",
    "configuration_error",
    "internal_error",
    "dependency_unavailable",
)
_BATCH_STATUS_CODES: list[JsonValue] = _in_status_order(BATCH_STATUS_PROBLEMS)


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


class LinkProblem(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    type: str
    title: str
    status: int = Field(json_schema_extra={"enum": list(problem_codes_by_status(REVEAL_PROBLEMS))})
    detail: str
    code: str = Field(json_schema_extra={"enum": _LINK_PROBLEM_CODES})
    correlation_id: str = Field(alias="correlationId")


class BatchProblem(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    type: str
    title: str
    status: int = Field(
        json_schema_extra={"enum": list(problem_codes_by_status(BATCH_STATUS_PROBLEMS))}
    )
    detail: str
    code: str = Field(json_schema_extra={"enum": _BATCH_STATUS_CODES})
    correlation_id: str = Field(alias="correlationId")
    errors: list[FieldError] = Field(default_factory=list)


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


def _batch_users(schema: JsonDict) -> None:
    """Each entry as the single reset's {user}: the same pattern, never looser than the
    function; JSON Schema's uniqueItems is the letter-case-blind rule's nearest."""
    schema["items"] = {
        "type": "string",
        "maxLength": api_patterns.MAX_USER_LENGTH,
        "pattern": api_patterns.user_pattern(),
    }
    schema["uniqueItems"] = True


def _users_first(schema: JsonDict) -> None:
    """`users` first: a form shows the fields in this order."""
    properties = schema["properties"]
    schema["properties"] = {"users": properties.pop("users"), **properties}


class ResetPasswordsBatchBody(BatchOptions):
    """The batch request as documented: the route's own options, and `users`, which the
    route checks entry by entry (reset_batches/request.py)."""

    model_config = ConfigDict(json_schema_extra=_users_first)

    users: list[str] = Field(min_length=1, max_length=MAX_USERS, json_schema_extra=_batch_users)


class BatchAcceptedItem(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    index: int
    user: str
    secret_link: SecretLink | None = Field(alias="secretLink")


class BatchAccepted(BaseModel):
    """What a batch's 202 holds (reset_batches/routes.py builds it field by field)."""

    model_config = ConfigDict(serialize_by_alias=True)

    batch_id: str = Field(alias="batchId", json_schema_extra={"format": "uuid"})
    status_url: str = Field(alias="statusUrl")
    total: int
    accepted_at: datetime = Field(alias="acceptedAt")
    items: list[BatchAcceptedItem]


class BatchStatusItem(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    index: int
    user: str
    user_id: str | None = Field(alias="userId")
    status: Literal["pending", "succeeded", "failed"]
    code: str | None
    sessions_revoked: bool | None = Field(alias="sessionsRevoked")


class BatchStatus(BaseModel):
    """What GET /batches/{batchId} answers (reset_batches/status.py)."""

    model_config = ConfigDict(serialize_by_alias=True)

    batch_id: str = Field(alias="batchId", json_schema_extra={"format": "uuid"})
    status: Literal["running", "completed"]
    total: int
    succeeded: int
    failed: int
    pending: int
    items: list[BatchStatusItem]
    # Present while there is a next page, never null.
    next_link: str | SkipJsonSchema[None] = Field(
        None, alias="nextLink", json_schema_extra=_no_default
    )


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
    (ResetPasswordsBatchBody, "validation"),
    (BatchAccepted, "serialization"),
    (BatchStatus, "serialization"),
    (BatchProblem, "serialization"),
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
    "ResetPasswordsBatchBody": (
        "A batch: many users of one customer, each reset with a password the function "
        f"generates. At most {MAX_BATCH_BODY_BYTES // 1024} KiB. Unknown fields, and a "
        "password, are refused with 400."
    ),
    "BatchAccepted": (
        "The batch was accepted: every user is queued and its reset runs behind this answer. "
        "With delivery 'link' each item's secretLink is here, and only here."
    ),
    "BatchAcceptedItem": "One user of the batch as accepted, in the order sent.",
    "BatchStatus": (
        f"A batch's progress, its users {PAGE_SIZE} a page. Never holds a password or a link."
    ),
    "BatchStatusItem": "What became of one user of the batch so far.",
    "BatchProblem": (
        "An RFC 9457 problem of a batch's status (application/problem+json). Branch on 'code'."
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
            "Zp). Recorded in the audit event and echoed back, so it must not contain the "
            "password the request sends (in any letter case).",
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
            "in the audit event and echoed back, so it must not contain the password the "
            "request sends (in any letter case). The pattern names only characters up to "
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
    "ResetPasswordsBatchBody": {
        "users": Label(
            "Users",
            f"1 to {MAX_USERS} users of the customer, each its object ID (GUID) or its "
            "userPrincipalName, as for a single reset, and none twice: the function compares "
            "them without letter case (ADA@contoso.com repeats ada@contoso.com), which the "
            "schema's uniqueItems cannot say. Each bad entry is named users[i] in the 400's "
            "errors. An object ID and the same user's UPN are two entries, and two resets.",
            "important",
        ),
        "delivery": Label(
            "Delivery",
            "Required: the function generates each user's password. 'link': each item of the "
            "answer has a one-time link (secretLink) to send that user by another channel than "
            "the ticket; it opens once the user's reset is done (until then its page says not "
            "ready). 'none': a scramble; each password is set and forgotten, for compromised "
            "accounts or leavers (usually with revokeSessions).",
            "important",
            {"examples": ["link"]},
        ),
        "revokeSessions": Label(
            "Revoke sign-in sessions",
            "After each user's reset, revoke the user's sign-in sessions and refresh tokens "
            "through Microsoft Graph (default: false), as for a single reset.",
            "advanced",
        ),
        "ticketId": Label(
            "Ticket ID",
            "Your ticket or incident number, as for a single reset: 1-64 characters without "
            "Unicode Cc, Cf, Zl, Zp. Recorded in each user's audit record.",
            rules={"examples": ["INC0012345"], "pattern": api_patterns.ticket_id_pattern()},
        ),
        "requestedBy": Label(
            "Requested by",
            f"Who asked for the batch, 1-{MAX_REQUESTED_BY_LENGTH} characters, the ticketId "
            "rule. Recorded in each user's audit record.",
            "advanced",
            {"examples": ["Grace Hopper"], "pattern": api_patterns.ticket_id_pattern()},
        ),
    },
    "BatchAccepted": {
        "batchId": Label("Batch ID", "The batch's ID (a GUID): give it to Get batch status."),
        "statusUrl": Label(
            "Status URL", "Where the batch's status is read (the Location header's, in full)."
        ),
        "total": Label("Total", "How many users the batch holds."),
        "acceptedAt": Label("Accepted at", "When the batch was accepted, in UTC."),
        "items": Label("Items", "One per user, in the order sent."),
    },
    "BatchAcceptedItem": {
        "index": Label("Index", "The user's place in users, from 0."),
        "user": Label("User", "The user as sent."),
        "secretLink": Label(
            "One-time link",
            "With delivery 'link', the link to send this user: answered here once and never "
            "again. null with 'none', or when the user could not be queued (the status says "
            "dependency_unavailable). Turn on Secure outputs to keep it out of run history.",
        ),
    },
    "BatchStatus": {
        "batchId": Label("Batch ID", "The batch's ID (a GUID)."),
        "status": Label("Status", "'running' while any user is pending; 'completed' once none is."),
        "total": Label("Total", "How many users the batch holds."),
        "succeeded": Label("Succeeded", "How many users were reset."),
        "failed": Label("Failed", "How many users were not reset (each item's code says why)."),
        "pending": Label("Pending", "How many users wait for their reset or its next try."),
        "items": Label("Items", f"This page's users, in the order sent, {PAGE_SIZE} at most."),
        "nextLink": Label(
            "Next page",
            "The URL of the next page of items, present while there is one.",
        ),
    },
    "BatchStatusItem": {
        "index": Label("Index", "The user's place in users, from 0."),
        "user": Label("User", "The user as sent."),
        "userId": Label("User ID", "The user's object ID once known, else null."),
        "status": Label("Status", "pending, succeeded or failed."),
        "code": Label(
            "Code",
            "null, or a code of the single reset's: why a user failed (protected_user, "
            "user_not_found, forbidden, secret_gone, ...), what pending waits out (throttled, "
            "upstream_error, ...), or what did not work after a reset that succeeded "
            "(sessions_not_revoked).",
        ),
        "sessionsRevoked": Label(
            "Sessions revoked",
            "true: revoked; false: asked for but failed; null: not asked, or not reset yet.",
        ),
    },
    "BatchProblem": {
        "type": Label("Problem type", f"A URI naming the problem: {PROBLEM_TYPE_BASE}<code>."),
        "title": Label("Title", "A short summary of the problem type."),
        "status": Label(
            "HTTP status", "The HTTP status code of this answer.", rules={"format": "int32"}
        ),
        "detail": Label("Detail", "What went wrong and what to do about it."),
        "code": Label(
            "Error code",
            "batch_not_found: no batch by this ID that this caller made (an unknown ID and "
            "another caller's batch read alike); or a code of the single reset's.",
        ),
        "correlationId": Label("Correlation ID", "Quote this GUID to support."),
        "errors": Label(
            "Field errors", "For invalid_request: each invalid parameter and the rule it broke."
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
            f"{name}: label every field in dev/api_models.py; "
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
            raise SchemaConversionError(f"{name}: describe the model in dev/api_models.py")
        schema["description"] = descriptions[name]
    return found
