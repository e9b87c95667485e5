"""The two records a reset passes between its stages: the order the request is parsed
into, which the service takes, and the outcome the service returns, from which the
answer and the audit record are both rendered.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import SecretStr

from reset_password.models import Delivery
from reset_password.names import CustomerRef, UserRef
from reset_password.partner_center import CallStats
from shared.errors import DomainError


@dataclass(frozen=True)
class CallerPassword:
    """The caller chose the password (it travelled through the caller's systems)."""

    password: SecretStr


@dataclass(frozen=True)
class GeneratedPassword:
    """The function generates the password and delivers it by `delivery`: a one-time
    link, or nothing at all (a scramble)."""

    delivery: Delivery
    # A link whose pending row was written before the order (a batch answers its links
    # when it accepts them); None: the reset writes its own before the PATCH.
    link_id: str | None = None


PasswordSource = CallerPassword | GeneratedPassword


@dataclass(frozen=True)
class ResetOrder:
    """What the caller asked for, validated."""

    customer: CustomerRef
    user: UserRef
    source: PasswordSource
    force_change_password: bool
    ticket_id: str | None
    idempotency_key: str | None
    dry_run: bool
    revoke_sessions: bool = False
    requested_by: str | None = None

    @property
    def password(self) -> SecretStr | None:
        """The caller's password; None when the function generates one."""
        return self.source.password if isinstance(self.source, CallerPassword) else None

    @property
    def delivery(self) -> Delivery | None:
        return self.source.delivery if isinstance(self.source, GeneratedPassword) else None


@dataclass(frozen=True)
class IssuedLink:
    """A one-time link made for a reset: its ID (audited) and its URL, which alone holds
    the key (in the fragment) and goes nowhere but the reset's answer."""

    link_id: str
    url: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class Caveat:
    """Something after the reset that did not work; the reset itself did."""

    code: str
    detail: str


@dataclass
class ResetOutcome:
    """What became of one order, filled in by the service as it learns it: the IDs the
    names resolved to, the target's names, the MS-RequestId and Partner Center attempts,
    then how it ended (a status, or the error that stopped it). Never holds the password."""

    customer_id: str | None = None
    user_id: str | None = None
    user_principal_name: str | None = None
    display_name: str | None = None
    request_id: uuid.UUID | None = None
    calls: CallStats = field(default_factory=CallStats)
    # None: not asked (or a dry run); False: asked and failed (see warnings).
    sessions_revoked: bool | None = None
    warnings: tuple[Caveat, ...] = ()
    status: Literal["succeeded", "validated"] | None = None
    error: DomainError | None = None
    completed_at: datetime | None = None
    # The function generated the password it sent (a delivery, not a dry run).
    password_generated: bool = False
    # Partner Center confirmed the new password: true even when its link then failed.
    password_set: bool = False
    # The link written for this reset (pending first), and, once its password is
    # stored, the link answered to the caller.
    secret_link_id: str | None = None
    secret_link: IssuedLink | None = None

    def learn_names(self, user: Mapping[str, Any], password: SecretStr | None) -> None:
        """Names for the answer, from an allow-list, and never one quoting the password
        (None: no password exists yet, one is generated after this read)."""
        secret = None if password is None else password.get_secret_value()
        upn = user.get("userPrincipalName")
        name = user.get("displayName")
        if isinstance(upn, str) and (secret is None or secret not in upn):
            self.user_principal_name = upn
        if isinstance(name, str) and (secret is None or secret not in name):
            self.display_name = name

    def finish(self, status: Literal["succeeded", "validated"]) -> None:
        self.status = status
        self.completed_at = datetime.now(UTC)
