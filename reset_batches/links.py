"""One-time links made when a batch is accepted (contract 1c, 1d): the key pair now, the
password sealed to it by the worker once that user's reset is confirmed; until then the
link's page says it is not ready.

The link store files a link under the customer and user IDs (its per-user index is how a
new link retires that user's older ones), but a batch is accepted before any name is
resolved: a user named by UPN, or a customer named by domain, has no ID yet. Such a link
is filed under the nil GUID for the part not known, and the sealing step (wired with the
reset) cannot retire that user's older links through it. The store needs a way to file a
pending link under the IDs once resolved; until it has one, links of users named by
object ID under a customer named by tenant ID are the fully indexed ones.
"""

from __future__ import annotations

import logging

from reset_batches.records import IssuedLink
from reset_password.names import CustomerRef, UserRef
from secret_links.crypto import new_link
from secret_links.store import SecretLinkStore
from shared.errors import DomainError

logger = logging.getLogger("reset_batches.links")

NOT_RESOLVED_YET = "00000000-0000-0000-0000-000000000000"


class BatchLinks:
    def __init__(self, store: SecretLinkStore, base_url: str) -> None:
        self._store = store
        self._base_url = base_url

    def issue(self, customer: CustomerRef, user: UserRef) -> IssuedLink:
        """A pending link; DependencyUnavailable when its row cannot be written."""
        link = new_link()
        pending = self._store.create_pending(
            link.link_id,
            link.public_point,
            customer_id=customer.tenant_id or NOT_RESOLVED_YET,
            user_id=user.object_id or NOT_RESOLVED_YET,
        )
        return IssuedLink(link.link_id, link.url(self._base_url), pending.expires_at)

    def withdraw(self, link_id: str) -> None:
        """A link whose item will never run goes, so it reads as gone, not as not ready;
        a failure is logged (the link expires with its TTL anyway)."""
        try:
            self._store.delete_pending(link_id)
        except DomainError as error:
            logger.warning("batch link %s not withdrawn: %s", link_id, error.detail)
