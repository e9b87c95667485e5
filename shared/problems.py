"""RFC 9457 problem answers and the JSON answers of the HTTP routes."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from shared.errors import ProblemError, Unauthenticated

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


def problem_body(error: ProblemError, correlation_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        "correlationId": correlation_id,
    }
    if error.errors is not None:
        body["errors"] = error.errors
    for key, value in error.extra.items():
        body.setdefault(key, value)
    return body


def problem_response(error: ProblemError, correlation_id: str) -> func.HttpResponse:
    headers = {"x-correlation-id": correlation_id, "Cache-Control": "no-store"}
    if error.retry_after is not None:
        low, high = RETRY_AFTER_BOUNDS
        headers["Retry-After"] = str(min(high, max(low, int(error.retry_after))))
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = error.challenge
    return func.HttpResponse(
        body=json.dumps(problem_body(error, correlation_id), separators=(",", ":")),
        status_code=error.status,
        headers=headers,
        mimetype="application/problem+json",
        charset="utf-8",
    )
