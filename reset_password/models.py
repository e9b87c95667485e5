"""The reset route's request body and answer.

The answer is built field by field from an allow-list: nothing from Partner Center's
echo (which holds the new password) is copied wholesale.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
)
from pydantic.json_schema import SkipJsonSchema
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
MAX_REQUESTED_BY_LENGTH = 128
# Who asked for the reset: the ticket's rule, with room for a name and a role.
RequestedBy = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_REQUESTED_BY_LENGTH),
    AfterValidator(_plain_ticket_id),
]
# "link": a one-time link to the generated password; "none": a scramble, never shown.
Delivery = Literal["link", "none"]


def _documented_as_given(schema: dict[str, Any]) -> None:
    """The documents describe the field as sent, not its null: an explicit null is read as
    absent (one nullable type, not a union, so an error names the field alone)."""
    branches = [b for b in schema.pop("anyOf", []) if b != {"type": "null"}]
    if branches:
        schema.update({**branches[0], **schema})
    schema.pop("default", None)


class ResetPasswordBody(BaseModel):
    """`POST .../resetpassword` body. Unknown fields are refused, types are strict.

    Exactly one of `password` and `delivery` (request.py says which rule was broken):
    with `delivery` the function generates the password. An explicit null is absent."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)

    password: Annotated[SecretStr, AfterValidator(_entra_password)] | None = Field(
        None, json_schema_extra=_documented_as_given
    )
    delivery: Delivery | None = Field(None, json_schema_extra=_documented_as_given)
    requested_by: RequestedBy | None = Field(None, alias="requestedBy")
    force_change_password: bool = Field(True, alias="forceChangePassword")
    ticket_id: TicketId | None = Field(None, alias="ticketId")
    revoke_sessions: bool = Field(False, alias="revokeSessions")


class ResetWarning(BaseModel):
    """Something that did not work after the reset, which itself succeeded."""

    # Built when first used (the API documents, a spec): the route never validates with it.
    model_config = ConfigDict(frozen=True, defer_build=True)

    code: str
    detail: str


class SecretLink(BaseModel):
    """The one-time link a reset with `"delivery": "link"` answers, once."""

    # Built when first used, as ResetWarning.
    model_config = ConfigDict(frozen=True, serialize_by_alias=True, defer_build=True)

    url: str
    expires_at: datetime = Field(alias="expiresAt")
    max_views: Literal[1] = Field(alias="maxViews")


def _no_default(schema: dict[str, Any]) -> None:
    """An answer field left out when it does not apply has no default to state."""
    schema.pop("default", None)


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
    requested_by: str | None = Field(alias="requestedBy")
    correlation_id: str = Field(alias="correlationId")
    completed_at: datetime = Field(alias="completedAt")
    sessions_revoked: bool | None = Field(None, alias="sessionsRevoked")
    # Present only with a delivery: the function generated the password (not a dry run).
    password_generated: bool | SkipJsonSchema[None] = Field(
        None, alias="passwordGenerated", json_schema_extra=_no_default
    )
    delivery: Delivery | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    # Present only after a reset with "delivery": "link".
    secret_link: SecretLink | SkipJsonSchema[None] = Field(
        None, alias="secretLink", json_schema_extra=_no_default
    )
    warnings: list[ResetWarning] = Field(default_factory=list)
