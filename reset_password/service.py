"""The reset itself: resolve the names, check the caller may act on the customer,
confirm and guard the target, then one PATCH to Partner Center.

Collaborators are handed in once (see the composition root); no HTTP types here, so it
reads the same from the route, a test or a benchmark. Failures raise `ResetFailed`,
which carries what was learnt before the failure, for the audit record.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import SecretStr

from reset_password.guard import GuardPolicy
from reset_password.idempotency import derive_request_id
from reset_password.lookups import NameResolver, Resolved
from reset_password.names import CustomerRef, UserRef, is_guest_upn
from shared.caller_auth import NOT_YOUR_CUSTOMER, CustomerAccess
from shared.context import current_deadline, in_current_context
from shared.errors import (
    CustomerNotFound,
    DomainError,
    Forbidden,
    ProtectedUser,
    UpstreamTimeout,
    UserIsGuest,
    UserNotCloudManaged,
    UserNotFound,
)
from shared.gdap import GdapCheck, GdapNotChecked
from shared.graph import GraphClient, RevocationFailed
from shared.partner_center import CallContext, CallStats, PartnerCenterClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResetOrder:
    """What the caller asked for, validated."""

    customer: CustomerRef
    user: UserRef
    password: SecretStr
    force_change_password: bool
    idempotency_key: str | None
    dry_run: bool
    caller_key: str
    revoke_sessions: bool = False


@dataclass(frozen=True)
class ResetFacts:
    """What is known about one attempt; never holds the password."""

    customer_id: str | None = None
    user_id: str | None = None
    request_id: uuid.UUID | None = None
    user_principal_name: str | None = None
    display_name: str | None = None
    attempts: int = 0


@dataclass(frozen=True)
class Caveat:
    """Something after the reset that did not work; the reset itself did."""

    code: str
    detail: str


@dataclass(frozen=True)
class ResetResult:
    status: Literal["succeeded", "validated"]
    customer_id: str
    user_id: str
    facts: ResetFacts
    # None: not asked (or a dry run); False: asked and failed (see warnings).
    sessions_revoked: bool | None = None
    warnings: tuple[Caveat, ...] = ()
    completed_at: datetime = field(default_factory=lambda: datetime.now(UTC))


DRY_RUN_SESSIONS = Caveat(
    "sessions_not_checked",
    "Dry run: nothing was checked at Microsoft Graph; revokeSessions is tried only after a "
    "real reset.",
)


class ResetFailed(Exception):
    """A domain error, with the facts learnt before it happened."""

    def __init__(self, error: DomainError, facts: ResetFacts) -> None:
        super().__init__(type(error).__name__)
        self.error = error
        self.facts = facts


@dataclass
class _Attempt:
    """One reset under way: what it works with and what it learnt (callers see
    `ResetFacts`)."""

    order: ResetOrder
    access: CustomerAccess
    customer_id: str | None = None
    user_id: str | None = None
    request_id: uuid.UUID | None = None
    user_principal_name: str | None = None
    display_name: str | None = None
    stats: CallStats = field(default_factory=CallStats)

    def facts(self) -> ResetFacts:
        return ResetFacts(
            self.customer_id,
            self.user_id,
            self.request_id,
            self.user_principal_name,
            self.display_name,
            self.stats.attempts,
        )

    def learn_names(self, user: Mapping[str, Any]) -> None:
        """Names for the answer, from an allow-list, and never one quoting the password."""
        secret = self.order.password.get_secret_value()
        upn = user.get("userPrincipalName")
        name = user.get("displayName")
        if isinstance(upn, str) and secret not in upn:
            self.user_principal_name = upn
        if isinstance(name, str) and secret not in name:
            self.display_name = name


class ResetService:
    def __init__(
        self,
        *,
        partner_center: PartnerCenterClient,
        names: NameResolver,
        guard: GuardPolicy,
        idempotency_hmac_key: Callable[[], bytes],
        reads: Executor,
        graph: GraphClient,
        gdap: GdapCheck,
    ) -> None:
        self._graph = graph
        self._gdap = gdap
        self._partner_center = partner_center
        self._names = names
        self._guard = guard
        self._hmac_key = idempotency_hmac_key
        # The guard's two reads are independent: the roles are read beside the user.
        self._reads = reads

    def reset(
        self,
        order: ResetOrder,
        *,
        access: CustomerAccess,
    ) -> ResetResult:
        """Runs inside the request's context (shared.context): its deadline and
        correlation ID reach every upstream call."""
        attempt = _Attempt(order, access)
        try:
            return self._resolve_and_reset(attempt)
        except DomainError as error:
            raise ResetFailed(error, attempt.facts()) from None

    def _resolve_and_reset(self, attempt: _Attempt) -> ResetResult:
        """A 404 for an ID that came from the lookup cache may only mean the entry is
        stale (the user was re-created, say): the entry is dropped and the lookup and the
        reset run once more."""
        order = attempt.order
        retried = False
        while True:
            attempt.user_id = None
            customer = self._customer(attempt)
            user: Resolved | None = None
            try:
                user = self._names.user(customer.id, order.user)
                attempt.user_id = user.id
                return self._reset_user(attempt, customer.id, user.id)
            except (CustomerNotFound, UserNotFound) as missing:
                if retried or not self._forget_stale(order, customer, user, missing):
                    raise
            retried = True

    def _customer(self, attempt: _Attempt) -> Resolved:
        """The customer's tenant, held to the caller's list before Partner Center hears of
        it: a tenant ID at once, a domain once OpenID discovery (public) has named its
        tenant. So for a restricted caller a customer outside its list and a name that is
        no customer get one answer at one cost, no Partner Center call, whatever the
        lookup cache holds: neither the answer nor its latency tells them apart.

        A guest's UPN is refused next, still without a Partner Center call; after the
        list, so a customer outside it is the same 403 whoever is named in it."""
        order, access = attempt.order, attempt.access
        try:
            tenant = self._names.tenant(order.customer)
            attempt.customer_id = tenant.id
            access.check(tenant.id)
            _refuse_guest_by_name(order.user)
            return self._names.confirm_customer(order.customer, tenant)
        except CustomerNotFound:
            if access.restricted:
                raise Forbidden(NOT_YOUR_CUSTOMER) from None
            raise

    def _forget_stale(
        self,
        order: ResetOrder,
        customer: Resolved,
        user: Resolved | None,
        missing: DomainError,
    ) -> bool:
        """Drop the cache entry a 404 proves stale; False when no cached entry explains it."""
        if isinstance(missing, CustomerNotFound) and customer.cached:
            self._names.forget_customer(order.customer, customer.id)
            return True
        if isinstance(missing, UserNotFound) and user is not None and user.cached:
            self._names.forget_user(customer.id, order.user)
            return True
        return False

    def _reset_user(self, attempt: _Attempt, customer_id: str, user_id: str) -> ResetResult:
        order = attempt.order
        # A user named by UPN is confirmed to carry it, guard on or off: an ID from the
        # lookup cache may belong to someone else by now.
        if self._guard.enabled or order.user.upn is not None:
            self._check_target(attempt, customer_id, user_id)
        if order.dry_run:
            warnings = self._gdap_checked(customer_id)
            warnings += (DRY_RUN_SESSIONS,) if order.revoke_sessions else ()
            return ResetResult("validated", customer_id, user_id, attempt.facts(), None, warnings)
        hmac_key = self._hmac_key() if order.idempotency_key is not None else None
        attempt.request_id = derive_request_id(
            hmac_key=hmac_key,
            caller=order.caller_key,
            customer=customer_id,
            user=user_id,
            idempotency_key=order.idempotency_key,
            password=order.password,
        )
        answer = self._partner_center.reset_password(
            customer_id=customer_id,
            user_id=user_id,
            password=order.password,
            force_change_password=order.force_change_password,
            context=CallContext(attempt.request_id),
            stats=attempt.stats,
        )
        if answer is not None:
            attempt.learn_names(answer)
        if not order.revoke_sessions:
            return ResetResult("succeeded", customer_id, user_id, attempt.facts())
        try:
            self._graph.revoke_sign_in_sessions(customer_id, user_id)
        except RevocationFailed as failed:
            # Never undoes or hides the reset: the answer stays 200 and says what to do.
            # Operators see it too: the caller may not read warnings.
            logger.warning("Password reset, but sessions not revoked: %s", failed.detail)
            caveat = Caveat(failed.code, failed.detail)
            facts = attempt.facts()
            return ResetResult("succeeded", customer_id, user_id, facts, False, (caveat,))
        return ResetResult("succeeded", customer_id, user_id, attempt.facts(), True)

    def _gdap_checked(self, customer_id: str) -> tuple[Caveat, ...]:
        """A reset that passes every other check can still be refused for the partner's
        GDAP roles: the dry run reads them (PartnerForbidden when they lack one), and says
        so when it could not."""
        try:
            self._gdap.require_reset_role(customer_id)
        except GdapNotChecked as unchecked:
            logger.warning("GDAP access not checked: %s", unchecked.detail)
            return (Caveat("gdap_not_checked", unchecked.detail),)
        return ()

    def _check_target(self, attempt: _Attempt, customer_id: str, user_id: str) -> None:
        expected_upn = attempt.order.user.upn
        roles_read = None
        if self._guard.enabled:
            roles_read = self._reads.submit(
                in_current_context(self._partner_center.get_user_roles),
                customer_id,
                user_id,
                context=CallContext(),
            )
        user = self._partner_center.get_user(customer_id, user_id, context=CallContext())
        upn = user.get("userPrincipalName")
        if expected_upn is not None and (not isinstance(upn, str) or upn.lower() != expected_upn):
            # Treated like a 404, so the resolve-and-retry looks the UPN up afresh.
            raise UserNotFound(
                f"The user object ID found for {expected_upn} no longer carries that name."
            )
        attempt.learn_names(user)
        # Beside the other users a reset here would not reach, but before the guard's
        # switch: the UPN's confirmation read (guard off) refuses a guest too.
        if _is_guest(user):
            raise _guest()
        if roles_read is None:
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
        try:
            roles = roles_read.result(timeout=current_deadline().remaining())
        except FutureTimeout:
            raise UpstreamTimeout(
                "The reset's deadline ran out before Partner Center listed the user's roles."
            ) from None
        held = self._guard.protected_roles_held(roles)
        if held:
            raise ProtectedUser(
                "The user holds a protected directory role (" + ", ".join(held) + "); this "
                "function does not reset privileged accounts. Use the customer's own "
                "privileged-access process."
            )


def _refuse_guest_by_name(user: UserRef) -> None:
    """A guest named by its UPN needs no read: `#EXT#` says it, guard on or off."""
    if user.upn is not None and is_guest_upn(user.upn):
        raise _guest()


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
