"""The guard: which users a reset must not touch, and the reads that tell.

Refused, after one read of the target (beside it, its directory roles): a guest of the
customer's tenant (it signs in at home), a user synchronised from on-premises Active
Directory or signing in through a federated domain (a cloud reset would not take), and a
holder of a protected directory role. A guest named by its UPN is refused unread. With
PROTECTED_ROLE_GUARD off only the guest refusals remain, and only a user named by UPN is
read (to confirm the name still belongs to the ID found for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from reset_password.names import UserRef, is_guest_upn
from reset_password.partner_center import CallContext, PartnerCenterClient
from shared.context import current_deadline, in_current_context
from shared.directory_roles import role_names, role_title
from shared.errors import (
    ProtectedUser,
    UpstreamTimeout,
    UserIsGuest,
    UserNotCloudManaged,
    UserNotFound,
)


@dataclass(frozen=True)
class GuardPolicy:
    enabled: bool
    protected_role_ids: frozenset[str]

    @cached_property
    def _ids_by_name(self) -> Mapping[str, str]:
        return {name: rid for rid in self.protected_role_ids for name in role_names(rid)}

    def protected_roles_held(self, roles: list[dict[str, Any]]) -> list[str]:
        """Titles (from our table) of the protected roles among `roles`.

        A directory role's object ID differs per tenant, so a role counts by its template
        ID or by any name it is known by; the name is matched, never shown. Partner
        Center documents `id` (the template ID in its example) and `name`; Microsoft
        Graph's directoryRole calls them `roleTemplateId` and `displayName`. Every one of
        them is looked at: a protected role missed for its field's name fails open.
        """
        held: set[str] = set()
        for role in roles:
            for field in ("id", "roleTemplateId"):
                role_id = role.get(field)
                if isinstance(role_id, str) and role_id.strip().lower() in self.protected_role_ids:
                    held.add(role_id.strip().lower())
            for field in ("name", "displayName"):
                name = role.get(field)
                if isinstance(name, str) and name.strip().lower() in self._ids_by_name:
                    held.add(self._ids_by_name[name.strip().lower()])
        return sorted(role_title(role_id) for role_id in held)


@dataclass(frozen=True)
class Target:
    """The user as Partner Center read it, and its roles while they are read beside it
    (None with the guard off)."""

    user: Mapping[str, Any]
    roles: Future[list[dict[str, Any]]] | None


class TargetGuard:
    def __init__(
        self, partner_center: PartnerCenterClient, policy: GuardPolicy, reads: Executor
    ) -> None:
        self._partner_center = partner_center
        self._policy = policy
        # The two reads are independent: the roles are read beside the user.
        self._reads = reads

    def reads_target(self, user: UserRef) -> bool:
        """A user named by UPN is confirmed to carry it, guard on or off: an ID from the
        lookup cache may belong to someone else by now."""
        return self._policy.enabled or user.upn is not None

    def read(self, customer_id: str, user_id: str, *, expected_upn: str | None) -> Target:
        """The target, confirmed to carry `expected_upn` when one was named (else
        UserNotFound, so the service looks the UPN up afresh)."""
        roles = None
        if self._policy.enabled:
            roles = self._reads.submit(
                in_current_context(self._partner_center.get_user_roles),
                customer_id,
                user_id,
                context=CallContext(),
            )
        user = self._partner_center.get_user(customer_id, user_id, context=CallContext())
        upn = user.get("userPrincipalName")
        if expected_upn is not None and (not isinstance(upn, str) or upn.lower() != expected_upn):
            raise UserNotFound(
                f"The user object ID found for {expected_upn} no longer carries that name."
            )
        return Target(user, roles)

    def refuse_untouchable(self, target: Target) -> None:
        """Raises for a user a reset here must not touch or would not reach."""
        user = target.user
        # Before the guard's switch: the UPN's confirmation read (guard off) refuses a
        # guest too.
        if _is_guest(user):
            raise _guest()
        if target.roles is None:
            return
        if _synced_from_on_premises(user):
            raise UserNotCloudManaged(
                "The user is synchronised from on-premises Active Directory: reset the password "
                "there (or enable password writeback); a cloud reset would not take."
            )
        if str(user.get("userDomainType", "")).lower() == "federated":
            raise UserNotCloudManaged(
                "The user signs in through a federated domain: the identity provider of that "
                "domain owns the password; a cloud reset would not take."
            )
        held = self._policy.protected_roles_held(_roles(target.roles))
        if held:
            raise ProtectedUser(
                "The user holds a protected directory role (" + ", ".join(held) + "); this "
                "function does not reset privileged accounts. Use the customer's own "
                "privileged-access process."
            )


def refuse_guest_by_name(user: UserRef) -> None:
    """A guest named by its UPN needs no read: `#EXT#` says it, guard on or off."""
    if user.upn is not None and is_guest_upn(user.upn):
        raise _guest()


def _roles(read: Future[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    try:
        return read.result(timeout=current_deadline().remaining())
    except FutureTimeout:
        raise UpstreamTimeout(
            "The reset's deadline ran out before Partner Center listed the user's roles."
        ) from None


def _is_guest(user: Mapping[str, Any]) -> bool:
    """A guest by its UPN or by `userType`. Entra knows Member and Guest; any other
    value present is not a member's, so it is refused as well (fail closed)."""
    upn = user.get("userPrincipalName")
    if isinstance(upn, str) and is_guest_upn(upn):
        return True
    kind = user.get("userType")
    return kind is not None and not (isinstance(kind, str) and kind.strip().lower() == "member")


def _guest() -> UserIsGuest:
    return UserIsGuest(
        "The user is a guest (B2B) of the customer's tenant: it signs in at its home "
        "organisation, so a password set here would not take. Reset it in the guest's "
        "home organisation."
    )


def _synced_from_on_premises(user: Mapping[str, Any]) -> bool:
    """Partner Center's CustomerUser sets `lastDirectorySyncTime` only for users Entra
    Connect synchronises; Microsoft Graph's user says the same with
    `onPremisesSyncEnabled` and an `onPremisesImmutableId` (`immutableId` in the older
    directory APIs). Any one of them is enough to refuse: a cloud reset would not take."""
    if user.get("lastDirectorySyncTime") or user.get("onPremisesSyncEnabled") is True:
        return True
    return any(
        isinstance(user.get(name), str) and bool(str(user.get(name)).strip())
        for name in ("onPremisesImmutableId", "immutableId")
    )
