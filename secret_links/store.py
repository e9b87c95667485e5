"""The `secretlinks` table: a one-time link from its pending row to its one reveal.

Two kinds of row:

- the link: PartitionKey = the link ID, RowKey = `link`. `State` (pending, then ready),
  `PublicKey`, `CustomerId`, `UserId`, `ExpiresAt`, and once the reset is confirmed
  `EphemeralPublicKey`, `Nonce`, `Ciphertext`. A point read finds it; an ETag-conditional
  delete spends it, so of two racing reveals exactly one gets the ciphertext.
- the user's index: PartitionKey = `user_{customer}_{user}`, RowKey = the link ID,
  `CreatedAt`, `ExpiresAt`. "That user's older links" is one partition query, never a
  scan of the table. It is written before the link, so no link exists that the index
  does not know; an index row whose link is gone is harmless and purged with it.

No row holds anything that opens a password: the key is only in the link's URL fragment.
A link whose reset failed is deleted, which makes it gone like any other. Storage that
cannot be reached is `DependencyUnavailable`; messages and logs name the failure's type,
never the service's text (which may quote the request). Every attempt the SDK makes is
bounded by the deadline of the request under way (shared/storage.py), so storage that
hangs cannot hold a reset past RESET_DEADLINE_SECONDS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast
from uuid import UUID

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.core.pipeline import PipelineResponse
from azure.data.tables import TableClient, TableEntity, UpdateMode

from secret_links.crypto import SealedPassword, b64url, b64url_decode
from secret_links.errors import SecretGone, SecretNotReady
from shared.errors import DEPENDENCY_RETRY_AFTER, DependencyUnavailable
from shared.storage import CreatedOnce

logger = logging.getLogger("secret_links.store")

TABLE_NAME = "secretlinks"
LINK_ROW = "link"
# A row that keeps changing under a reveal (a batch storing again and again) is given up
# on, as gone: never a loop without end.
REVEAL_ATTEMPTS = 3
_DELETED = 204


class LinkState(StrEnum):
    PENDING = "pending"
    READY = "ready"


@dataclass(frozen=True)
class LinkVersion:
    """The link's row as this process last wrote or read it: a store made on it needs
    no read first (it fails when the row changed since, and then reads it)."""

    etag: str
    expires_at: datetime


@dataclass(frozen=True)
class PendingLink:
    link_id: str
    customer_id: str
    user_id: str
    expires_at: datetime
    version: LinkVersion | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class AttachedLink:
    """A link filed under its user: the public key to seal to, and the row's version."""

    public_point: bytes
    version: LinkVersion


@dataclass(frozen=True)
class LinkSnapshot:
    """A link's row as read at one moment (None: there was none)."""

    entity: TableEntity | None = field(repr=False)


@dataclass(frozen=True)
class RevealedLink:
    """A spent link: what the page needs, and who it was for (the audit)."""

    link_id: str
    customer_id: str
    user_id: str
    sealed: SealedPassword


def _version(metadata: Mapping[str, Any], expires_at: datetime) -> LinkVersion:
    return LinkVersion(str(metadata["etag"]), expires_at)


def _guid(value: str, name: str) -> str:
    try:
        parsed = UUID(value)
    except ValueError:
        raise ValueError(f"{name} must be a GUID") from None
    if len(value) != 36:
        raise ValueError(f"{name} must be a GUID")
    return str(parsed)


def _user_partition(customer_id: str, user_id: str) -> str:
    return f"user_{_guid(customer_id, 'customer_id')}_{_guid(user_id, 'user_id')}"


@contextmanager
def _reaching_storage(action: str) -> Iterator[None]:
    try:
        yield
    except AzureError as exc:
        logger.warning("secretlinks table: %s failed (%s)", action, type(exc).__name__)
        raise DependencyUnavailable(
            "Table storage (table secretlinks) could not be reached.",
            retry_after=DEPENDENCY_RETRY_AFTER,
        ) from None


