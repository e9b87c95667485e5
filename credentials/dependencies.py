"""What the credentials health route and the rotation timer are handed: built once per
process by the composition root, asked for through providers (a bad setting raises
SettingsError naming it, when asked)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from credentials.checks import CredentialsHealthDependencies
from credentials.derived_key import derived_key
from credentials.key_vault import SecretNames
from credentials.outcome_table import OutcomeTable
from credentials.partner_center_tokens import PartnerCenterTokens
from credentials.probe import CredentialProbe
from credentials.secret_cache import SecretCache
from credentials.tenant_tokens import TenantTokens
from shared.caller_auth import CallerTokenValidator
from shared.settings import CredentialSettings, HealthRouteSettings


@dataclass(frozen=True)
class Credentials:
    settings: CredentialSettings
    names: SecretNames
    secrets: SecretCache
    # Partner Center's access tokens (and the exchange history), other tenants' tokens:
    # both from the one stored refresh token, one exchange at a time.
    tokens: PartnerCenterTokens
    tenant_tokens: TenantTokens
    # The probe floor's memory lives as long as the token cache it spares.
    probe: CredentialProbe

    def derived_key(self, label: bytes) -> bytes:
        """A key only this function holds, derived from the app secret under `label`."""
        return derived_key(self.secrets, self.names.app_secret, label)


@dataclass(frozen=True)
class HealthRouteAccess:
    """Who may call the credentials health route, and how often a probe may exchange."""

    settings: HealthRouteSettings
    caller_tokens: CallerTokenValidator | None


CredentialsProvider = Callable[[], Credentials]
HealthProvider = Callable[[], CredentialsHealthDependencies]
AccessProvider = Callable[[], HealthRouteAccess]
# The rotation's kept outcomes (the host's storage): apart, so a bad storage setting stops
# neither the rotation nor the checks of Key Vault.
OutcomesProvider = Callable[[], OutcomeTable]
