"""What the batch functions are handed: built once per process by the composition root,
asked for per request or message through a provider (a bad setting raises then)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reset_batches.accept import BatchAcceptance
from reset_batches.store import BatchStore
from reset_batches.worker import BatchWorker
from reset_password.caller_policy import CustomerPolicy
from shared.caller_auth import CallerTokenValidator


@dataclass(frozen=True)
class BatchDependencies:
    # The single reset's caller check and CALLER_POLICY, the very same objects.
    caller_tokens: CallerTokenValidator | None
    customer_policy: CustomerPolicy
    acceptance: BatchAcceptance
    store: BatchStore
    worker: BatchWorker
    # The origin `statusUrl` and `nextLink` point to (PUBLIC_BASE_URL, as links do).
    base_url: str


BatchProvider = Callable[[], BatchDependencies]
