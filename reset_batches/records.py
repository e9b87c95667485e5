"""The records a batch passes between its stages: the order the request is parsed into,
one item per user (what a queue message carries), and what became of an item.

None of them holds a password or a link's key: a message carries the link's ID only, and
the key exists only in the 202 answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from reset_batches.store import Delivery
from reset_password.names import CustomerRef, UserRef
from shared.caller_auth import Caller


@dataclass(frozen=True)
class RequestedUser:
    """One entry of `users`: the text as sent (answered and shown back) and its reference."""

    sent: str
    ref: UserRef


@dataclass(frozen=True)
class BatchOrder:
    """What the caller asked for, validated: every entry, before anything is queued."""

    customer_sent: str
    customer: CustomerRef
    users: tuple[RequestedUser, ...]
    delivery: Delivery
    revoke_sessions: bool
    ticket_id: str | None
    requested_by: str | None


@dataclass(frozen=True)
class BatchItem:
    """One user of a batch, as its queue message carries it: who asked (for the policy
    check and the audit), whom to reset, how the password is delivered. The link's ID is
    here, never its key."""

    batch_id: str
    index: int
    customer: CustomerRef
    user: RequestedUser
    delivery: Delivery
    link_id: str | None
    revoke_sessions: bool
    ticket_id: str | None
    requested_by: str | None
    caller: Caller
    correlation_id: uuid.UUID


@dataclass(frozen=True)
class ItemOutcome:
    """What the reset step made of one item. A failure carries its contract code and the
    HTTP status that code has (shared/problems.py): 429 and 5xx are worth another try.
    A success may carry the code of what did not work after the reset."""

    status: Literal["succeeded", "failed"]
    code: str | None = None
    http_status: int | None = None
    user_id: str | None = None
    sessions_revoked: bool | None = None
    retry_after: int | None = None

    @classmethod
    def succeeded(
        cls, user_id: str, *, sessions_revoked: bool | None = None, code: str | None = None
    ) -> ItemOutcome:
        """`code`: a caveat of the success (`sessions_not_revoked`), never a failure's."""
        return cls("succeeded", code=code, user_id=user_id, sessions_revoked=sessions_revoked)

    @classmethod
    def failed(
        cls,
        code: str,
        http_status: int,
        *,
        user_id: str | None = None,
        retry_after: int | None = None,
    ) -> ItemOutcome:
        return cls(
            "failed", code=code, http_status=http_status, user_id=user_id, retry_after=retry_after
        )

    @property
    def retryable(self) -> bool:
        """Throttling and server-side failures pass; a refusal (4xx) stays a refusal."""
        return self.status == "failed" and (
            self.http_status is None or self.http_status == 429 or self.http_status >= 500
        )
