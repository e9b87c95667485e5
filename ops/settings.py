"""Where a command's settings come from, and the checks they must pass.

A flag wins over the environment variable of the same setting,
which wins over the azd environment, which wins over the contract's default. The azd
environment is read at most once, and only when something is still missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import TypeVar

from ops.errors import OpsError
from shared import settings as app_settings


def _function_defaults(*names: str) -> dict[str, str]:
    """The function's own defaults of these settings (shared/settings.py), as text."""
    fields = {field.alias: field for field in app_settings.Settings.model_fields.values()}
    defaults = {name: fields[name].default for name in names}
    return {
        name: str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in defaults.items()
    }


DEFAULTS: dict[str, str] = _function_defaults(
    "SECRET_NAME_APP_ID",
    "SECRET_NAME_APP_SECRET",
    "SECRET_NAME_REFRESH_TOKEN",
    "AUTHORITY_HOST",
    "PARTNER_CENTER_BASE_URL",
    "PARTNER_CENTER_RESOURCE",
    "GRAPH_BASE_URL",
    "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE",
)
# The Log Analytics query API of Azure's public cloud (`ops audit`): an operator setting only.
DEFAULTS["LOG_ANALYTICS_ENDPOINT"] = "https://api.loganalytics.io"

# Names azd itself gives a value (infra/main.bicep outputs), tried after the setting's own.
AZD_ALIASES: dict[str, tuple[str, ...]] = {
    "KEY_VAULT_URL": ("AZURE_KEY_VAULT_ENDPOINT",),
    "LOG_ANALYTICS_WORKSPACE_ID": ("AZURE_LOG_ANALYTICS_WORKSPACE_ID",),
}

# The canonical 8-4-4-4-12 form only: what the portal shows for an app ID.
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


# The function's own checks (shared/settings.py), so a command stores and calls only
# what the function will accept; their messages, prefixed with the setting's name.
_Checked = TypeVar("_Checked")


def _as_the_function_checks(name: str, check: Callable[[str], _Checked], value: str) -> _Checked:
    try:
        return check(value)
    except ValueError as exc:
        raise OpsError(f"{name} {exc}.") from None


def service_url(name: str, value: str) -> str:
    """An https URL, or http on a loopback host, without a trailing /."""
    return _as_the_function_checks(name, app_settings.service_url, value)


def secret_name(setting: str, value: str) -> str:
    return _as_the_function_checks(setting, app_settings.secret_name, value)


def tenant_id(value: str) -> str:
    return _as_the_function_checks("PARTNER_TENANT_ID", app_settings.tenant, value)


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
    return _as_the_function_checks(name, app_settings.parse_bool, value)
