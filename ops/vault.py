"""Key Vault with the operator's own sign-in: reads and writes that fail with advice.

The credential comes from ops/credentials.py: the operator's developer sign-in, or in
local mode (a vault on loopback: dev/run.py's emulator) the emulators' managed identity,
and the advice on a failure names what to fix in that mode.
"""

from __future__ import annotations

import re
from datetime import datetime
from types import TracebackType
from typing import Self

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.keyvault.secrets import SecretClient

from ops.credentials import RUN_HINT, SignIn
from ops.errors import OpsError

CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 30
RETRIES = 3
_CODE = re.compile(r"[A-Za-z0-9_.]{1,64}")
# The role can read the refresh token, so it need not be held standing
# (GRANT_DEPLOYER_SECRETS_OFFICER); infra/README.md has the commands.
_JUST_IN_TIME = (
    "Where it is not held standing (GRANT_DEPLOYER_SECRETS_OFFICER=false), get it just in"
    " time: activate an eligible assignment in Privileged Identity Management, or have it"
    ' granted for the task with `az role assignment create --role "Key Vault Secrets Officer"'
    " --assignee <you> --scope <the vault's resource ID>` and deleted afterwards"
    " (infra/README.md, Operator access to the vault)."
)


class Vault:
    def __init__(
        self,
        url: str,
        sign_in: SignIn,
        *,
        verify_challenge_resource: bool = True,
    ) -> None:
        self.url = url
        self._local = sign_in.local
        credential: TokenCredential = sign_in.credential
        self._client = SecretClient(
            url,
            credential,
            verify_challenge_resource=verify_challenge_resource,
            retry_total=RETRIES,
            connection_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._client.close()

    def read(self, name: str) -> str | None:
        """The secret's current value, or None when the vault has no such secret."""
        try:
            secret = self._client.get_secret(name)
        except ResourceNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes advice
            raise self._failure("read", name, exc) from None
        value = (secret.value or "").strip()
        return value or None

    def write(
        self,
        name: str,
        value: str,
        *,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
        expires_on: datetime | None = None,
    ) -> str:
        """Store `value` as a new version of `name`; the new version's ID."""
        try:
            stored = self._client.set_secret(
                name, value, content_type=content_type, tags=tags, expires_on=expires_on
            )
        except Exception as exc:  # noqa: BLE001
            raise self._failure("write", name, exc) from None
        return stored.properties.version or "(unknown version)"

    def _failure(self, action: str, name: str, exc: Exception) -> OpsError:
        what = f"Could not {action} secret '{name}' in {self.url}"
        # A credential failure is a ClientAuthenticationError without an HTTP answer;
        # with one (401) it is the vault refusing.
        local = self._local_failure(what, exc) if self._local else None
        if local is not None:
            return local
        if isinstance(exc, ClientAuthenticationError) and exc.status_code is None:
            return OpsError(
                f"{what}: no token for Key Vault from your sign-in ({type(exc).__name__})."
                " Sign in with `az login` (or `azd auth login`) as a user who holds"
                " 'Key Vault Secrets Officer' on the vault, then run this again."
            )
        if isinstance(exc, HttpResponseError) and exc.status_code in (401, 403):
            # Both commands write, so the role to name is the one that also writes, even
            # when the refusal came on the read that comes first.
            return OpsError(
                f"{what}: Key Vault refused (HTTP {exc.status_code}{_error_code(exc)}). Your"
                " account needs the 'Key Vault Secrets Officer' role on the vault (or the"
                f" vault's firewall must let you in). {_JUST_IN_TIME} Role assignments can"
                " take a few minutes to apply."
            )
        if isinstance(exc, ServiceRequestError | ServiceResponseError):
            return OpsError(f"{what}: Key Vault is unreachable ({type(exc).__name__}).")
        if isinstance(exc, HttpResponseError):
            return OpsError(f"{what}: Key Vault answered HTTP {exc.status_code}{_error_code(exc)}.")
        return OpsError(f"{what} ({type(exc).__name__}).")

    @staticmethod
    def _local_failure(what: str, exc: Exception) -> OpsError | None:
        """Advice for local mode, where the fix is dev/run.py, not a role or a sign-in."""
        if isinstance(exc, ClientAuthenticationError) and exc.status_code is None:
            return OpsError(
                f"{what}: no token from the emulators' managed identity ({type(exc).__name__})."
                f" Is `python3 dev/run.py` still running? Otherwise {RUN_HINT}."
            )
        if isinstance(exc, ServiceRequestError | ServiceResponseError):
            return OpsError(
                f"{what}: the emulated vault is unreachable ({type(exc).__name__}); {RUN_HINT}."
            )
        return None


def _error_code(exc: object) -> str:
    # Key Vault's error codes (Forbidden, ForbiddenByFirewall, ...) help; its free-text
    # message is not needed to act.
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    return f", {code}" if isinstance(code, str) and _CODE.fullmatch(code) else ""
