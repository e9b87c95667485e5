"""App Service managed identity endpoint emulator (IDENTITY_ENDPOINT / IDENTITY_HEADER).

Matches what MSAL's App Service path, used by azure-identity's ManagedIdentityCredential,
sends and parses: GET with api-version=2019-08-01, resource, optional client_id, header
X-IDENTITY-HEADER; answer with expires_on as epoch seconds in a string.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid

from dev.emulators.base import EmulatorServer
from dev.emulators.ledger import TokenLedger
from dev.emulators.messages import RecordedRequest, Response, json_response

MANAGED_IDENTITY_CLIENT_ID = "0c4b7d2e-9a1f-4e3c-8b6d-5f2a1e0d9c87"
API_VERSION = "2019-08-01"
# App Service hands out day-long tokens; MSAL then refreshes them at half-life.
DEFAULT_TOKEN_LIFETIME_S = 24 * 3600


def _mi_error(status: int, message: str) -> Response:
    return json_response(
        status,
        {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())},
    )


def resource_of(value: str) -> str:
    return value.removesuffix("/.default")


class ManagedIdentityEmulator(EmulatorServer):
    def __init__(self, ledger: TokenLedger) -> None:
        super().__init__()
        self.ledger = ledger
        self.identity_header = secrets.token_hex(16)
        self._state = threading.Lock()
        self.expected_client_id: str | None = None
        self.token_lifetime: float = DEFAULT_TOKEN_LIFETIME_S
        self._issued = 0

    def reset(self) -> None:
        with self._state:
            self._issued = 0
        self.expected_client_id = None
        self.token_lifetime = DEFAULT_TOKEN_LIFETIME_S
        self.latency = 0.0

    @property
    def endpoint(self) -> str:
        return f"{self.url}/msi/token"

    @property
    def tokens_issued(self) -> int:
        with self._state:
            return self._issued

    def handle(self, request: RecordedRequest) -> Response:
        if request.method != "GET" or request.path != "/msi/token":
            return _mi_error(404, "Not found")
        presented = request.header("x-identity-header")
        if not presented or not secrets.compare_digest(presented, self.identity_header):
            return _mi_error(400, "The X-IDENTITY-HEADER header is missing or invalid.")
        if request.query.get("api-version") != API_VERSION:
            return _mi_error(400, f"The api-version must be {API_VERSION}.")
        resource = resource_of(request.query.get("resource", ""))
        if not resource:
            return _mi_error(400, "The resource parameter is required.")
        client_id = request.query.get("client_id")
        expected = self.expected_client_id
        if expected is not None and (client_id or "").lower() != expected.lower():
            return _mi_error(
                400,
                "No User Assigned or Delegated Managed Identity found for specified"
                " ClientId/ResourceId/PrincipalId.",
            )
        lifetime = self.token_lifetime
        token = self.ledger.issue(resource, lifetime)
        with self._state:
            self._issued += 1
        return json_response(
            200,
            {
                "access_token": token,
                "expires_on": str(int(time.time() + lifetime)),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": client_id or expected or MANAGED_IDENTITY_CLIENT_ID,
            },
        )
