"""App settings: read from the environment and validated in one place.

Every setting is named by its environment variable (the alias), so a validation error
can tell the operator exactly which app setting to fix.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.directory_roles import ALWAYS_PROTECTED_ROLES, PRIVILEGED_ROLES
from shared.timer_schedule import Schedule, parse_schedule

_SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_TENANT = re.compile(r"^[0-9A-Za-z.-]{1,253}$")
# A probe floor of an hour at most: a longer one would hide a credential that broke.
MAX_PROBE_FLOOR_SECONDS = 3600


def parse_bool(text: str) -> bool:
    """true/1/yes or false/0/no, in any letter case; ValueError otherwise."""
    lowered = text.strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise ValueError("must be true or false")


def _env_bool(value: object) -> object:
    return parse_bool(value) if isinstance(value, str) else value


def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


EnvBool = Annotated[bool, BeforeValidator(_env_bool)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def service_url(value: str) -> str:
    """An https URL; plain http only on a loopback host (the local emulators). Without
    a trailing /; ValueError naming the rule otherwise.

    Tokens and secrets travel to these URLs: anything else could hand them to whoever
    sits on the network path. The operator commands (ops/) check their URLs with it too.
    """
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an absolute URL such as https://host")
    if parts.scheme != "https" and parts.hostname.lower() not in LOOPBACK_HOSTS:
        raise ValueError("must use https (plain http is allowed only on a loopback host)")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment")
    return value.strip().rstrip("/")


class CredentialSettings(BaseModel):
    """What the Partner Center credentials need: Key Vault, the token authority.

    The rotation timer validates only these, so a bad setting of the reset route (say
    CALLER_POLICY) never stops the refresh token from being renewed.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=False, extra="ignore")

    key_vault_url: str = Field(alias="KEY_VAULT_URL")
    partner_tenant_id: str = Field(alias="PARTNER_TENANT_ID")
    secret_name_app_id: str = Field("partner-center-app-id", alias="SECRET_NAME_APP_ID")
    secret_name_app_secret: str = Field("partner-center-app-secret", alias="SECRET_NAME_APP_SECRET")
    secret_name_refresh_token: str = Field(
        "partner-center-refresh-token", alias="SECRET_NAME_REFRESH_TOKEN"
    )
    authority_host: str = Field("https://login.microsoftonline.com", alias="AUTHORITY_HOST")
    # The token's audience: another value only in a sovereign cloud (21Vianet).
    partner_center_resource: str = Field(
        "https://api.partnercenter.microsoft.com", alias="PARTNER_CENTER_RESOURCE"
    )
    key_vault_verify_challenge_resource: EnvBool = Field(
        True, alias="KEY_VAULT_VERIFY_CHALLENGE_RESOURCE"
    )
    azure_client_id: OptionalText = Field(None, alias="AZURE_CLIENT_ID")
    secret_cache_seconds: float = Field(300.0, ge=0, alias="SECRET_CACHE_SECONDS")
    rotate_refresh_token: EnvBool = Field(True, alias="ROTATE_REFRESH_TOKEN")
    # Standard App Service variables: where they are set, the managed identity is used.
    identity_endpoint: OptionalText = Field(None, alias="IDENTITY_ENDPOINT")
    identity_header: OptionalText = Field(None, alias="IDENTITY_HEADER", repr=False)

    @field_validator("key_vault_url", "authority_host", "partner_center_resource")
    @classmethod
    def _credential_url(cls, value: str) -> str:
        return service_url(value)

    @field_validator("partner_tenant_id")
    @classmethod
    def _partner_tenant(cls, value: str) -> str:
        return tenant(value)

    @field_validator("secret_name_app_id", "secret_name_app_secret", "secret_name_refresh_token")
    @classmethod
    def _secret_name(cls, value: str) -> str:
        return secret_name(value)

    @property
    def managed_identity_available(self) -> bool:
        return self.identity_endpoint is not None and self.identity_header is not None

    @property
    def secret_names(self) -> tuple[str, str, str]:
        return (
            self.secret_name_app_id,
            self.secret_name_app_secret,
            self.secret_name_refresh_token,
        )


