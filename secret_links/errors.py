"""The two answers only one-time links give (no HTTP here: secret_links/routes.py maps
them, beside the project's own table in shared/problems.py)."""

from __future__ import annotations

from shared.errors import DomainError

# Seconds a page asking too early waits before it asks again: a batch reset takes a
# few seconds once its turn comes.
NOT_READY_RETRY_AFTER = 10


class SecretGone(DomainError):
    """A link that was opened already, expired, never existed or whose reset failed: one
    answer for all, so whoever holds a link ID learns nothing more from it."""

    def __init__(self) -> None:
        super().__init__(
            "This link was opened already, has expired or does not exist. "
            "Ask your helpdesk for a new one."
        )


class SecretNotReady(DomainError):
    """A batch link whose reset has not happened yet: it stays usable."""

    def __init__(self) -> None:
        super().__init__(
            "The password for this link is not set yet. Try again shortly.",
            retry_after=NOT_READY_RETRY_AFTER,
        )
