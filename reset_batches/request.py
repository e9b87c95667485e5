"""Turns `POST /api/customers/{customer}/resetpasswords` into a validated `BatchOrder`, or
a 400/413/415 naming every problem at once: each bad entry as `users[i]`.

Nothing is stored or queued until the whole request is valid. The single reset's rules
are reused, not restated: the customer and user syntax (reset_password/names.py), the
ticketId rule (reset_password/models.py), the media type check. Messages come from our
own table, never from the input: pydantic errors quote the input, so none reaches anyone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from reset_batches.records import BatchOrder, RequestedUser
from reset_password.models import RequestedBy, TicketId
from reset_password.names import parse_customer, parse_user
from reset_password.request import CUSTOMER_MESSAGE, USER_MESSAGE, check_media_type
from shared.errors import InvalidRequest, PayloadTooLarge
from shared.field_names import shown_field
from shared.query import query_parameters, shown_name, unknown_parameters

MAX_USERS = 1000
# A thousand of the longest userPrincipalNames the syntax allows (367 characters) fit.
MAX_BODY_BYTES = 512 * 1024
ROUTE = re.compile(r"/customers/(?P<customer>[^/]*)/resetpasswords/?$", re.IGNORECASE)

_FIELDS = "users, delivery, revokeSessions, ticketId, requestedBy"
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": f"is not a known field (allowed: {_FIELDS})",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "literal_error": 'must be "none" (scramble) or "link" (a one-time link per user)',
    "string_pattern_mismatch": "must not contain control characters",
    "ticket_characters": "must not contain control, format or line-separator characters",
}
_LENGTHS = {
    "ticketId": "must be 1 to 64 characters long",
    "requestedBy": "must be 1 to 128 characters long",
}
GENERATED_ONLY_MESSAGE = (
    "is not accepted in a batch: the function generates each user's password "
    '(delivery "none" or "link")'
)


class BatchOptions(BaseModel):
    """The body's fields besides `users` (validated entry by entry on their own)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)

    delivery: Literal["none", "link"]
    revoke_sessions: bool = Field(False, alias="revokeSessions")
    ticket_id: TicketId | None = Field(None, alias="ticketId")
    requested_by: RequestedBy | None = Field(None, alias="requestedBy")


def customer_value(req: func.HttpRequest) -> str | None:
    """`{customer}` as the host handed it over (some harnesses hand over only the URL)."""
    given = (req.route_params or {}).get("customer")
    if isinstance(given, str):
        return given
    match = ROUTE.search(urlsplit(req.url).path)
    return None if match is None else unquote(match.group("customer"))


def parse_batch_order(req: func.HttpRequest) -> BatchOrder:
    check_media_type(req.headers)
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body may be at most {MAX_BODY_BYTES} bytes (512 KiB).")
    errors: list[dict[str, str]] = []
    customer_sent = customer_value(req)
    customer = parse_customer(customer_sent)
    if customer is None:
        errors.append({"field": "customer", "message": CUSTOMER_MESSAGE})
    for name in unknown_parameters(query_parameters(req), frozenset()):
        errors.append({"field": shown_name(name), "message": "is not a known query parameter"})
    if req.headers.get("idempotency-key") is not None:
        message = "is refused with a batch: a retry is a new batch, with new passwords"
        errors.append({"field": "Idempotency-Key", "message": message})
    body = _json_object(raw, errors)
    users = _users(body.get("users"), errors) if body is not None else None
    options = _options(body, errors) if body is not None else None
    if errors or customer is None or customer_sent is None or users is None or options is None:
        raise InvalidRequest(_summary(errors), errors=errors)
    return BatchOrder(
        customer_sent=customer_sent,
        customer=customer,
        users=users,
        delivery=options.delivery,
        revoke_sessions=options.revoke_sessions,
        ticket_id=options.ticket_id,
        requested_by=options.requested_by,
    )


def _json_object(raw: bytes, errors: list[dict[str, str]]) -> dict[str, Any] | None:
    if not raw.strip():
        errors.append({"field": "body", "message": "is required: send a JSON object"})
        return None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        errors.append({"field": "body", "message": "is not valid JSON"})
        return None
    if not isinstance(value, dict):
        errors.append({"field": "body", "message": "must be a JSON object"})
        return None
    return value


def _users(value: object, errors: list[dict[str, str]]) -> tuple[RequestedUser, ...] | None:
    """Every entry checked, each bad one named `users[i]`; a repeat names the first."""
    if value is None:
        errors.append({"field": "users", "message": "is required"})
        return None
    if not isinstance(value, list):
        message = "must be a JSON array of user object IDs or userPrincipalNames"
        errors.append({"field": "users", "message": message})
        return None
    if not 1 <= len(value) <= MAX_USERS:
        errors.append({"field": "users", "message": f"must hold 1 to {MAX_USERS} users"})
        return None
    found: list[RequestedUser] = []
    first_seen: dict[str, int] = {}
    ok = True
    for index, entry in enumerate(value):
        field = f"users[{index}]"
        ref = parse_user(entry) if isinstance(entry, str) else None
        if ref is None:
            errors.append({"field": field, "message": USER_MESSAGE})
            ok = False
            continue
        # Object IDs and UPNs are both compared lower-cased (Entra ignores their case).
        earlier = first_seen.setdefault(ref.requested, index)
        if earlier != index:
            errors.append({"field": field, "message": f"repeats users[{earlier}]"})
            ok = False
            continue
        assert isinstance(entry, str)
        found.append(RequestedUser(entry, ref))
    return tuple(found) if ok else None


def _options(body: Mapping[str, Any], errors: list[dict[str, str]]) -> BatchOptions | None:
    rest = {name: value for name, value in body.items() if name != "users"}
    try:
        return BatchOptions.model_validate(rest)
    except PydanticValidationError as exc:
        # Each message comes from the error's type alone, and the error itself is dropped
        # here: its input (a password sent anyway) reaches no answer, log or traceback.
        for error in exc.errors(include_input=False, include_url=False, include_context=False):
            loc = error["loc"]
            field = shown_field(".".join(str(part) for part in loc)) if loc else "body"
            errors.append({"field": field, "message": _message(field, error["type"])})
        return None


def _message(field: str, error_type: str) -> str:
    if field == "password" and error_type == "extra_forbidden":
        return GENERATED_ONLY_MESSAGE
    if error_type in {"string_too_short", "string_too_long"}:
        return _LENGTHS.get(field, "has an invalid length")
    return _MESSAGES.get(error_type, "has an invalid value")


def _summary(errors: list[dict[str, str]]) -> str:
    fields = list(dict.fromkeys(error["field"] for error in errors))
    shown = ", ".join(fields[:10]) + (f" and {len(fields) - 10} more" if len(fields) > 10 else "")
    return f"The request has invalid values: {shown}. See 'errors' for each rule."