class CallerTokenSettings(BaseModel):
    """Caller tokens: shared by the reset routes and the credentials health route, so each
    validates them without the other's settings."""

    model_config = ConfigDict(frozen=True, populate_by_name=False, extra="ignore")

    caller_tenant_id: OptionalText = Field(None, alias="CALLER_TENANT_ID")
    caller_audience: OptionalText = Field(None, alias="CALLER_AUDIENCE")
    caller_required_role: str = Field(
        "PasswordReset.Invoke", min_length=1, alias="CALLER_REQUIRED_ROLE"
    )

    @field_validator("caller_tenant_id")
    @classmethod
    def _caller_tenant(cls, value: str | None) -> str | None:
        return tenant(value) if value is not None else None

    @model_validator(mode="after")
    def _caller_auth_pair(self) -> Self:
        if (self.caller_tenant_id is None) != (self.caller_audience is None):
            raise ValueError(
                "CALLER_TENANT_ID and CALLER_AUDIENCE go together: set both to require "
                "caller tokens, or neither"
            )
        return self

    @property
    def caller_tokens_required(self) -> bool:
        return self.caller_tenant_id is not None


class Settings(CredentialSettings, CallerTokenSettings):
    """The function's whole configuration: the credentials' and the reset route's."""

    partner_center_base_url: str = Field(
        "https://api.partnercenter.microsoft.com", alias="PARTNER_CENTER_BASE_URL"
    )
    reset_deadline_seconds: float = Field(25.0, gt=0, le=220, alias="RESET_DEADLINE_SECONDS")
    caller_policy: dict[str, frozenset[str]] | None = Field(None, alias="CALLER_POLICY")
    protected_role_guard: EnvBool = Field(True, alias="PROTECTED_ROLE_GUARD")
    protected_role_ids: frozenset[str] = Field(
        frozenset(PRIVILEGED_ROLES), alias="PROTECTED_ROLE_IDS"
    )
    lookup_cache_seconds: float = Field(3600.0, ge=0, alias="LOOKUP_CACHE_SECONDS")
    lookup_miss_cache_seconds: float = Field(60.0, ge=0, alias="LOOKUP_MISS_CACHE_SECONDS")
    partner_center_reset_call: Literal["resetpassword", "users"] = Field(
        "resetpassword", alias="PARTNER_CENTER_RESET_CALL"
    )
    graph_base_url: str = Field("https://graph.microsoft.com", alias="GRAPH_BASE_URL")

    @field_validator("partner_center_base_url", "graph_base_url")
    @classmethod
    def _service_url(cls, value: str) -> str:
        return service_url(value)

    @field_validator("caller_policy", mode="before")
    @classmethod
    def _policy(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"must be a JSON object ({exc.msg})") from None
        # Messages name positions, never values: the answer goes out before the caller
        # is authenticated, and the entries name who may act on which customer.
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object: caller app ID -> list of tenant IDs")
        policy: dict[str, frozenset[str]] = {}
        for position, (caller, customers) in enumerate(value.items(), start=1):
            if not isinstance(customers, list) or not all(isinstance(c, str) for c in customers):
                raise ValueError(f"entry {position} must be a list of customer tenant IDs")
            if any(customer != "*" and not _is_guid(customer) for customer in customers):
                raise ValueError(f"entry {position} holds a value that is not a GUID or '*'")
            policy[caller.lower()] = frozenset(c.lower() for c in customers)
        return policy

    @field_validator("protected_role_ids", mode="before")
    @classmethod
    def _role_ids(cls, value: object) -> object:
        if isinstance(value, str):
            ids = [part.strip().lower() for part in value.split(",") if part.strip()]
            if not ids:
                # Blank is a slip, not a wish to protect nobody: keep Microsoft's list.
                return frozenset(PRIVILEGED_ROLES)
            if not all(_is_guid(part) for part in ids):
                raise ValueError("must be comma-separated role template GUIDs")
            return frozenset(ids)
        return value

    @field_validator("protected_role_ids", mode="after")
    @classmethod
    def _core_roles_always(cls, value: frozenset[str]) -> frozenset[str]:
        # Whatever the list says, the roles that own the tenant stay protected.
        return value | ALWAYS_PROTECTED_ROLES


