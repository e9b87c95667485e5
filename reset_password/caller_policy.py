"""Which customers a caller may act on (CALLER_POLICY): the reset's authorisation.

Who the caller is was settled by `shared.caller_auth` (the function key, or a verified
Entra ID token); this holds that caller to its list of customer tenants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.caller_auth import Caller
from shared.errors import Forbidden

# One answer for every customer a restricted caller may not touch, named or not, known
# to Partner Center or not: anything else would let it map the partner's customers.
NOT_YOUR_CUSTOMER = "This caller may not act on the customer it named."


@dataclass(frozen=True)
class CustomerAccess:
    """One caller's access: its key (which also keys its idempotent resets) and the
    tenant IDs of its list, None for every customer."""

    caller_key: str
    tenant_ids: frozenset[str] | None

    @property
    def restricted(self) -> bool:
        return self.tenant_ids is not None

    def allows(self, customer_tenant_id: str) -> bool:
        return self.tenant_ids is None or customer_tenant_id.lower() in self.tenant_ids

    def check(self, customer_tenant_id: str) -> None:
        if not self.allows(customer_tenant_id):
            raise Forbidden(NOT_YOUR_CUSTOMER)


class CustomerPolicy:
    """Which customers each caller may act on (CALLER_POLICY); None means all for all."""

    def __init__(self, policy: Mapping[str, frozenset[str]] | None) -> None:
        self._policy = policy

    def access_for(self, caller: Caller) -> CustomerAccess:
        """The caller's access; a caller the policy does not list may act on nobody."""
        if self._policy is None:
            return CustomerAccess(caller.key, None)
        if caller.key not in self._policy:
            raise Forbidden(f"Caller '{caller.key}' may not reset passwords for any customer.")
        allowed = self._policy[caller.key]
        return CustomerAccess(caller.key, None if "*" in allowed else allowed)
