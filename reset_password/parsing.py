"""Turns the incoming HTTP request into a validated `ResetRequest`, or a 400/413/415.

Validation problems are collected for the path, headers, query and body together, so a
caller sees everything to fix in one answer. Messages come from our own table, never
from the raw input: pydantic errors carry the input and must not reach anyone.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import azure.functions as func
from pydantic import SecretStr, ValidationError

from reset_password.models import MAX_BODY_BYTES, ResetPasswordBody
from reset_password.names import CustomerRef, UserRef, parse_customer, parse_user
from shared.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

IDEMPOTENCY_KEY = re.compile(r"^[\x20-\x7e]{1,128}$")
CUSTOMER_MESSAGE = "must be a customer tenant ID (GUID) or a verified domain such as contoso.com"
USER_MESSAGE = "must be a user object ID (GUID) or a userPrincipalName such as ada@contoso.com"
ROUTE = re.compile(r"/customers/(?P<customer>[^/]*)/users/(?P<user>[^/]*)/resetpassword/?$")

_BODY_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field (allowed: password, forceChangePassword, ticketId)",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "model_type": "must be a JSON object",
    "string_too_short": "must be 1 to 64 characters long",
    "string_too_long": "must be 1 to 64 characters long",
    "string_pattern_mismatch": "must not contain control characters",
    "json_invalid": "is not valid JSON",
}


@dataclass(frozen=True)
class ResetRequest:
    customer: CustomerRef
    user: UserRef
    password: SecretStr
    force_change_password: bool
    ticket_id: str | None
    idempotency_key: str | None
    dry_run: bool


def check_media_type(headers: Mapping[str, str]) -> None:
    declared = headers.get("content-type")
    if declared is None or not declared.strip():
        return
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("Send the body as JSON with 'Content-Type: application/json'.")


def read_body(req: func.HttpRequest) -> bytes:
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body may be at most {MAX_BODY_BYTES} bytes (16 KiB).")
    return body


def parse_reset_request(req: func.HttpRequest) -> ResetRequest:
    check_media_type(req.headers)
    raw_body = read_body(req)
    errors: list[dict[str, str]] = []
    route = _route_params(req)
    customer = parse_customer(route.get("customer"))
    if customer is None:
        errors.append({"field": "customer", "message": CUSTOMER_MESSAGE})
    user = parse_user(route.get("user"))
    if user is None:
        errors.append({"field": "user", "message": USER_MESSAGE})

    key = req.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        errors.append(
            {"field": "Idempotency-Key", "message": "must be 1 to 128 printable ASCII characters"}
        )

    dry_run = False
    dry_run_text = _query(req).get("dryRun")
    if dry_run_text is not None:
        if dry_run_text.strip().lower() in {"true", "1"}:
            dry_run = True
        elif dry_run_text.strip().lower() not in {"false", "0", ""}:
            errors.append({"field": "dryRun", "message": "must be true or false"})

    body = _parse_body(raw_body, errors)
    if errors or body is None or customer is None or user is None:
        raise InvalidRequest(_summary(errors), errors=errors)
    return ResetRequest(
        customer=customer,
        user=user,
        password=body.password,
        force_change_password=body.force_change_password,
        ticket_id=body.ticket_id,
        idempotency_key=key,
        dry_run=dry_run,
    )


def derive_request_id(*, caller: str, customer: str, user: str, key: str | None) -> uuid.UUID:
    """The MS-RequestId: random per reset, or stable for one caller's Idempotency-Key."""
    if key is None:
        return uuid.uuid4()
    name = "\n".join((caller.lower(), customer.lower(), user.lower(), key))
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, name)


IDEMPOTENCY_NAMESPACE = uuid.UUID("7d3f6c1e-2a4b-5c8d-9e0f-a1b2c3d4e5f6")


def _parse_body(raw: bytes, errors: list[dict[str, str]]) -> ResetPasswordBody | None:
    if not raw.strip():
        errors.append({"field": "body", "message": "is required: send a JSON object"})
        return None
    try:
        return ResetPasswordBody.model_validate_json(raw)
    except ValidationError as exc:
        # Rebuild each message from the error type; `from None` drops the original,
        # whose input (the password) would otherwise ride along in tracebacks.
        for error in exc.errors(include_input=False, include_url=False, include_context=False):
            field = ".".join(str(part) for part in error["loc"]) or "body"
            if error["type"] == "password_policy":
                message = str(error["msg"])
            else:
                message = _BODY_MESSAGES.get(error["type"], "has an invalid value")
            errors.append({"field": field, "message": message})
        return None


def _route_params(req: func.HttpRequest) -> Mapping[str, str]:
    if req.route_params:
        return dict(req.route_params)
    # Some hosts and test harnesses hand over only the URL.
    match = ROUTE.search(urlsplit(req.url).path)
    # Decode once, as the host does for route_params, so both paths see the same value.
    return {name: unquote(value) for name, value in match.groupdict().items()} if match else {}


def _query(req: func.HttpRequest) -> Mapping[str, str]:
    if req.params:
        return dict(req.params)
    return {name: values[0] for name, values in parse_qs(urlsplit(req.url).query).items()}


def _summary(errors: list[dict[str, str]]) -> str:
    fields = ", ".join(dict.fromkeys(error["field"] for error in errors))
    return f"The request has invalid values: {fields}. See 'errors' for each rule."
