"""Gathers the facts the credentials health checks judge (credentials/health.py).

Key Vault is read past the cache, each secret's value dropped at once: the check must say
what the vault holds now, and only its dates are needed. A probe's exchange
(credentials/probe.py) is made before this runs, and its new refresh token stored, so the
refresh token's date is the one the exchange produced.
"""

from __future__ import annotations

from credentials.health import CredentialFacts, ProbeOutcome
from credentials.key_vault import SecretNames
from credentials.partner_center_tokens import PartnerCenterTokens
from credentials.secret_cache import SecretCache


def gather(
    *,
    secrets: SecretCache,
    tokens: PartnerCenterTokens,
    names: SecretNames,
    probe: ProbeOutcome | None,
) -> CredentialFacts:
    app_id, app_secret, refresh_token = secrets.inspect(
        (names.app_id, names.app_secret, names.refresh_token)
    )
    return CredentialFacts(app_id, app_secret, refresh_token, tokens.history(), probe)