class HealthSettings(BaseModel):
    """Thresholds of the credentials health check (`GET /api/health/credentials` and the
    rotation timer's alerts), in days.

    Kept apart from the credentials' settings: a bad threshold must not stop the refresh
    token from being rotated, nor the reset from working.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=False, extra="ignore")

    # The refresh token dies after 90 days unused: warn well before, alarm close to it.
    refresh_token_warning_days: int = Field(
        60, ge=1, le=89, alias="HEALTH_REFRESH_TOKEN_WARNING_DAYS"
    )
    refresh_token_critical_days: int = Field(
        80, ge=1, le=89, alias="HEALTH_REFRESH_TOKEN_CRITICAL_DAYS"
    )
    # Days before the app secret expires: time to create and store a new one.
    app_secret_warning_days: int = Field(30, ge=0, le=3650, alias="HEALTH_APP_SECRET_WARNING_DAYS")
    app_secret_critical_days: int = Field(7, ge=0, le=3650, alias="HEALTH_APP_SECRET_CRITICAL_DAYS")

    @model_validator(mode="after")
    def _ordered(self) -> HealthSettings:
        if self.refresh_token_warning_days >= self.refresh_token_critical_days:
            raise ValueError(
                "HEALTH_REFRESH_TOKEN_WARNING_DAYS must be less than "
                "HEALTH_REFRESH_TOKEN_CRITICAL_DAYS (days since the refresh token was stored)"
            )
        if self.app_secret_warning_days <= self.app_secret_critical_days:
            raise ValueError(
                "HEALTH_APP_SECRET_WARNING_DAYS must be more than "
                "HEALTH_APP_SECRET_CRITICAL_DAYS (days left before the app secret expires)"
            )
        return self


class HealthRouteSettings(CallerTokenSettings):
    """The credentials health route's own settings: who may ask, and how often a probe may
    spend the partner's credential.

    Apart from the reset route's: a bad CALLER_POLICY does not stop the check, and a bad
    probe floor does not stop resets.
    """

    caller_operator_role: str = Field("PasswordReset.Operate", alias="CALLER_OPERATOR_ROLE")
    health_probe_min_seconds: int = Field(
        300, ge=0, le=MAX_PROBE_FLOOR_SECONDS, alias="HEALTH_PROBE_MIN_SECONDS"
    )

    @field_validator("caller_operator_role", mode="before")
    @classmethod
    def _operator_role(cls, value: object) -> object:
        # An app role's value has no spaces; blank would be a role no token holds.
        if isinstance(value, str) and (not value or any(c.isspace() for c in value)):
            raise ValueError("must be an app role value (no spaces, not blank)")
        return value

    @field_validator("health_probe_min_seconds", mode="before")
    @classmethod
    def _probe_floor(cls, value: object) -> object:
        # Whole seconds in plain digits: "1.5", "1e3", "inf" or other scripts' digits are
        # slips, and a slip must not loosen the floor.
        if isinstance(value, str):
            text = value.strip()
            if not (text.isascii() and text.isdigit()) or int(text) > MAX_PROBE_FLOOR_SECONDS:
                raise ValueError(f"must be whole seconds from 0 to {MAX_PROBE_FLOOR_SECONDS}")
            return int(text)
        return value


# NCRONTAB, second minute hour day month weekday: one field of the time of day, each item
# `*`, `*/step`, `n`, `a-b` or `a-b/step`, items separated by commas.
_CRON_ITEM = re.compile(r"^(?:\*(?:/([0-9]+))?|([0-9]+)(?:-([0-9]+)(?:/([0-9]+))?)?)$")
DEFAULT_CHECK_SCHEDULE = "0 30 3 * * *"


def _time_field(text: str, highest: int) -> bool:
    """One NCRONTAB field over 0..highest."""
    for item in text.split(","):
        found = _CRON_ITEM.fullmatch(item)
        if found is None:
            return False
        step_all, first, last, step = found.groups()
        steps = [int(s) for s in (step_all, step) if s is not None]
        if any(not 1 <= s <= highest for s in steps):
            return False
        if first is not None and not int(first) <= int(last or first) <= highest:
            return False
    return True


def daily_schedule(value: str) -> str:
    """An NCRONTAB schedule that runs every day, at most once a minute (its fields joined
    by one space); ValueError naming the rule otherwise.

    The credentials alert rule compares each check's record with the one before it and
    looks back two days at most: runs further apart would mail at every run. The days are
    therefore `* * *`, and the seconds one number, so a slip cannot run it every second.
    """
    fields = value.split()
    if not (
        len(fields) == 6
        and fields[3:] == ["*", "*", "*"]
        and fields[0].isascii()
        and fields[0].isdigit()
        and int(fields[0]) <= 59
        and _time_field(fields[1], 59)
        and _time_field(fields[2], 23)
    ):
        raise ValueError(
            "must be an NCRONTAB schedule that runs every day, at most once a minute: "
            f"'second minute hour * * *', such as '{DEFAULT_CHECK_SCHEDULE}'"
        )
    return " ".join(fields)


class CheckScheduleSettings(BaseModel):
    """When the daily credentials checks run: the timer's schedule, read when the host
    indexes the functions. Apart from every other setting: a bad one stops nothing else."""

    model_config = ConfigDict(frozen=True, populate_by_name=False, extra="ignore")

    credentials_check_schedule: str = Field(
        DEFAULT_CHECK_SCHEDULE, alias="CREDENTIALS_CHECK_SCHEDULE"
    )

    @field_validator("credentials_check_schedule", mode="before")
    @classmethod
    def _daily(cls, value: object) -> object:
        if isinstance(value, str):
            return daily_schedule(value) if value.strip() else DEFAULT_CHECK_SCHEDULE
        return value


_HOST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?$")
_STORAGE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")


class SecretLinkSettings(BaseModel):
    """One-time links (contract 1c): generated passwords, where links point, how long
    they live, and the storage account of their table (the Functions host's own).

    Apart from the reset's settings: the link page keeps working whatever the reset's
    configuration, and a bad link setting stops only the links.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=False, extra="ignore")

    secret_link_ttl_minutes: int = Field(1440, ge=5, le=10080, alias="SECRET_LINK_TTL_MINUTES")
    generated_password_length: int = Field(16, ge=12, le=256, alias="GENERATED_PASSWORD_LENGTH")
    public_base_url: OptionalText = Field(None, alias="PUBLIC_BASE_URL")
    # Set by App Service: the app's default host name.
    website_hostname: OptionalText = Field(None, alias="WEBSITE_HOSTNAME")
    # The host's storage, as the Functions host reads it: a connection string locally
    # (Azurite), identity-based in Azure. The connection string holds the account key.
    storage_connection_string: OptionalText = Field(None, alias="AzureWebJobsStorage", repr=False)
    storage_account_name: OptionalText = Field(None, alias="AzureWebJobsStorage__accountName")
    storage_table_service_uri: OptionalText = Field(
        None, alias="AzureWebJobsStorage__tableServiceUri"
    )
    storage_credential: OptionalText = Field(None, alias="AzureWebJobsStorage__credential")
    storage_client_id: OptionalText = Field(None, alias="AzureWebJobsStorage__clientId")

    @field_validator("public_base_url")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "@" in urlsplit(value.strip()).netloc:
            raise ValueError("must not carry a user name or password")
        return service_url(value)

    @field_validator("website_hostname")
    @classmethod
    def _host_name(cls, value: str | None) -> str | None:
        if value is not None and not _HOST_NAME.fullmatch(value.strip()):
            raise ValueError("must be a host name such as func-reset.azurewebsites.net")
        return None if value is None else value.strip()

    @field_validator("storage_table_service_uri")
    @classmethod
    def _table_uri(cls, value: str | None) -> str | None:
        return None if value is None else service_url(value)

    @field_validator("storage_account_name")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not _STORAGE_ACCOUNT.fullmatch(value.strip()):
            raise ValueError("must be a storage account name (3-24 lowercase letters and digits)")
        return None if value is None else value.strip()

    @model_validator(mode="after")
    def _complete(self) -> SecretLinkSettings:
        if self.public_base_url is None and self.website_hostname is None:
            raise ValueError(
                "PUBLIC_BASE_URL is required when WEBSITE_HOSTNAME is not set (the origin "
                "one-time links point to)"
            )
        if (
            self.storage_connection_string is None
            and self.storage_account_name is None
            and self.storage_table_service_uri is None
        ):
            raise ValueError(
                "AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__accountName "
                "(identity-based) is required for the secretlinks table"
            )
        return self

    @property
    def link_base_url(self) -> str:
        """`{PUBLIC_BASE_URL}`, by default the app's own https origin."""
        return self.public_base_url or f"https://{self.website_hostname}"

    @property
    def table_endpoint(self) -> str | None:
        """The account's table endpoint for identity-based access (no connection string)."""
        if self.storage_table_service_uri is not None:
            return self.storage_table_service_uri
        if self.storage_account_name is not None:
            return f"https://{self.storage_account_name}.table.core.windows.net"
        return None

    @property
    def storage_uses_managed_identity(self) -> bool:
        return (self.storage_credential or "").strip().lower() == "managedidentity"


