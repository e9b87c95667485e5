"""The reset itself: resolve the names, check the caller may act on the customer,
confirm and guard the target, then one PATCH to Partner Center, with the caller's
password or one generated and delivered (reset_password/delivery.py).

Collaborators are handed in once (see the composition root); no HTTP types here, so it
reads the same from the route, a test or a benchmark. It takes a `ResetOrder` and returns
its `ResetOutcome`, refusals included: what was learnt before a failure is the audit's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from reset_password.caller_policy import NOT_YOUR_CUSTOMER, CustomerAccess
from reset_password.delivery import Parcel, PasswordDelivery
from reset_password.gdap import GdapCheck, GdapNotChecked
from reset_password.graph import GraphClient, RevocationFailed
from reset_password.guard import TargetGuard, refuse_guest_by_name
from reset_password.idempotency import derive_request_id
from reset_password.lookups import NameResolver, Resolved
from reset_password.partner_center import CallContext, PartnerCenterClient
from reset_password.records import Caveat, ResetOrder, ResetOutcome
from shared.errors import CustomerNotFound, DomainError, Forbidden, UserNotFound

logger = logging.getLogger(__name__)

DRY_RUN_SESSIONS = Caveat(
    "sessions_not_checked",
    "Dry run: nothing was checked at Microsoft Graph; revokeSessions is tried only after a "
    "real reset.",
)


@dataclass(frozen=True)
class GraphSteps:
    """Where a reset reaches Microsoft Graph: a dry run's GDAP check, and the sign-in
    sessions revoked after a reset (the same upstream and tokens)."""

    sessions: GraphClient
    gdap: GdapCheck


class ResetService:
    def __init__(
        self,
        *,
        partner_center: PartnerCenterClient,
        names: NameResolver,
        guard: TargetGuard,
        idempotency_hmac_key: Callable[[], bytes],
        graph: GraphSteps,
        delivery: PasswordDelivery,
    ) -> None:
        self._partner_center = partner_center
        self._names = names
        self._guard = guard
        self._hmac_key = idempotency_hmac_key
        self._graph = graph
        self._delivery = delivery

    def reset(self, order: ResetOrder, access: CustomerAccess) -> ResetOutcome:
        """Runs inside the request's context (shared.context): its deadline and
        correlation ID reach every upstream call. A domain error ends the outcome."""
        outcome = ResetOutcome()
        try:
            self._resolve_and_reset(order, access, outcome)
        except DomainError as error:
            outcome.error = error
        return outcome

    def _resolve_and_reset(
        self, order: ResetOrder, access: CustomerAccess, outcome: ResetOutcome
    ) -> None:
        """A 404 for an ID that came from the lookup cache may only mean the entry is
        stale (the user was re-created, say): the entry is dropped and the lookup and the
        reset run once more."""
        retried = False
        while True:
            outcome.user_id = None
            customer = self._customer(order, access, outcome)
            user: Resolved | None = None
            try:
                user = self._names.user(customer.id, order.user)
                outcome.user_id = user.id
                self._reset_user(order, access, outcome, customer.id, user.id)
                return
            except (CustomerNotFound, UserNotFound) as missing:
                if retried or not self._forget_stale(order, customer, user, missing):
                    raise
            retried = True

    def _customer(
        self, order: ResetOrder, access: CustomerAccess, outcome: ResetOutcome
    ) -> Resolved:
        """The customer's tenant, held to the caller's list before Partner Center hears of
        it: a tenant ID at once, a domain once OpenID discovery (public) has named its
        tenant. So for a restricted caller a customer outside its list and a name that is
        no customer get one answer at one cost, no Partner Center call, whatever the
        lookup cache holds: neither the answer nor its latency tells them apart.

        A guest's UPN is refused next, still without a Partner Center call; after the
        list, so a customer outside it is the same 403 whoever is named in it."""
        try:
            tenant = self._names.tenant(order.customer)
            outcome.customer_id = tenant.id
            access.check(tenant.id)
            refuse_guest_by_name(order.user)
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

    def _reset_user(
        self,
        order: ResetOrder,
        access: CustomerAccess,
        outcome: ResetOutcome,
        customer_id: str,
        user_id: str,
    ) -> None:
        if order.dry_run:
            self._read_target(order, outcome, customer_id, user_id)
            self._delivery.check(order.source)
            outcome.warnings = self._gdap_checked(customer_id)
            outcome.warnings += (DRY_RUN_SESSIONS,) if order.revoke_sessions else ()
            outcome.finish("validated")
            return
        preparing = self._delivery.begin(order.source, customer_id=customer_id, user_id=user_id)
        try:
            self._read_target(order, outcome, customer_id, user_id)
        except BaseException:
            preparing.settle()
            raise
        # A link's pending row is written here, before anything is reset.
        parcel = preparing.parcel()
        outcome.password_generated = parcel.generated
        outcome.secret_link_id = parcel.link_id
        try:
            self._send(order, access, outcome, (customer_id, user_id), parcel.password)
        except Exception:
            self._delivery.withdraw(parcel)
            raise
        outcome.password_set = True
        if order.revoke_sessions:
            self._revoke_sessions(customer_id, user_id, outcome)
        self._deliver(parcel, outcome)
        outcome.finish("succeeded")

    def _read_target(
        self, order: ResetOrder, outcome: ResetOutcome, customer_id: str, user_id: str
    ) -> None:
        """The guard's read of the user, and its refusals."""
        if self._guard.reads_target(order.user):
            target = self._guard.read(customer_id, user_id, expected_upn=order.user.upn)
            outcome.learn_names(target.user, order.password)
            self._guard.refuse_untouchable(target)

    def _send(
        self,
        order: ResetOrder,
        access: CustomerAccess,
        outcome: ResetOutcome,
        target: tuple[str, str],
        password: SecretStr,
    ) -> None:
        """The PATCH, under its MS-RequestId (stable for a caller's Idempotency-Key)."""
        customer_id, user_id = target
        hmac_key = self._hmac_key() if order.idempotency_key is not None else None
        outcome.request_id = derive_request_id(
            hmac_key=hmac_key,
            caller=access.caller_key,
            customer=customer_id,
            user=user_id,
            idempotency_key=order.idempotency_key,
            password=password,
        )
        answer = self._partner_center.reset_password(
            customer_id=customer_id,
            user_id=user_id,
            password=password,
            force_change_password=order.force_change_password,
            context=CallContext(outcome.request_id),
            stats=outcome.calls,
        )
        if answer is not None:
            outcome.learn_names(answer, password)

    def _deliver(self, parcel: Parcel, outcome: ResetOutcome) -> None:
        """The password reaches its link (SecretLinkNotStored: set, not deliverable)."""
        outcome.warnings += self._delivery.deliver(parcel)
        outcome.secret_link = parcel.issued

    def _revoke_sessions(self, customer_id: str, user_id: str, outcome: ResetOutcome) -> None:
        try:
            self._graph.sessions.revoke_sign_in_sessions(customer_id, user_id)
        except RevocationFailed as failed:
            # Never undoes or hides the reset: the answer stays 200 and says what to do.
            # Operators see it too: the caller may not read warnings.
            logger.warning("Password reset, but sessions not revoked: %s", failed.detail)
            outcome.sessions_revoked = False
            outcome.warnings += (Caveat(failed.code, failed.detail),)
            return
        outcome.sessions_revoked = True

    def _gdap_checked(self, customer_id: str) -> tuple[Caveat, ...]:
        """A reset that passes every other check can still be refused for the partner's
        GDAP roles: the dry run reads them (PartnerForbidden when they lack one), and says
        so when it could not."""
        try:
            self._graph.gdap.require_reset_role(customer_id)
        except GdapNotChecked as unchecked:
            logger.warning("GDAP access not checked: %s", unchecked.detail)
            return (Caveat("gdap_not_checked", unchecked.detail),)
        return ()
