"""Where the new password comes from and how it reaches a person (contract 1c).

The caller's own password goes to Partner Center as it came. Otherwise the function
generates one; a scramble (`"delivery": "none"`) forgets it once sent, and a one-time
link keeps only its ciphertext. A link lives in two steps, apart on purpose:

1. `create_link`, before any reset: a new key, and the pending row holding its public
   half (storage unreachable then: nothing is reset). The reset route does it just
   before its PATCH; a batch does it when it accepts the batch and answers its links,
   before any name is resolved, and its reset files the link under the user's IDs
   just before the PATCH (`prepare`), as if it had been made then.
2. `deliver`, once Partner Center confirmed: the password sealed to the link's public
   key and stored, the user's older links read meanwhile; then those are deleted (only
   the newest opens the password now set). A failed store is `SecretLinkNotStored`: the
   password was set and nobody can be given it.

The link's key leaves only in its URL, which only the reset's answer carries: never a
row, a log line, the audit or an exception. `withdraw` deletes a link the failed reset
made, so nothing is left that could ever open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import SecretStr

from reset_password.generated_password import generate_password
from reset_password.records import (
    CallerPassword,
    Caveat,
    GeneratedPassword,
    IssuedLink,
    PasswordSource,
)
from secret_links.crypto import new_link, seal
from secret_links.errors import SecretGone
from secret_links.store import LinkSnapshot, LinkVersion, SecretLinkStore
from shared.context import in_current_context
from shared.errors import (
    DEPENDENCY_RETRY_AFTER,
    ConfigurationError,
    DependencyUnavailable,
    SecretLinkNotStored,
)
from shared.settings import SettingsError

logger = logging.getLogger(__name__)

NOT_STORED = (
    "The password was set, but its one-time link could not be stored, so it cannot be "
    "delivered: reset again (a new password and a new link)."
)
OLDER_LINKS_NOT_DELETED = Caveat(
    "older_links_not_deleted",
    "The new link works, but the user's older links could not be deleted; they open "
    "passwords that no longer work, and expire on their own.",
)


@dataclass(frozen=True)
class LinkStorage:
    """What deliveries need of the links' settings: the table, the origin links point
    to, and how long a generated password is (built by the composition root)."""

    store: SecretLinkStore
    base_url: str
    password_length: int


@dataclass(frozen=True)
class Parcel:
    """The password one reset sends, and the link it is delivered by, if any."""

    password: SecretStr
    generated: bool = False
    customer_id: str | None = None
    user_id: str | None = None
    link_id: str | None = None
    public_point: bytes = field(default=b"", repr=False)
    # The link's row as this reset made or attached it: the seal is stored on it.
    link_version: LinkVersion | None = field(default=None, repr=False)
    # The link this reset made (and answers); None for a link made before the order.
    issued: IssuedLink | None = None


@dataclass(frozen=True)
class Preparation:
    """A parcel on its way (`PasswordDelivery.begin`): `parcel()` makes it, raising what
    preparing it raised; `settle()`, for a reset that ends first, waits for what started
    early, so nothing of the reset runs on after it."""

    make: Callable[[], Parcel]
    early: Future[Any] | None = None

    def parcel(self) -> Parcel:
        return self.make()

    def settle(self) -> None:
        if self.early is not None:
            wait([self.early])


class PasswordDelivery:
    def __init__(self, storage: Callable[[], LinkStorage], beside: Executor) -> None:
        """`beside`: where a storage call runs while another one is made."""
        # Asked for on first use: a reset with the caller's password needs no link
        # setting, and a bad one stops only the resets that need it.
        self._storage = storage
        self._beside = beside

    def check(self, source: PasswordSource) -> None:
        """A dry run's part: the settings a real delivery would need (nothing stored)."""
        if isinstance(source, GeneratedPassword):
            self._links()

    def create_link(
        self, *, customer_id: str, user_id: str
    ) -> tuple[IssuedLink, bytes, LinkVersion | None]:
        """A new link, pending: its URL (the key in its fragment), its public key and its
        row's version. DependencyUnavailable when the table cannot be reached."""
        storage = self._links()
        key = new_link()
        pending = storage.store.create_pending(
            key.link_id, key.public_point, customer_id=customer_id, user_id=user_id
        )
        issued = IssuedLink(key.link_id, key.url(storage.base_url), pending.expires_at)
        return issued, key.public_point, pending.version

    def begin(self, source: PasswordSource, *, customer_id: str, user_id: str) -> Preparation:
        """`prepare`, with what may run early started now: a link made before the order
        (a batch's) is read, nothing written, beside the guard's read of the user. What
        writes waits for `Preparation.parcel()`, after the guard: a refused user's links
        are as they were."""
        if (
            isinstance(source, GeneratedPassword)
            and source.delivery == "link"
            and source.link_id is not None
        ):
            read = self._beside.submit(
                in_current_context(self._links().store.look_up), source.link_id
            )
            return Preparation(
                lambda: self.prepare(
                    source, customer_id=customer_id, user_id=user_id, snapshot=read.result()
                ),
                early=read,
            )
        return Preparation(lambda: self.prepare(source, customer_id=customer_id, user_id=user_id))

    def prepare(
        self,
        source: PasswordSource,
        *,
        customer_id: str,
        user_id: str,
        snapshot: LinkSnapshot | None = None,
    ) -> Parcel:
        """Before the PATCH: the password to send, and its pending link when it has one
        (`snapshot`: a link made before the order, as `begin` read it)."""
        if isinstance(source, CallerPassword):
            return Parcel(source.password)
        storage = self._links()
        password = SecretStr(generate_password(storage.password_length))
        parcel = Parcel(password, True, customer_id, user_id)
        if source.delivery == "none":
            return parcel
        if source.link_id is not None:
            # Made before the IDs were known: filed under them now (SecretGone when the
            # link expired or was withdrawn: then nothing is reset).
            attached = storage.store.attach(
                source.link_id, customer_id=customer_id, user_id=user_id, snapshot=snapshot
            )
            return replace(
                parcel,
                link_id=source.link_id,
                public_point=attached.public_point,
                link_version=attached.version,
            )
        issued, point, version = self.create_link(customer_id=customer_id, user_id=user_id)
        return replace(
            parcel, link_id=issued.link_id, public_point=point, issued=issued, link_version=version
        )

    def deliver(self, parcel: Parcel) -> tuple[Caveat, ...]:
        """After Partner Center confirmed: seal and store (the user's older links read
        meanwhile), then drop those."""
        if parcel.link_id is None or parcel.customer_id is None or parcel.user_id is None:
            return ()
        store = self._links().store
        # Read beside the store: the user's index held every older link before the PATCH.
        older = self._beside.submit(
            in_current_context(store.older_links),
            customer_id=parcel.customer_id,
            user_id=parcel.user_id,
            link_id=parcel.link_id,
        )
        try:
            self._store_sealed(parcel.link_id, parcel, store)
        except BaseException:
            wait([older])  # nothing of this reset runs on after its answer
            raise
        try:
            store.delete_links(
                customer_id=parcel.customer_id, user_id=parcel.user_id, link_ids=older.result()
            )
        except DependencyUnavailable:
            logger.warning(
                "Link %s stored, but the user's older links were not deleted", parcel.link_id
            )
            return (OLDER_LINKS_NOT_DELETED,)
        return ()

    @staticmethod
    def _store_sealed(link_id: str, parcel: Parcel, store: SecretLinkStore) -> None:
        try:
            sealed = seal(
                parcel.password.get_secret_value(),
                link_id=link_id,
                public_point=parcel.public_point,
            )
            store.store_sealed(link_id, sealed, version=parcel.link_version)
        # ValueError: a stored public key that is no P-256 point (a row written elsewhere).
        except (DependencyUnavailable, SecretGone, ValueError) as failed:
            logger.error(
                "Password set, but link %s was not stored (%s): it cannot be delivered",
                link_id,
                type(failed).__name__,
            )
            raise SecretLinkNotStored(NOT_STORED, retry_after=DEPENDENCY_RETRY_AFTER) from None

    def withdraw(self, parcel: Parcel) -> None:
        """The reset failed: the link it made goes (nobody was given it). A link made
        before the order is its maker's to keep or delete (a batch retries)."""
        if parcel.issued is None:
            return
        try:
            self._links().store.delete_pending(parcel.issued.link_id)
        except DependencyUnavailable:
            # Never answered, so never opened: it expires pending.
            logger.warning("Pending link %s of a failed reset not deleted", parcel.issued.link_id)

    def _links(self) -> LinkStorage:
        try:
            return self._storage()
        except SettingsError as exc:
            raise ConfigurationError(
                "The function's one-time link settings are not valid: " + "; ".join(exc.problems)
            ) from None