class BatchSettings(BaseModel):
    """Batches (contract 1d): the queue `reset-batch` and the table `batches`, in the host's
    storage account, reached as the Functions host reaches it (the queue trigger reads the
    same queue through the `AzureWebJobsStorage` connection).

    Apart from the reset's and the links' settings: a bad storage setting stops batches
    and nothing else.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=False, extra="ignore")

    # A connection string locally (Azurite), identity-based in Azure: the account name, or
    # each service's URI, with the credential the host uses.
    storage_connection_string: OptionalText = Field(None, alias="AzureWebJobsStorage", repr=False)
    storage_account_name: OptionalText = Field(None, alias="AzureWebJobsStorage__accountName")
    storage_queue_service_uri: OptionalText = Field(
        None, alias="AzureWebJobsStorage__queueServiceUri"
    )
    storage_table_service_uri: OptionalText = Field(
        None, alias="AzureWebJobsStorage__tableServiceUri"
    )
    storage_credential: OptionalText = Field(None, alias="AzureWebJobsStorage__credential")
    storage_client_id: OptionalText = Field(None, alias="AzureWebJobsStorage__clientId")

    @field_validator("storage_queue_service_uri", "storage_table_service_uri")
    @classmethod
    def _service_uri(cls, value: str | None) -> str | None:
        return None if value is None else service_url(value)

    @field_validator("storage_account_name")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not _STORAGE_ACCOUNT.fullmatch(value.strip()):
            raise ValueError("must be a storage account name (3-24 lowercase letters and digits)")
        return None if value is None else value.strip()

    @model_validator(mode="after")
    def _complete(self) -> BatchSettings:
        if self.storage_connection_string is None and (
            self.queue_endpoint is None or self.table_endpoint is None
        ):
            raise ValueError(
                "AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__accountName "
                "(identity-based) is required for the reset-batch queue and the batches table"
            )
        return self

    @property
    def queue_endpoint(self) -> str | None:
        """The account's queue endpoint for identity-based access (no connection string)."""
        if self.storage_queue_service_uri is not None:
            return self.storage_queue_service_uri
        if self.storage_account_name is not None:
            return f"https://{self.storage_account_name}.queue.core.windows.net"
        return None

    @property
    def table_endpoint(self) -> str | None:
        if self.storage_table_service_uri is not None:
            return self.storage_table_service_uri
        if self.storage_account_name is not None:
            return f"https://{self.storage_account_name}.table.core.windows.net"
        return None

    @property
    def storage_uses_managed_identity(self) -> bool:
        return (self.storage_credential or "").strip().lower() == "managedidentity"


