"""Where a command's settings come from, and the checks they must pass.

A flag wins over the environment variable of the same setting,
which wins over the azd environment, which wins over the contract's default. The azd
environment is read at most once, and only when something is still missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from urllib.parse import urlsplit

from ops.errors import OpsError

DEFAULTS: dict[str, str] = {
    "SECRET_NAME_APP_ID": "partner-center-app-id",
    "SECRET_NAME_APP_SECRET": "partner-center-app-secret",
    "SECRET_NAME_REFRESH_TOKEN": "partner-center-refresh-token",
    "AUTHORITY_HOST": "https://login.microsoftonline.com",
    "PARTNER_CENTER_BASE_URL": "https://api.partnercenter.microsoft.com",
    "PARTNER_CENTER_RESOURCE": "https://api.partnercenter.microsoft.com",
    "GRAPH_BASE_URL": "https://graph.microsoft.com",
    "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE": "true",
    # The Log Analytics query API of Azure's public cloud (`ops audit`).
    "LOG_ANALYTICS_ENDPOINT": "https://api.loganalytics.io",
}

# Names azd itself gives a value (infra/main.bicep outputs), tried after the setting's own.
AZD_ALIASES: dict[str, tuple[str, ...]] = {
    "KEY_VAULT_URL": ("AZURE_KEY_VAULT_ENDPOINT",),
    "LOG_ANALYTICS_WORKSPACE_ID": ("AZURE_LOG_ANALYTICS_WORKSPACE_ID",),
}

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_SECRET_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
_TENANT = re.compile(r"[0-9A-Za-z.-]{1,253}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class SettingSource:
    def __init__(
        self, environ: Mapping[str, str], azd_environment: Callable[[], Mapping[str, str]]
    ) -> None:
        self._environ = environ
        self._azd = cache(azd_environment)

    def get(self, name: str, flag: str | None = None) -> str | None:
        for value in (flag, self._environ.get(name)):
            if value is not None and value.strip():
                return value.strip()
        azd = self._azd()
        for candidate in (name, *AZD_ALIASES.get(name, ())):
            value = azd.get(candidate)
            if value is not None and value.strip():
                return value.strip()
        return DEFAULTS.get(name)

    def azd_values(self) -> Mapping[str, str]:
        """The azd environment's values ({} without one), read once with the settings."""
        return self._azd()

    def require(self, name: str, flag: str | None, flag_name: str) -> str:
        value = self.get(name, flag)
        if value is None:
            raise OpsError(
                f"{name} is not set: pass {flag_name}, set the environment variable {name},"
                f" or set it in the azd environment (azd env set {name} ...)."
            )
        return value


def service_url(name: str, value: str) -> str:
    """An https URL, or http on a loopback host, without a trailing /."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise OpsError(f"{name} must be an absolute https URL such as https://host.")
    if parts.scheme == "http" and parts.hostname.lower() not in LOOPBACK_HOSTS:
        raise OpsError(
            f"{name} must use https (plain http is allowed on 127.0.0.1, ::1 and localhost only)."
        )
    if parts.query or parts.fragment:
        raise OpsError(f"{name} must not carry a query or a fragment.")
    return value.rstrip("/")


def secret_name(setting: str, value: str) -> str:
    if not _SECRET_NAME.fullmatch(value):
        raise OpsError(
            f"{setting} must be a Key Vault secret name (1-127 letters, digits and dashes)."
        )
    return value


def tenant_id(value: str) -> str:
    if not _TENANT.fullmatch(value):
        raise OpsError("PARTNER_TENANT_ID must be a tenant ID (GUID) or a tenant domain name.")
    return value


def application_id(value: str) -> str:
    """An app (client) ID; checked so that a secret pasted in its place is never stored."""
    if not _GUID.fullmatch(value.strip()):
        raise OpsError("The application (client) ID must be a GUID.")
    return value.strip().lower()


def workspace_id(value: str) -> str:
    """A Log Analytics workspace ID: the workspace's GUID (customerId), not its resource ID."""
    if not _GUID.fullmatch(value.strip()):
        raise OpsError(
            "LOG_ANALYTICS_WORKSPACE_ID must be the workspace ID, a GUID (azd output"
            " AZURE_LOG_ANALYTICS_WORKSPACE_ID; Azure portal: the workspace > Overview)."
        )
    return value.strip().lower()


def flag_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise OpsError(f"{name} must be true or false.")
