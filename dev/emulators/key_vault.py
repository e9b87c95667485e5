"""Key Vault secrets emulator over HTTPS, with the bearer challenge the Azure SDK expects."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from dev.emulators.base import EmulatorServer
from dev.emulators.ledger import TokenLedger
from dev.emulators.messages import RecordedRequest, Response, json_response
from dev.emulators.routing import Router
from dev.emulators.tls import TestCertificateAuthority

KEY_VAULT_AUDIENCE = "https://vault.azure.net"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"

_NAME = r"(?P<name>[^/]+)"
_VALID_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")


@dataclass(frozen=True)
class SecretVersion:
    version: str
    value: str
    content_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # Attributes in epoch seconds, as Key Vault sends them (`created`, `updated`, `exp`).
    created: int = field(default_factory=lambda: int(time.time()))
    expires: int | None = None


def _kv_error(status: int, code: str, message: str, **extra: Any) -> Response:
    return json_response(status, {"error": {"code": code, "message": message, **extra}})


class KeyVaultEmulator(EmulatorServer):
    def __init__(
        self,
        ledger: TokenLedger,
        ca: TestCertificateAuthority,
        *,
        authority: str = DEFAULT_AUTHORITY,
        tenant_id: str = "common",
    ) -> None:
        super().__init__(ssl_context=ca.server_context())
        self.ledger = ledger
        self.authority = authority
        self.tenant_id = tenant_id
        self.read_only = False
        # The caller holds no Key Vault role: reads and writes alike are refused.
        self.no_role = False
        self._state = threading.Lock()
        self._secrets: dict[str, list[SecretVersion]] = {}
        self._reads: Counter[str] = Counter()
        self._writes: Counter[str] = Counter()
        self._router = Router()
        self._router.add("GET", f"/secrets/{_NAME}/?", self._get_secret)
        self._router.add("GET", f"/secrets/{_NAME}/(?P<version>[^/]+)", self._get_secret)
        self._router.add("PUT", f"/secrets/{_NAME}/?", self._put_secret)

    def reset(self) -> None:
        with self._state:
            self._secrets.clear()
            self._reads.clear()
            self._writes.clear()
        self.read_only = False
        self.no_role = False
        self.latency = 0.0

    # -- state -----------------------------------------------------------------

    def set_secret(
        self,
        name: str,
        value: str,
        *,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
        created: float | None = None,
        expires: float | None = None,
    ) -> str:
        version = SecretVersion(
            uuid.uuid4().hex,
            value,
            content_type,
            dict(tags or {}),
            int(time.time() if created is None else created),
            None if expires is None else int(expires),
        )
        with self._state:
            self._secrets.setdefault(name.lower(), []).append(version)
        return version.version

    def set_attributes(
        self, name: str, *, created: float | None = None, expires: float | None = None
    ) -> None:
        """Change the current version's dates (a test's way to age a secret or make it
        expire without waiting); None leaves a date as it is."""
        with self._state:
            versions = self._secrets[name.lower()]
            current = versions[-1]
            versions[-1] = replace(
                current,
                created=current.created if created is None else int(created),
                expires=current.expires if expires is None else int(expires),
            )

    def attributes(self, name: str) -> dict[str, Any]:
        """The current version's attributes as the vault answers them."""
        with self._state:
            current = self._secrets[name.lower()][-1]
        return self._attributes(current)

    def secret_value(self, name: str) -> str | None:
        with self._state:
            versions = self._secrets.get(name.lower())
            return versions[-1].value if versions else None

    def versions(self, name: str) -> list[str]:
        """The values the secret has had, oldest first."""
        with self._state:
            return [v.value for v in self._secrets.get(name.lower(), [])]

    def delete_secret(self, name: str) -> None:
        with self._state:
            self._secrets.pop(name.lower(), None)

    def reads(self, name: str) -> int:
        """Authorized read attempts, found or not."""
        with self._state:
            return self._reads[name.lower()]

    def writes(self, name: str) -> int:
        """Authorized write attempts, refused ones (read_only) included."""
        with self._state:
            return self._writes[name.lower()]

    # -- HTTP ------------------------------------------------------------------

    def challenge_header(self) -> str:
        authority = f"{self.authority.rstrip('/')}/{self.tenant_id}"
        return f'Bearer authorization="{authority}", resource="{KEY_VAULT_AUDIENCE}"'

    def handle(self, request: RecordedRequest) -> Response:
        # Authorization comes before anything else: the SDK's first request carries no
        # body and no token, and must be answered with the challenge alone.
        token = request.bearer_token()
        if not self.ledger.is_valid(token, KEY_VAULT_AUDIENCE):
            return self._challenge(token)
        if "api-version" not in request.query:
            return _kv_error(400, "BadParameter", "The 'api-version' query parameter is missing.")
        if self.no_role:
            action = "setSecret/action" if request.method == "PUT" else "getSecret/action"
            return _kv_error(
                403,
                "Forbidden",
                "Caller is not authorized to perform action on resource.\r\n"
                f"Action: 'Microsoft.KeyVault/vaults/secrets/{action}'",
                innererror={"code": "ForbiddenByRbac"},
            )
        response = self._router.dispatch(request)
        if response is None:
            return _kv_error(
                404, "NotFound", f"The requested resource {request.path} was not found."
            )
        return response

    def _challenge(self, token: str | None) -> Response:
        if token is None:
            message = "AKV10000: Request is missing a Bearer or PoP token."
        else:
            audience = self.ledger.audience_of(token)
            message = (
                f"AKV10022: Invalid audience. Expected {KEY_VAULT_AUDIENCE}, found: {audience}."
                if audience is not None and audience != KEY_VAULT_AUDIENCE
                else "AKV10032: Invalid issuer or the token has expired."
            )
        response = _kv_error(401, "Unauthorized", message)
        headers = {**response.headers, "WWW-Authenticate": self.challenge_header()}
        return Response(401, response.body, headers)

    def _get_secret(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        del request
        name = match["name"]
        wanted = match.groupdict().get("version")
        with self._state:
            self._reads[name.lower()] += 1
            versions = list(self._secrets.get(name.lower(), []))
        found = [v for v in versions if wanted is None or v.version == wanted]
        if not found:
            label = f"{name}/{wanted}" if wanted else name
            return _kv_error(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {label} was not found in this key vault. If you"
                " recently deleted this secret you may be able to recover it using the correct"
                " recovery command. For help resolving this issue, please see"
                " https://go.microsoft.com/fwlink/?linkid=2125182",
            )
        return json_response(200, self._bundle(name, found[-1]))

    def _put_secret(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        name = match["name"]
        if not _VALID_NAME.match(name):
            return _kv_error(400, "BadParameter", "The request URI contains an invalid name.")
        if self.read_only:
            with self._state:
                self._writes[name.lower()] += 1
            return _kv_error(
                403,
                "Forbidden",
                "Caller is not authorized to perform action on resource.\r\nIf role assignments,"
                " deny assignments or role definitions were changed recently, please observe"
                " propagation time.\r\n"
                "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'",
                innererror={"code": "ForbiddenByRbac"},
            )
        try:
            body: Any = request.json()
        except ValueError:
            return self._refused_write(name, "The request body is not valid JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            return self._refused_write(name, "Property 'value' is required.")
        content_type = body.get("contentType")
        tags = body.get("tags") or {}
        attributes = body.get("attributes")
        expires = attributes.get("exp") if isinstance(attributes, dict) else None
        version = SecretVersion(
            uuid.uuid4().hex,
            body["value"],
            content_type if isinstance(content_type, str) else None,
            {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {},
            expires=int(expires) if isinstance(expires, int | float) else None,
        )
        # Counted with the store itself: a test that waits for the write then reads the
        # value must never see the count before the value.
        with self._state:
            self._secrets.setdefault(name.lower(), []).append(version)
            self._writes[name.lower()] += 1
        return json_response(200, self._bundle(name, version))

    def _refused_write(self, name: str, message: str) -> Response:
        with self._state:
            self._writes[name.lower()] += 1
        return _kv_error(400, "BadParameter", message)

    def _bundle(self, name: str, version: SecretVersion) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "value": version.value,
            "id": f"{self.url}/secrets/{name}/{version.version}",
            "attributes": self._attributes(version),
            "tags": version.tags,
        }
        if version.content_type is not None:
            bundle["contentType"] = version.content_type
        return bundle

    @staticmethod
    def _attributes(version: SecretVersion) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "enabled": True,
            "created": version.created,
            "updated": version.created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        }
        if version.expires is not None:
            attributes["exp"] = version.expires
        return attributes
