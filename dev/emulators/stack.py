"""All the emulators wired together, plus the environment the function needs to use them."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from dev.emulators.base import EmulatorServer
from dev.emulators.graph import GraphEmulator
from dev.emulators.identity import CALLER_AUDIENCE, IdentityEmulator
from dev.emulators.key_vault import KeyVaultEmulator
from dev.emulators.ledger import TokenLedger
from dev.emulators.log_analytics import LogAnalyticsEmulator
from dev.emulators.managed_identity import MANAGED_IDENTITY_CLIENT_ID, ManagedIdentityEmulator
from dev.emulators.partner_center import PartnerCenterEmulator
from dev.emulators.samples import (
    NO_GDAP_CUSTOMER_ID,
    NO_GDAP_USER_ID,
    SAMPLE_ADMIN_USER_ID,
    SAMPLE_APP_ID,
    SAMPLE_APP_SECRET,
    SAMPLE_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_FEDERATED_USER_ID,
    SAMPLE_REFRESH_TOKEN,
    SAMPLE_SYNCED_USER_ID,
    SAMPLE_USER_ID,
    SAMPLE_USER_UPN,
    SECRET_NAME_APP_ID,
    SECRET_NAME_APP_SECRET,
    SECRET_NAME_REFRESH_TOKEN,
    add_sample_customers,
    add_sample_domains,
)
from dev.emulators.tls import TestCertificateAuthority

__all__ = [
    "MANAGED_IDENTITY_CLIENT_ID",
    "NO_GDAP_CUSTOMER_ID",
    "NO_GDAP_USER_ID",
    "SAMPLE_ADMIN_USER_ID",
    "SAMPLE_APP_ID",
    "SAMPLE_APP_SECRET",
    "SAMPLE_CUSTOMER_DOMAIN",
    "SAMPLE_CUSTOMER_ID",
    "SAMPLE_FEDERATED_USER_ID",
    "SAMPLE_REFRESH_TOKEN",
    "SAMPLE_SYNCED_USER_ID",
    "SAMPLE_USER_ID",
    "SAMPLE_USER_UPN",
    "EmulatorStack",
]


class EmulatorStack:
    """Identity, managed identity, Key Vault, Partner Center and Graph sharing one ledger,
    and the Log Analytics workspace an operator reads the audit from."""

    def __init__(self, *, sample: bool = True) -> None:
        self._sample = sample
        self.ledger = TokenLedger()
        self.ca = TestCertificateAuthority()
        self.identity = IdentityEmulator(self.ledger)
        self.managed_identity = ManagedIdentityEmulator(self.ledger)
        self.key_vault = KeyVaultEmulator(self.ledger, self.ca)
        self.partner_center = PartnerCenterEmulator(self.ledger)
        self.graph = GraphEmulator(self.ledger, self._graph_user, self._gdap_customers)
        self.log_analytics = LogAnalyticsEmulator(self.ledger, self.ca)

    @property
    def servers(self) -> tuple[EmulatorServer, ...]:
        return (
            self.identity,
            self.managed_identity,
            self.key_vault,
            self.partner_center,
            self.graph,
            self.log_analytics,
        )

    def start(self) -> Self:
        try:
            for server in self.servers:
                server.start()
        except BaseException:
            self.stop()
            raise
        self._wire()
        self.seed(sample=self._sample)
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.ca.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wire(self) -> None:
        # The vault's challenge names the identity emulator as its authority, as a real
        # vault names login.microsoftonline.com/{its tenant}.
        self.key_vault.authority = self.identity.url
        self.key_vault.tenant_id = self.identity.partner_tenant_id
        self.managed_identity.expected_client_id = MANAGED_IDENTITY_CLIENT_ID
        # Graph tokens are for the Graph emulator, redeemable in the partner's customers,
        # and Graph's directory is Partner Center's: one set of tenants and users.
        self.identity.graph_audience = self.graph.url
        self.identity.customer_tenants = self._customer_tenants
        # The partner's GDAP relationships are read in its own tenant.
        self.graph.partner_tenant_id = self.identity.partner_tenant_id

    def _customer_tenants(self) -> list[str]:
        return [customer.id for customer in self.partner_center.customers()]

    def _gdap_customers(self) -> list[tuple[str, str]]:
        """Customers with GDAP on in Partner Center: Graph lists a relationship for each."""
        return [(c.id, c.company_name) for c in self.partner_center.customers() if c.gdap]

    def _graph_user(self, tenant_id: str, user: str) -> str | None:
        """The object ID of the user `user` (object ID or UPN) in Partner Center's customer."""
        found = self.partner_center.find_user(tenant_id, user)
        return found.id if found is not None else None

    def seed(self, sample: bool = True) -> None:
        """Store the partner credentials (always) and the sample customers (if `sample`)."""
        self.identity.register_app(SAMPLE_APP_ID, SAMPLE_APP_SECRET)
        self.identity.add_refresh_token(SAMPLE_REFRESH_TOKEN, SAMPLE_APP_ID)
        self.key_vault.set_secret(SECRET_NAME_APP_ID, SAMPLE_APP_ID)
        self.key_vault.set_secret(SECRET_NAME_APP_SECRET, SAMPLE_APP_SECRET)
        self.key_vault.set_secret(SECRET_NAME_REFRESH_TOKEN, SAMPLE_REFRESH_TOKEN)
        if sample:
            add_sample_customers(self.partner_center)
            add_sample_domains(self.identity)

    def reset_state(self, *, sample: bool = True, revoke_tokens: bool = False) -> None:
        """Back to freshly seeded without restarting servers.

        Issued access tokens stay valid unless `revoke_tokens`: a long-lived SDK client
        in the test process may still cache one and would otherwise fail the next test.
        """
        for server in self.servers:
            server.clear_faults()
            server.clear_requests()
        self.identity.reset()
        self.managed_identity.reset()
        self.key_vault.reset()
        self.partner_center.reset()
        self.graph.reset()
        self.log_analytics.reset()
        if revoke_tokens:
            self.ledger.revoke_all()
        self._wire()
        self.seed(sample=sample)

    def settings(self, *, caller_auth: bool = False) -> dict[str, str]:
        """The app settings that point the function at these emulators."""
        values = {
            "KEY_VAULT_URL": self.key_vault.url,
            "PARTNER_TENANT_ID": self.identity.partner_tenant_id,
            "PARTNER_CENTER_BASE_URL": self.partner_center.url,
            "AUTHORITY_HOST": self.identity.url,
            "GRAPH_BASE_URL": self.graph.url,
            "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE": "false",
            "IDENTITY_ENDPOINT": self.managed_identity.endpoint,
            "IDENTITY_HEADER": self.managed_identity.identity_header,
            "AZURE_CLIENT_ID": MANAGED_IDENTITY_CLIENT_ID,
            "REQUESTS_CA_BUNDLE": self.ca.ca_bundle_path,
            "SECRET_NAME_APP_ID": SECRET_NAME_APP_ID,
            "SECRET_NAME_APP_SECRET": SECRET_NAME_APP_SECRET,
            "SECRET_NAME_REFRESH_TOKEN": SECRET_NAME_REFRESH_TOKEN,
        }
        if caller_auth:
            values["CALLER_TENANT_ID"] = self.identity.caller_tenant_id
            values["CALLER_AUDIENCE"] = CALLER_AUDIENCE
        return values
