"""The reset itself: name lookups, protected-account checks, then one PATCH to Partner
Center.

Plain function, collaborators passed in; no HTTP types here, so it reads the same from
the route, from a test or from a benchmark.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from reset_password.lookups import NameResolver
from reset_password.names import CustomerRef, UserRef
from shared.deadline import Deadline
from shared.errors import CustomerNotFound, ProtectedUser, UserNotCloudManaged, UserNotFound
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
    # Set when the user was named by UPN: the guard's read of the user then also proves
    # that a cached object ID still belongs to that UPN.
    expected_upn: str | None = None


@dataclass(frozen=True)
class ResetTarget:
    """The customer and user as the caller named them, before any lookup."""

    customer: CustomerRef
    user: UserRef


@dataclass(frozen=True)
class GuardPolicy:
    enabled: bool
    protected_role_ids: frozenset[str]


@dataclass
class ResetOutcome:
    """What happened, for the answer and the audit record; never holds the password."""

    status: str = "succeeded"
    customer_id: str | None = None
    user_id: str | None = None
    request_id: uuid.UUID | None = None
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
    outcome.customer_id = command.customer_id
    outcome.user_id = command.user_id
    outcome.request_id = command.request_id
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
    upn = user.get("userPrincipalName")
    if command.expected_upn is not None and (
        not isinstance(upn, str) or upn.lower() != command.expected_upn
    ):
        # The object ID (from the cache) now belongs to someone else: treated like a 404,
        # so the caller's resolve-and-retry looks the UPN up afresh.
        raise UserNotFound(
            f"The user object ID found for {command.expected_upn} no longer carries that name."
        )
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


def resolve_and_reset(
    *,
    target: ResetTarget,
    command_for: Callable[[str, str], ResetCommand],
    names: NameResolver,
    partner_center: PartnerCenterClient,
    guard: GuardPolicy,
    deadline: Deadline,
    outcome: ResetOutcome,
    correlation_id: uuid.UUID,
    authorize_customer: Callable[[str], None] | None = None,
) -> ResetOutcome:
    """Resolve the names to IDs, then reset (`command_for(tenant ID, object ID)`).

    A 404 for an ID that came from the lookup cache may only mean the entry is stale
    (the user was re-created, say): the entry is dropped and the lookup and the reset run
    once more. `authorize_customer` sees the resolved tenant ID before any user is read.
    """
    retried = False
    while True:
        outcome.user_id = None
        customer = names.customer(target.customer, correlation_id=correlation_id, deadline=deadline)
        outcome.customer_id = customer.id
        if authorize_customer is not None:
            authorize_customer(customer.id)
        try:
            user = names.user(
                customer.id, target.user, correlation_id=correlation_id, deadline=deadline
            )
        except CustomerNotFound:
            if retried or not customer.cached:
                raise
            names.forget_customer(target.customer)
            retried = True
            continue
        outcome.user_id = user.id
        command = replace(command_for(customer.id, user.id), expected_upn=target.user.upn)
        try:
            return reset_password(
                command=command,
                partner_center=partner_center,
                guard=guard,
                deadline=deadline,
                outcome=outcome,
            )
        except CustomerNotFound:
            if retried or not customer.cached:
                raise
            names.forget_customer(target.customer)
        except UserNotFound:
            if retried or not user.cached:
                raise
            names.forget_user(customer.id, target.user)
        retried = True
