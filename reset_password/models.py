"""The reset route's request body and answer.

The answer is built field by field from an allow-list: nothing from Partner Center's
echo (which holds the new password) is copied wholesale.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from reset_password.password_policy import password_rule_violations

MAX_BODY_BYTES = 16 * 1024


def _entra_password(value: SecretStr) -> SecretStr:
    problems = password_rule_violations(value.get_secret_value())
    if problems:
        # One message per broken rule, joined; never the value itself.
        raise PydanticCustomError("password_policy", "; ".join(problems))
    return value


# Control, format (bidi overrides, zero-width), line and paragraph separators: each can
# forge or hide text in the ticketing system or the audit log that shows the value.
_REFUSED_TICKET_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def ticket_id_pattern() -> str:
    """The rule as a regular expression for the API documents, ECMA-262 and Python alike.

    A regex without ECMA's u flag cannot name characters beyond U+FFFF, so the few refused
    there (tag characters, some format controls) stay a rule of this module alone. Built
    on demand: scanning the plane costs ~10 ms that a cold start should not pay.
    """
    return f"^[^{_refused_ticket_ranges()}]*$"


def _refused_ticket_ranges() -> str:
    """The refused characters of the Basic Multilingual Plane as regex class ranges."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x10000):
        if unicodedata.category(chr(code)) not in _REFUSED_TICKET_CATEGORIES:
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(
        f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}" for low, high in ranges
    )


def _plain_ticket_id(value: str) -> str:
    if any(unicodedata.category(char) in _REFUSED_TICKET_CATEGORIES for char in value):
        raise PydanticCustomError(
            "ticket_characters", "must not contain control, format or separator characters"
        )
    return value


TicketId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_plain_ticket_id),
]


class ResetPasswordBody(BaseModel):
    """`POST .../resetpassword` body. Unknown fields are refused, types are strict."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)

    password: Annotated[SecretStr, AfterValidator(_entra_password)]
    force_change_password: bool = Field(True, alias="forceChangePassword")
    ticket_id: TicketId | None = Field(None, alias="ticketId")
    revoke_sessions: bool = Field(False, alias="revokeSessions")


class ResetWarning(BaseModel):
    """Something that did not work after the reset, which itself succeeded."""

    # Built when first used (the API documents, a spec): the route never validates with it.
    model_config = ConfigDict(frozen=True, defer_build=True)

    code: str
    detail: str


class ResetPasswordAnswer(BaseModel):
    """The success answer's schema (the published API documents are generated from it;
    the route renders the same fields directly, see routes.py)."""

    # Built when first used, as ResetWarning.
    model_config = ConfigDict(frozen=True, serialize_by_alias=True, defer_build=True)

    status: Literal["succeeded", "validated"]
    customer_tenant_id: str = Field(alias="customerTenantId")
    user_id: str = Field(alias="userId")
    user_principal_name: str | None = Field(alias="userPrincipalName")
    display_name: str | None = Field(alias="displayName")
    force_change_password: bool = Field(alias="forceChangePassword")
    ticket_id: str | None = Field(alias="ticketId")
    correlation_id: str = Field(alias="correlationId")
    completed_at: datetime = Field(alias="completedAt")
    sessions_revoked: bool | None = Field(None, alias="sessionsRevoked")
    warnings: list[ResetWarning] = Field(default_factory=list)
