"""Turns the incoming HTTP request into the validated `ResetOrder`, or a 400/413/415.

Validation problems are collected for the path, headers, query and body together, so a
caller sees everything to fix in one answer. Messages come from our own table, never
from the raw input: pydantic errors carry the input and must not reach anyone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import azure.functions as func
from pydantic import ValidationError

from reset_password.models import MAX_BODY_BYTES, ResetPasswordBody
from reset_password.names import CustomerRef, parse_customer, parse_user
from reset_password.records import CallerPassword, GeneratedPassword, PasswordSource, ResetOrder
from shared.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from shared.field_names import shown_field
from shared.query import query_parameters, shown_name, unknown_parameters

IDEMPOTENCY_KEY = re.compile(r"^[\x20-\x7e]{1,128}$")
_ENCODED_SLASH = re.compile("%2F", re.IGNORECASE)
CUSTOMER_MESSAGE = "must be a customer tenant ID (GUID) or a verified domain such as contoso.com"
UPN_MESSAGE = "must be a userPrincipalName such as ada@contoso.com"
USER_MESSAGE = "must be a user object ID (GUID) or a userPrincipalName such as ada@contoso.com"
ROUTE = re.compile(
    r"(?:/customers/(?P<customer>[^/]*))?/users/(?P<user>[^/]*)/resetpassword/?$",
    re.IGNORECASE,
)
KNOWN_QUERY_PARAMETERS = frozenset({"dryRun"})

_BODY_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": (
        "is not a known field (allowed: password, delivery, requestedBy, forceChangePassword, "
        "ticketId, revokeSessions)"
    ),
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "model_type": "must be a JSON object",
    "string_too_short": "must be 1 to 64 characters long",
    "string_too_long": "must be 1 to 64 characters long",
    "string_pattern_mismatch": "must not contain control characters",
    "ticket_characters": "must not contain control, format or line-separator characters",
    "literal_error": 'must be "link" or "none"',
    "json_invalid": "is not valid JSON",
}
# Messages of one field where the type's own would mislead.
_FIELD_MESSAGES = {
    ("requestedBy", "string_too_short"): "must be 1 to 128 characters long",
    ("requestedBy", "string_too_long"): "must be 1 to 128 characters long",
    # A wrong type is named by the one rule too: "link" or "none", nothing else.
    ("delivery", "string_type"): 'must be "link" or "none"',
}
SOURCE_MISSING = "password is required unless delivery is given"
SOURCE_TWICE = "must be absent when delivery is given: the function generates the password"
KEY_WITH_DELIVERY = (
    "must not be sent with delivery: a generated password cannot be sent again, so a "
    "retry is a new reset with a new password"
)


# The audit record keeps the path values as sent, cut to a length a log line can hold.
MAX_AUDITED_PATH_VALUE = 256


@dataclass(frozen=True)
class PathValues:
    """`{customer}` and `{user}` as the host handed them over, valid or not: read from the
    request once, the order is parsed from them and the audit keeps them as sent."""

    customer: str | None
    user: str | None

    @classmethod
    def of(cls, req: func.HttpRequest) -> PathValues:
        route = _route_params(req)
        return cls(route.get("customer"), route.get("user"))

    def audited(self) -> tuple[str | None, str | None]:
        def cut(value: str | None) -> str | None:
            return None if value is None else value[:MAX_AUDITED_PATH_VALUE]

        return cut(self.customer), cut(self.user)


def check_media_type(headers: Mapping[str, str]) -> None:
    declared = headers.get("content-type")
    if declared is None or not declared.strip():
        return
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("Send the body as JSON with 'Content-Type: application/json'.")


COPIED_SECRET_MESSAGE = "must not contain the password (it is audited and echoed)"  # noqa: S105 - about it


def read_body(req: func.HttpRequest) -> bytes:
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body may be at most {MAX_BODY_BYTES} bytes (16 KiB).")
    return body


def parse_reset_order(
    req: func.HttpRequest, path: PathValues, *, upn_only: bool = False
) -> ResetOrder:
    """The validated order; `path` is the request's own (`PathValues.of(req)`).
    `upn_only`: the route names only the user, by UPN, and the customer is the tenant
    that verified the UPN's domain."""
    check_media_type(req.headers)
    raw_body = read_body(req)
    errors: list[dict[str, str]] = []
    user = parse_user(_slash_decoded(path.user))
    customer: CustomerRef | None
    if upn_only:
        if user is None or user.upn is None:
            errors.append({"field": "user", "message": UPN_MESSAGE})
            customer = None
        else:
            # A guest's UPN (x_y.com#EXT#@contoso.onmicrosoft.com) ends in its host's domain.
            customer = CustomerRef(domain=user.upn.rpartition("@")[2])
    else:
        customer = parse_customer(path.customer)
        if customer is None:
            errors.append({"field": "customer", "message": CUSTOMER_MESSAGE})
        if user is None:
            errors.append({"field": "user", "message": USER_MESSAGE})

    key = req.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        errors.append(
            {"field": "Idempotency-Key", "message": "must be 1 to 128 printable ASCII characters"}
        )

    dry_run = _dry_run(query_parameters(req), errors)
    body = _parse_body(raw_body, errors)
    source = None if body is None else _password_source(body, key, errors)
    if errors or body is None or source is None or customer is None or user is None:
        raise InvalidRequest(_summary(errors), errors=errors)
    return ResetOrder(
        customer=customer,
        user=user,
        source=source,
        # A generated password is one nobody chose to keep: it is changed at first sign-in.
        force_change_password=body.force_change_password or body.delivery is not None,
        ticket_id=body.ticket_id,
        idempotency_key=key,
        dry_run=dry_run,
        revoke_sessions=body.revoke_sessions,
        requested_by=body.requested_by,
    )


