"""RFC 9457 problem answers and the JSON answers of the HTTP routes.

The one place where a domain error gets its HTTP meaning: `PROBLEMS` maps each error
type to its status, code and title.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from shared.errors import (
    ConfigurationError,
    CustomerNotFound,
    DependencyUnavailable,
    DomainError,
    Forbidden,
    InternalError,
    InvalidRequest,
    PartnerCredentialsInvalid,
    PartnerForbidden,
    PayloadTooLarge,
    ProtectedUser,
    SecretLinkNotStored,
    Throttled,
    Unauthenticated,
    UnsupportedMediaType,
    UpstreamError,
    UpstreamTimeout,
    UserIsGuest,
    UserNotCloudManaged,
    UserNotFound,
)


@dataclass(frozen=True)
class Problem:
    status: int
    code: str
    title: str


PROBLEMS: Mapping[type[DomainError], Problem] = {
    InvalidRequest: Problem(400, "invalid_request", "The request is not valid"),
    Unauthenticated: Problem(401, "unauthenticated", "A valid caller token is required"),
    Forbidden: Problem(403, "forbidden", "The caller may not do this"),
    ProtectedUser: Problem(403, "protected_user", "The target account is protected"),
    PartnerForbidden: Problem(
        403, "partner_forbidden", "Partner Center refused the partner's access to this customer"
    ),
    CustomerNotFound: Problem(404, "customer_not_found", "Customer not found"),
    UserNotFound: Problem(404, "user_not_found", "User not found"),
    UserNotCloudManaged: Problem(
        409, "user_not_cloud_managed", "The user's password is not managed in the cloud"
    ),
    UserIsGuest: Problem(409, "user_is_guest", "The user is a guest of the customer's tenant"),
    PayloadTooLarge: Problem(413, "payload_too_large", "The request body is too large"),
    UnsupportedMediaType: Problem(415, "unsupported_media_type", "The request body must be JSON"),
    Throttled: Problem(429, "throttled", "Partner Center is throttling requests"),
    InternalError: Problem(500, "internal_error", "Internal error"),
    ConfigurationError: Problem(
        500, "configuration_error", "The function is not configured correctly"
    ),
    UpstreamError: Problem(502, "upstream_error", "Partner Center failed"),
    DependencyUnavailable: Problem(503, "dependency_unavailable", "A dependency is unavailable"),
    PartnerCredentialsInvalid: Problem(
        503, "partner_credentials_invalid", "The stored Partner Center credentials were rejected"
    ),
    SecretLinkNotStored: Problem(
        503, "secret_link_not_stored", "The password was set but its one-time link was not stored"
    ),
    UpstreamTimeout: Problem(504, "upstream_timeout", "The reset did not finish in time"),
}


def problem_for(error: DomainError) -> Problem:
    """The problem of the error's type, or of its nearest mapped base; a bug otherwise."""
    for cls in type(error).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]
    return PROBLEMS[InternalError]


PROBLEM_TYPE_BASE = "urn:partner-password-reset:problem:"
# Whatever upstream asked for, callers get a wait they can act on.
RETRY_AFTER_BOUNDS = (1, 300)


def json_response(
    body: dict[str, Any], *, status: int = 200, correlation_id: str | None = None
) -> func.HttpResponse:
    headers = {"Cache-Control": "no-store"}
    if correlation_id is not None:
        headers["x-correlation-id"] = correlation_id
    return func.HttpResponse(
        body=json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers=headers,
        mimetype="application/json",
        charset="utf-8",
    )


def problem_body(error: DomainError, correlation_id: str) -> dict[str, Any]:
    problem = problem_for(error)
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + problem.code,
        "title": problem.title,
        "status": problem.status,
        "detail": error.detail,
        "code": problem.code,
        "correlationId": correlation_id,
    }
    if error.errors is not None:
        body["errors"] = error.errors
    return body


def problem_response(error: DomainError, correlation_id: str) -> func.HttpResponse:
    headers = {"x-correlation-id": correlation_id, "Cache-Control": "no-store"}
    if error.retry_after is not None:
        low, high = RETRY_AFTER_BOUNDS
        headers["Retry-After"] = str(min(high, max(low, int(error.retry_after))))
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = error.challenge
    return func.HttpResponse(
        body=json.dumps(problem_body(error, correlation_id), separators=(",", ":")),
        status_code=problem_for(error).status,
        headers=headers,
        mimetype="application/problem+json",
        charset="utf-8",
    )
