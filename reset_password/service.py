"""The reset itself: protected-account checks, then one PATCH to Partner Center.

Plain function, collaborators passed in; no HTTP types here, so it reads the same from
the route, from a test or from a benchmark.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from shared.deadline import Deadline
from shared.errors import ProtectedUser, UserNotCloudManaged
from shared.partner_center import CallContext, CallStats, PartnerCenterClient


@dataclass(frozen=True)
class ResetCommand:
    customer_id: str
    user_id: str
    password: SecretStr
    force_change_password: bool
    request_id: uuid.UUID
    correlation_id: uuid.UUID
    dry_run: bool = False


@dataclass(frozen=True)
class GuardPolicy:
    enabled: bool
    protected_role_ids: frozenset[str]


@dataclass
class ResetOutcome:
    """What happened, for the answer and the audit record; never holds the password."""

    status: str = "succeeded"
    user_principal_name: str | None = None
    display_name: str | None = None
    completed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    stats: CallStats = field(default_factory=CallStats)


def reset_password(
    *,
    command: ResetCommand,
    partner_center: PartnerCenterClient,
    guard: GuardPolicy,
    deadline: Deadline,
    outcome: ResetOutcome,
) -> ResetOutcome:
    """Reset the password, filling `outcome` as facts become known (also on failure)."""
    if guard.enabled:
        _check_target(command, partner_center, guard, deadline, outcome)
    if command.dry_run:
        outcome.status = "validated"
        outcome.completed_at = datetime.now(UTC)
        return outcome
    answer = partner_center.reset_password(
        customer_id=command.customer_id,
        user_id=command.user_id,
        password=command.password,
        force_change_password=command.force_change_password,
        context=CallContext(command.request_id, command.correlation_id, deadline),
        stats=outcome.stats,
    )
    if answer is not None:
        _learn_names(answer, outcome)
    outcome.status = "succeeded"
    outcome.completed_at = datetime.now(UTC)
    return outcome


def _check_target(
    command: ResetCommand,
    partner_center: PartnerCenterClient,
    guard: GuardPolicy,
    deadline: Deadline,
    outcome: ResetOutcome,
) -> None:
    def context() -> CallContext:
        return CallContext(uuid.uuid4(), command.correlation_id, deadline)

    user = partner_center.get_user(command.customer_id, command.user_id, context=context())
    _learn_names(user, outcome)
    if user.get("lastDirectorySyncTime"):
        raise UserNotCloudManaged(
            "The user is synchronised from on-premises Active Directory: reset the password "
            "there (or enable password writeback); a cloud reset would not take."
        )
    if str(user.get("userDomainType", "")).lower() == "federated":
        raise UserNotCloudManaged(
            "The user signs in through a federated domain: the identity provider of that "
            "domain owns the password; a cloud reset would not take."
        )
    roles = partner_center.get_user_roles(command.customer_id, command.user_id, context=context())
    held = sorted(
        str(role.get("name") or role_id)
        for role in roles
        if (role_id := str(role.get("id", "")).lower()) in guard.protected_role_ids
    )
    if held:
        raise ProtectedUser(
            "The user holds a protected directory role (" + ", ".join(held) + "); this "
            "function does not reset privileged accounts. Use the customer's own "
            "privileged-access process."
        )


def _learn_names(user: Mapping[str, Any], outcome: ResetOutcome) -> None:
    upn = user.get("userPrincipalName")
    name = user.get("displayName")
    if isinstance(upn, str):
        outcome.user_principal_name = upn
    if isinstance(name, str):
        outcome.display_name = name
