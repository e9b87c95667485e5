"""What the credentials health route and the rotation timer are handed: built once per
process by the composition root, asked for through providers (a bad setting raises
SettingsError naming it, when asked)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from credentials.exchange import PartnerCenterTokens
from credentials.key_vault import SecretCache
from credentials.probe import CredentialProbe
from shared.caller_auth import CallerTokenValidator
from shared.settings import CredentialSettings, HealthRouteSettings, HealthSettings


@dataclass(frozen=True)
class Credentials:
    settings: CredentialSettings
    secrets: SecretCache
    tokens: PartnerCenterTokens
    # The probe floor's memory lives as long as the token cache it spares.
    probe: CredentialProbe


@dataclass(frozen=True)
class CredentialsHealthDependencies:
    credentials: Credentials
    thresholds: HealthSettings
    clock: Callable[[], float]


@dataclass(frozen=True)
class HealthRouteAccess:
    """Who may call the credentials health route, and how often a probe may exchange."""

    settings: HealthRouteSettings
    caller_tokens: CallerTokenValidator | None


CredentialsProvider = Callable[[], Credentials]
HealthProvider = Callable[[], CredentialsHealthDependencies]
AccessProvider = Callable[[], HealthRouteAccess]
