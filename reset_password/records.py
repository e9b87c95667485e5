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

from reset_password.names import CustomerRef, UserRef
from shared.errors import DomainError
from shared.partner_center import CallStats


@dataclass(frozen=True)
class ResetOrder:
    """What the caller asked for, validated."""

    customer: CustomerRef
    user: UserRef
    password: SecretStr
    force_change_password: bool
    ticket_id: str | None
    idempotency_key: str | None
    dry_run: bool
    revoke_sessions: bool = False


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

    def learn_names(self, user: Mapping[str, Any], password: SecretStr) -> None:
        """Names for the answer, from an allow-list, and never one quoting the password."""
        secret = password.get_secret_value()
        upn = user.get("userPrincipalName")
        name = user.get("displayName")
        if isinstance(upn, str) and secret not in upn:
            self.user_principal_name = upn
        if isinstance(name, str) and secret not in name:
            self.display_name = name

    def finish(self, status: Literal["succeeded", "validated"]) -> None:
        self.status = status
        self.completed_at = datetime.now(UTC)