class CheckTableSettings(BatchSettings):
    """The table `credentialchecks` (the weekly rotation's kept checks), in the host's
    storage account, reached as the batches reach it. Apart from every other setting: a
    bad one stops neither the rotation nor the checks of Key Vault; the daily checks
    report it as the `rotation` check's warning."""

    @model_validator(mode="after")
    def _complete(self) -> CheckTableSettings:
        if self.storage_connection_string is None and self.table_endpoint is None:
            raise ValueError(
                "AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__accountName "
                "(identity-based) is required for the credentials checks' table"
            )
        return self


def tenant(value: str) -> str:
    """A tenant ID (GUID) or a tenant domain name; ValueError otherwise."""
    if not _TENANT.fullmatch(value.strip()):
        raise ValueError("must be a tenant ID (GUID) or a tenant domain name")
    return value.strip()


def secret_name(value: str) -> str:
    """A Key Vault secret name; ValueError otherwise."""
    if not _SECRET_NAME.fullmatch(value):
        raise ValueError("must be a Key Vault secret name (1-127 letters, digits, dashes)")
    return value


def _is_guid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return len(value) == 36


class TelemetrySettings(BaseModel):
    """Where the worker exports its own log records (Application Insights), if anywhere.

    Apart from every other model: a bad telemetry setting stops the export (the host's
    forwarding of message text goes on) and nothing else.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=False, extra="ignore")

    # Not a secret with local auth off (ingestion needs the identity), but with local auth
    # on it is a write key: never shown.
    connection_string: OptionalText = Field(
        None, alias="APPLICATIONINSIGHTS_CONNECTION_STRING", repr=False
    )
    # `Authorization=AAD` (and `ClientId=<user-assigned identity>`): ingestion with Entra.
    authentication_string: OptionalText = Field(
        None, alias="APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
    )

    @field_validator("connection_string")
    @classmethod
    def _connection_string(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # Messages name keys, never values.
        parts = _key_values(value, "must be key=value pairs separated by ';'")
        if not _is_guid(parts.get("instrumentationkey", "")):
            raise ValueError("must hold InstrumentationKey=<GUID>")
        endpoint = parts.get("ingestionendpoint")
        if endpoint is not None:
            try:
                service_url(endpoint)
            except ValueError as exc:
                # Log records (the audit's identifiers among them) travel to this endpoint.
                raise ValueError(f"IngestionEndpoint {exc}") from None
        return value.strip()

    @field_validator("authentication_string")
    @classmethod
    def _authentication_string(cls, value: str | None) -> str | None:
        if value is None:
            return None
        rule = "must be Authorization=AAD, with ClientId=<GUID> for a user-assigned identity"
        parts = _key_values(value, rule)
        if parts.get("authorization") != "AAD" or not set(parts) <= {"authorization", "clientid"}:
            raise ValueError(rule)
        if "clientid" in parts and not _is_guid(parts["clientid"]):
            raise ValueError(rule)
        return value.strip()

    @property
    def export_enabled(self) -> bool:
        return self.connection_string is not None

    @property
    def entra_ingestion(self) -> bool:
        """Ingestion authenticated with the managed identity (local auth off)."""
        return self.authentication_string is not None

    @property
    def ingestion_client_id(self) -> str | None:
        """The user-assigned identity that sends telemetry; None: the system-assigned one."""
        if self.authentication_string is None:
            return None
        return _key_values(self.authentication_string, "").get("clientid")


def _key_values(text: str, problem: str) -> dict[str, str]:
    """`Key=value;Key=value` with keys lower-cased; ValueError(problem) if not that form."""
    parts: dict[str, str] = {}
    for pair in text.strip().strip(";").split(";"):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(problem)
        parts[key.strip().lower()] = value.strip()
    return parts


SETTING_NAMES: tuple[str, ...] = tuple(
    dict.fromkeys(
        field.alias
        for model in (
            Settings,
            HealthSettings,
            HealthRouteSettings,
            SecretLinkSettings,
            TelemetrySettings,
            BatchSettings,
            CheckScheduleSettings,
        )
        for field in model.model_fields.values()
        if field.alias
    )
)


class SettingsError(Exception):
    """The app settings are missing or malformed; the message names each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid app settings: " + "; ".join(problems))


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The subset of the environment that Settings reads (also its cache key)."""
    source = os.environ if environ is None else environ
    return {name: source[name] for name in SETTING_NAMES if name in source}


_Model = TypeVar("_Model", bound=BaseModel)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Validate the app settings, raising SettingsError that names every bad setting."""
    return _load(Settings, environ)


