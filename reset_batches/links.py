"""One-time links made when a batch is accepted (contract 1c, 1d): the key pair now, the
password sealed to it by that user's reset once Partner Center confirmed it; until then
the link's page says it is not ready.

A batch is accepted before any name is resolved, so a user named by UPN, or a customer
named by domain, has no ID yet: such a link is made under the nil GUID for the part not
known, and the user's reset files it under the real IDs just before its PATCH
(`SecretLinkStore.attach`): from then on it retires the user's older links, a newer link
retires it, and its reveal is audited with the real IDs.
"""

from __future__ import annotations

import logging

from reset_password.delivery import PasswordDelivery
from reset_password.names import CustomerRef, UserRef
from reset_password.records import IssuedLink
from secret_links.store import SecretLinkStore
from shared.errors import DomainError

logger = logging.getLogger("reset_batches.links")

NOT_RESOLVED_YET = "00000000-0000-0000-0000-000000000000"


class BatchLinks:
    def __init__(self, delivery: PasswordDelivery, store: SecretLinkStore) -> None:
        self._delivery = delivery
        self._store = store

    def issue(self, customer: CustomerRef, user: UserRef) -> IssuedLink:
        """A pending link; DependencyUnavailable when its row cannot be written."""
        issued, _, _ = self._delivery.create_link(
            customer_id=customer.tenant_id or NOT_RESOLVED_YET,
            user_id=user.object_id or NOT_RESOLVED_YET,
        )
        return issued

    def withdraw(self, link_id: str) -> None:
        """A link whose user will never be reset goes, so it reads as gone, not as not
        ready; one that holds a confirmed password stays. A failure is logged (the link
        expires with its TTL anyway)."""
        try:
            self._store.delete_pending(link_id)
        except DomainError as error:
            logger.warning("batch link %s not withdrawn: %s", link_id, error.detail)
