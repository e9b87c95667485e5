"""What the reset routes are handed: built once per process by the composition root,
asked for per request through a provider (a bad setting raises SettingsError then)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reset_password.caller_policy import CustomerPolicy
from reset_password.delivery import PasswordDelivery
from reset_password.service import ResetService
from shared.caller_auth import CallerTokenValidator


@dataclass(frozen=True)
class ResetDependencies:
    reset_service: ResetService
    # The service's own: a batch makes its links with it when it is accepted.
    delivery: PasswordDelivery
    # None unless CALLER_TENANT_ID and CALLER_AUDIENCE turn caller tokens on.
    caller_tokens: CallerTokenValidator | None
    customer_policy: CustomerPolicy
    deadline_seconds: float
    deadline_clock: Callable[[], float]


ResetProvider = Callable[[], ResetDependencies]