def load_credential_settings(environ: Mapping[str, str] | None = None) -> CredentialSettings:
    """Only the settings the credentials need (for the rotation timer)."""
    return _load(CredentialSettings, environ)


def load_health_settings(environ: Mapping[str, str] | None = None) -> HealthSettings:
    """The credentials health check's thresholds."""
    return _load(HealthSettings, environ)


def load_telemetry_settings(environ: Mapping[str, str] | None = None) -> TelemetrySettings:
    """Where the worker's log records are exported (Application Insights), if anywhere."""
    return _load(TelemetrySettings, environ)


def load_health_route_settings(
    environ: Mapping[str, str] | None = None,
) -> HealthRouteSettings:
    """Caller tokens, the operator role and the probe floor of the credentials health route."""
    return _load(HealthRouteSettings, environ)


def load_secret_link_settings(environ: Mapping[str, str] | None = None) -> SecretLinkSettings:
    """The one-time links' settings (their page, their table, generated passwords)."""
    return _load(SecretLinkSettings, environ)


def load_batch_settings(environ: Mapping[str, str] | None = None) -> BatchSettings:
    """Where batches keep their queue and their status table (the host's storage)."""
    return _load(BatchSettings, environ)


def load_check_table_settings(environ: Mapping[str, str] | None = None) -> CheckTableSettings:
    """Where the weekly rotation keeps its checks for the daily timer (the host's storage)."""
    return _load(CheckTableSettings, environ)