class SecretLinkStore:
    def __init__(self, table: TableClient, *, ttl: timedelta, clock: Callable[[], float]) -> None:
        self._table = table
        self._ttl = ttl
        self._clock = clock
        self._created = CreatedOnce(table.create_table)

    def close(self) -> None:
        self._table.close()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # -- the reset's side ---------------------------------------------------------------

    def create_pending(
        self, link_id: str, public_point: bytes, *, customer_id: str, user_id: str
    ) -> PendingLink:
        """Before the reset: the link exists, with nothing to reveal yet."""
        partition = _user_partition(customer_id, user_id)
        now = self._now()
        pending = PendingLink(
            link_id, _guid(customer_id, "customer_id"), _guid(user_id, "user_id"), now + self._ttl
        )
        with _reaching_storage("creating a link"):
            self._created.ensure()
            self._table.create_entity(
                {
                    "PartitionKey": partition,
                    "RowKey": link_id,
                    "CreatedAt": now,
                    "ExpiresAt": pending.expires_at,
                }
            )
            written = self._table.create_entity(
                {
                    "PartitionKey": link_id,
                    "RowKey": LINK_ROW,
                    "State": LinkState.PENDING.value,
                    "PublicKey": b64url(public_point),
                    "CustomerId": pending.customer_id,
                    "UserId": pending.user_id,
                    "ExpiresAt": pending.expires_at,
                }
            )
        return replace(pending, version=_version(written, pending.expires_at))

    def look_up(self, link_id: str) -> LinkSnapshot:
        """The link's row as it is now, read and nothing written: `attach` may start from
        it (a batch reads it beside the guard's read of the user)."""
        return LinkSnapshot(self._read_link(link_id))

    def attach(
        self,
        link_id: str,
        *,
        customer_id: str,
        user_id: str,
        snapshot: LinkSnapshot | None = None,
    ) -> AttachedLink:
        """A link made before its user's IDs were known (a batch answers its links before
        any name is resolved) is filed under them once the lookups named them, just before
        its reset: the user's index holds it from now, so this reset's delivery retires
        the user's older links and a later link retires it, and its reveal is audited
        with the real IDs. Its public key, to seal the password to, and the row's version;
        SecretGone when the link is not live (expired, revealed, withdrawn). `snapshot`:
        the row as `look_up` read it, for the first try (judged live now; a row changed
        since fails the update and is read again)."""
        partition = _user_partition(customer_id, user_id)
        customer, user = _guid(customer_id, "customer_id"), _guid(user_id, "user_id")
        for attempt in range(REVEAL_ATTEMPTS):
            if attempt == 0 and snapshot is not None:
                entity = self._live(snapshot.entity)
            else:
                entity = self._live_link(link_id)
            point = b64url_decode(str(entity["PublicKey"]))
            expires_at = cast(datetime, entity["ExpiresAt"])
            filed = _user_partition(str(entity["CustomerId"]), str(entity["UserId"]))
            with _reaching_storage("filing a link under its user"):
                # The index first, so no link exists that the index does not know; dated
                # now, as a link made for this reset would be.
                self._table.upsert_entity(
                    {
                        "PartitionKey": partition,
                        "RowKey": link_id,
                        "CreatedAt": self._now(),
                        "ExpiresAt": entity["ExpiresAt"],
                    }
                )
                if filed == partition:
                    # Made with these IDs already (or attached by an earlier attempt).
                    return AttachedLink(point, _version(entity.metadata, expires_at))
                try:
                    refiled = self._table.update_entity(
                        {
                            "PartitionKey": link_id,
                            "RowKey": LINK_ROW,
                            "CustomerId": customer,
                            "UserId": user,
                        },
                        mode=UpdateMode.MERGE,
                        etag=entity.metadata["etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
                except ResourceModifiedError:
                    continue
                except ResourceNotFoundError:
                    raise SecretGone from None
                self._table.delete_entity(filed, link_id)
            return AttachedLink(point, _version(refiled, expires_at))
        raise SecretGone

    def public_point(self, link_id: str) -> bytes:
        """The link's public key, to seal its password to; SecretGone when it is not live."""
        entity = self._live_link(link_id)
        return b64url_decode(str(entity["PublicKey"]))

    def store_sealed(
        self, link_id: str, sealed: SealedPassword, *, version: LinkVersion | None = None
    ) -> None:
        """After Partner Center confirmed: the link opens this password (the last one
        stored, if a retried reset stores again). SecretGone when it is not live.
        `version`: the row as this reset made or attached it; the first store is made on
        it, without a read (a row changed since, by another attempt, is read again; one
        revealed or withdrawn since is gone either way)."""
        fields = sealed.to_json()
        for _ in range(REVEAL_ATTEMPTS + (version is not None)):
            if version is not None:
                if self._now() >= version.expires_at:
                    raise SecretGone
                etag, version = version.etag, None
            else:
                etag = str(self._live_link(link_id).metadata["etag"])
            with _reaching_storage("storing a password"):
                try:
                    self._table.update_entity(
                        {
                            "PartitionKey": link_id,
                            "RowKey": LINK_ROW,
                            "State": LinkState.READY.value,
                            "EphemeralPublicKey": fields["ephemeralPublicKey"],
                            "Nonce": fields["nonce"],
                            "Ciphertext": fields["ciphertext"],
                        },
                        mode=UpdateMode.MERGE,
                        etag=etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
                except ResourceModifiedError:
                    continue
                except ResourceNotFoundError:
                    raise SecretGone from None
            return
        raise SecretGone

    def delete_pending(self, link_id: str) -> bool:
        """The reset failed: its link goes. False when the link is not pending (then it
        holds a confirmed password and stays)."""
        entity = self._read_link(link_id)
        if entity is None or entity.get("State") != LinkState.PENDING.value:
            return False
        with _reaching_storage("deleting a pending link"):
            self._table.delete_entity(
                link_id,
                LINK_ROW,
                etag=entity.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
            self._table.delete_entity(
                _user_partition(str(entity["CustomerId"]), str(entity["UserId"])), link_id
            )
        return True

    def delete_older_links(self, *, customer_id: str, user_id: str, link_id: str) -> int:
        """Only the newest link opens the password now set: delete the user's links made
        before `link_id` (links made after it are left to delete this one). The count."""
        older = self.older_links(customer_id=customer_id, user_id=user_id, link_id=link_id)
        return self.delete_links(customer_id=customer_id, user_id=user_id, link_ids=older)

    def older_links(self, *, customer_id: str, user_id: str, link_id: str) -> list[str]:
        """The user's links made before `link_id`, from the user's index. A link is in the
        index before its reset's PATCH, so read any time after this link's, the answer
        holds every link older than it."""
        partition = _user_partition(customer_id, user_id)
        with _reaching_storage("reading the user's links"):
            index = list(
                self._table.query_entities(
                    "PartitionKey eq @partition",
                    parameters={"partition": partition},
                    select=["RowKey", "CreatedAt"],
                )
            )
        own = next((row for row in index if row["RowKey"] == link_id), None)
        if own is None:
            return []
        anchor = (own["CreatedAt"], link_id)
        return [row["RowKey"] for row in index if (row["CreatedAt"], row["RowKey"]) < anchor]

    def delete_links(self, *, customer_id: str, user_id: str, link_ids: list[str]) -> int:
        """Deletes these links of the user's, row and index entry; the count."""
        partition = _user_partition(customer_id, user_id)
        with _reaching_storage("deleting older links"):
            for older_id in link_ids:
                self._table.delete_entity(older_id, LINK_ROW)
                self._table.delete_entity(partition, older_id)
        return len(link_ids)

    # -- the page's side ----------------------------------------------------------------

    def status(self, link_id: str) -> LinkState | None:
        """What the page may say before a click: pending, ready, or None (gone)."""
        entity = self._read_link(link_id)
        if entity is None or self._expired(entity):
            return None
        return LinkState(str(entity["State"]))

    def reveal(self, link_id: str) -> RevealedLink:
        """Spend the link: exactly one caller gets its sealed password. SecretGone when it
        was spent, expired or never existed; SecretNotReady while its reset is pending."""
        for _ in range(REVEAL_ATTEMPTS):
            entity = self._live_link(link_id)
            if entity.get("State") != LinkState.READY.value:
                raise SecretNotReady
            sealed = SealedPassword.from_json(
                {
                    "ephemeralPublicKey": str(entity["EphemeralPublicKey"]),
                    "nonce": str(entity["Nonce"]),
                    "ciphertext": str(entity["Ciphertext"]),
                }
            )
            outcome = self._delete_if_unchanged(link_id, str(entity.metadata["etag"]))
            if outcome is None:
                continue
            if not outcome:
                raise SecretGone
            customer_id, user_id = str(entity["CustomerId"]), str(entity["UserId"])
            self._forget_index_row(customer_id, user_id, link_id)
            return RevealedLink(link_id, customer_id, user_id, sealed)
        raise SecretGone

    # -- the timer's side ---------------------------------------------------------------

    def purge_expired(self) -> int:
        """Delete every row past its expiry (links and index rows); the count."""
        with _reaching_storage("purging expired links"):
            try:
                expired = [
                    (str(row["PartitionKey"]), str(row["RowKey"]))
                    for row in self._table.query_entities(
                        "ExpiresAt le @now",
                        parameters={"now": self._now()},
                        select=["PartitionKey", "RowKey"],
                    )
                ]
            except ResourceNotFoundError:
                return 0
            for partition, row in expired:
                self._table.delete_entity(partition, row)
        return len(expired)

    # -- inside -------------------------------------------------------------------------

    def _read_link(self, link_id: str) -> TableEntity | None:
        with _reaching_storage("reading a link"):
            try:
                return self._table.get_entity(link_id, LINK_ROW)
            except ResourceNotFoundError:
                # The link, or the whole table before the first link was made.
                return None

    def _live_link(self, link_id: str) -> TableEntity:
        return self._live(self._read_link(link_id))

    def _live(self, entity: TableEntity | None) -> TableEntity:
        if entity is None or self._expired(entity):
            raise SecretGone
        return entity

    def _expired(self, entity: TableEntity) -> bool:
        expires_at = entity.get("ExpiresAt")
        return not isinstance(expires_at, datetime) or self._now() >= expires_at

    def _delete_if_unchanged(self, link_id: str, etag: str) -> bool | None:
        """True: this call deleted the row. False: it was gone. None: it changed since it
        was read (read it again). The SDK answers a delete of a missing row with silence,
        so the service's own status tells who deleted it."""
        statuses: list[int] = []

        def record(response: PipelineResponse[Any, Any]) -> None:
            statuses.append(response.http_response.status_code)

        with _reaching_storage("spending a link"):
            try:
                self._table.delete_entity(
                    link_id,
                    LINK_ROW,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                    raw_response_hook=record,
                )
            except ResourceModifiedError:
                return None
        # The last attempt's answer counts: a retried delete whose first try landed
        # reads 404, and the link is then gone for everyone, which fails closed.
        return statuses[-1:] == [_DELETED]

    def _forget_index_row(self, customer_id: str, user_id: str, link_id: str) -> None:
        try:
            with _reaching_storage("forgetting a spent link"):
                self._table.delete_entity(_user_partition(customer_id, user_id), link_id)
        except DependencyUnavailable:
            # The reveal stands; the purge removes the row at its expiry.
            pass