def _password_source(
    body: ResetPasswordBody, key: str | None, errors: list[dict[str, str]]
) -> PasswordSource | None:
    """The caller's password, or a delivery of one the function generates: exactly one.
    A generated password cannot be resent, so an Idempotency-Key has nothing to repeat."""
    if body.delivery is None:
        if body.password is None:
            errors.append({"field": "password", "message": SOURCE_MISSING})
            return None
        if _copied_into_text_fields(body, body.password.get_secret_value(), errors):
            return None
        return CallerPassword(body.password)
    if body.password is not None:
        errors.append({"field": "password", "message": SOURCE_TWICE})
        return None
    if key is not None:
        # Once per field: a key of the wrong form is named for that already.
        if not any(error["field"] == "Idempotency-Key" for error in errors):
            errors.append({"field": "Idempotency-Key", "message": KEY_WITH_DELIVERY})
        return None
    return GeneratedPassword(body.delivery)


def _copied_into_text_fields(
    body: ResetPasswordBody, password: str, errors: list[dict[str, str]]
) -> bool:
    """The password inside `ticketId` or `requestedBy` (a flow mapping the wrong field,
    in any letter case): both are audited and echoed, so it would reach the log and the
    answer. True when one is refused."""
    found = False
    secret = password.casefold()
    for name, value in (("ticketId", body.ticket_id), ("requestedBy", body.requested_by)):
        if value is not None and secret in value.casefold():
            errors.append({"field": name, "message": COPIED_SECRET_MESSAGE})
            found = True
    return found


def _dry_run(query: Mapping[str, str], errors: list[dict[str, str]]) -> bool:
    """A misspelt or empty switch must never fall back to a real reset: refuse it."""
    for name in unknown_parameters(query, KNOWN_QUERY_PARAMETERS):
        message = "is not a known query parameter (known: dryRun)"
        errors.append({"field": shown_name(name), "message": message})
    text = query.get("dryRun")
    if text is None:
        return False
    # Only the letter case is forgiven: a padded " true" is some other value, and
    # accepting it would be the guessing this switch refuses.
    value = text.lower()
    if value in {"true", "false"}:
        return value == "true"
    message = (
        "must be given once, as true or false"
        if "," in value
        else "must be true or false (an empty or other value is refused, not guessed)"
    )
    errors.append({"field": "dryRun", "message": message})
    return False


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
            # A loc part may be a key the caller made up (an unknown field, nested or
            # not): the path is shown only when all of it is plainly a name.
            loc = error["loc"]
            field = shown_field(".".join(str(part) for part in loc)) if loc else "body"
            if error["type"] == "password_policy":
                message = str(error["msg"])
            else:
                message = _FIELD_MESSAGES.get(
                    (field, error["type"]),
                    _BODY_MESSAGES.get(error["type"], "has an invalid value"),
                )
            errors.append({"field": field, "message": message})
        return None


def _slash_decoded(value: str | None) -> str | None:
    """The Functions host decodes every escape in a route value but %2F (Kestrel never
    decodes an encoded slash), so a '/' in a UPN, which a caller must send as %2F,
    arrives encoded: it is decoded here, once, like every other escape."""
    return None if value is None else _ENCODED_SLASH.sub("/", value)


def _route_params(req: func.HttpRequest) -> Mapping[str, str]:
    given = req.route_params
    if given:
        return dict(given)
    # Some hosts and test harnesses hand over only the URL.
    match = ROUTE.search(urlsplit(req.url).path)
    # Decode once, as the host does for route_params, so both paths see the same value.
    if match is None:
        return {}
    return {name: unquote(value) for name, value in match.groupdict().items() if value is not None}


def _summary(errors: list[dict[str, str]]) -> str:
    fields = ", ".join(dict.fromkeys(error["field"] for error in errors))
    return f"The request has invalid values: {fields}. See 'errors' for each rule."