def load_check_schedule_settings(
    environ: Mapping[str, str] | None = None,
) -> CheckScheduleSettings:
    """The daily credentials checks' schedule (CREDENTIALS_CHECK_SCHEDULE)."""
    return _load(CheckScheduleSettings, environ)


def _load(model: type[_Model], environ: Mapping[str, str] | None) -> _Model:
    raw: dict[str, Any] = dict(read_environment(environ))
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


DEFAULT_ROTATION_SCHEDULE = "0 0 3 * * 1"


def rotation_schedule(environ: Mapping[str, str] | None = None) -> str:
    """The timer's NCRONTAB schedule; read at indexing time, when the host resolves it."""
    source = os.environ if environ is None else environ
    return source.get("REFRESH_TOKEN_ROTATION_SCHEDULE") or DEFAULT_ROTATION_SCHEDULE


def load_rotation_schedule(environ: Mapping[str, str] | None = None) -> Schedule:
    """When the rotation fires (REFRESH_TOKEN_ROTATION_SCHEDULE, read as the host reads
    it): how old its last outcome may be. Raises SettingsError naming a schedule that
    cannot be read."""
    try:
        return parse_schedule(rotation_schedule(environ))
    except ValueError as exc:
        raise SettingsError([f"REFRESH_TOKEN_ROTATION_SCHEDULE {exc}"]) from None


def credentials_check_schedule(environ: Mapping[str, str] | None = None) -> str:
    """The daily checks timer's schedule, read at indexing time. A malformed one is
    replaced by the default, so the checks still run every day (a schedule the host
    refused would stop them altogether); worker/startup.py names it at start-up."""
    try:
        return load_check_schedule_settings(environ).credentials_check_schedule
    except SettingsError:
        return DEFAULT_CHECK_SCHEDULE


def _describe(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        name = str(error["loc"][0]) if error["loc"] else "settings"
        if error["type"] == "missing":
            problems.append(f"{name} is required but not set")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name} {message}" if error["loc"] else message)
    return problems
