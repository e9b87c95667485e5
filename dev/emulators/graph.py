"""Microsoft Graph emulator: just what session revocation and the dry run's GDAP check need.

`POST /v1.0/users/{id | userPrincipalName}/revokeSignInSessions` with a Graph token the
identity emulator issued in a customer tenant. Users are looked up in that tenant through
a `Directory` (the stack answers from Partner Center's customers, so a user added there
exists in Graph too); a token that names no tenant is refused like a forged one.

`GET /v1.0/tenantRelationships/delegatedAdminRelationships[/{id}/accessAssignments]` with a
Graph token issued in the partner tenant: the partner's GDAP relationships (see gdap.py).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from dev.emulators.base import EmulatorServer
from dev.emulators.gdap import Customers, GdapRelationships, Relationship
from dev.emulators.ledger import TokenLedger
from dev.emulators.messages import RecordedRequest, Response, json_response
from dev.emulators.routing import Router

# (tenant ID, user object ID or userPrincipalName) -> the user's object ID, or None.
Directory = Callable[[str, str], str | None]

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
    f'authorize", client_id="{GRAPH_APP_ID}"'
)


@dataclass(frozen=True)
class Revocation:
    tenant_id: str
    user_id: str


def _no_users(tenant_id: str, user: str) -> str | None:
    del tenant_id, user
    return None


def graph_error(code: str, message: str, *, client_request_id: str = "") -> dict[str, Any]:
    """Graph's error body; also handy as the body of an injected fault."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                "request-id": str(uuid.uuid4()),
                "client-request-id": client_request_id or str(uuid.uuid4()),
            },
        }
    }


class GraphEmulator(EmulatorServer):
    def __init__(
        self,
        ledger: TokenLedger,
        directory: Directory = _no_users,
        gdap_customers: Customers = tuple,
    ) -> None:
        super().__init__()
        self.ledger = ledger
        self.directory = directory
        # Only a token issued in this tenant may list the partner's GDAP relationships.
        self.partner_tenant_id = ""
        self.gdap = GdapRelationships(gdap_customers)
        self._state = threading.Lock()
        self._revocations: list[Revocation] = []
        self._forbidden_users: set[str] = set()
        self._forbidden_tenants: set[str] = set()
        self._gdap_read_refused = False
        self._router = Router(ignore_case=True)
        self._router.add("POST", r"/v1\.0/users/(?P<user>[^/]+)/revokeSignInSessions", self._revoke)
        relationships = r"/v1\.0/tenantRelationships/delegatedAdminRelationships"
        self._router.add("GET", relationships, self._list_relationships)
        self._router.add(
            "GET", relationships + r"/(?P<id>[^/]+)/accessAssignments", self._list_assignments
        )

    # -- state -----------------------------------------------------------------

    def reset(self) -> None:
        with self._state:
            self._revocations.clear()
            self._forbidden_users.clear()
            self._forbidden_tenants.clear()
            self._gdap_read_refused = False
        self.gdap.reset()
        self.latency = 0.0

    @property
    def revocations(self) -> list[Revocation]:
        with self._state:
            return list(self._revocations)

    def forbid_user(self, user_id: str) -> None:
        """Revoking this user's sessions answers 403 (e.g. an admin a User Administrator
        may not touch)."""
        with self._state:
            self._forbidden_users.add(user_id.lower())

    def forbid_tenant(self, tenant_id: str) -> None:
        """Every revocation in this tenant answers 403 (the app lacks User.RevokeSessions.All
        there, or the partner lacks the GDAP role)."""
        with self._state:
            self._forbidden_tenants.add(tenant_id.lower())

    def set_gdap(self, tenant_id: str, relationships: list[Relationship]) -> None:
        """The partner's GDAP relationships with this customer ([]: none at all)."""
        self.gdap.set(tenant_id, relationships)

    def refuse_gdap_read(self) -> None:
        """Listing GDAP relationships answers 403, as Graph does when the token lacks
        DelegatedAdminRelationship.Read.All (or the partner user may not read them)."""
        with self._state:
            self._gdap_read_refused = True

    def issue_token(self, tenant_id: str, lifetime_s: float = 600) -> str:
        """A Graph access token for `tenant_id`, as if the identity emulator issued it."""
        return self.ledger.issue(self.url, lifetime_s, tenant=tenant_id)

    # -- HTTP ------------------------------------------------------------------

    def extra_headers(self, request: RecordedRequest) -> dict[str, str]:
        headers = {"request-id": str(uuid.uuid4())}
        client_request_id = request.header("client-request-id")
        if client_request_id:
            headers["client-request-id"] = client_request_id
        return headers

    def handle(self, request: RecordedRequest) -> Response:
        response = self._router.dispatch(request)
        if response is None:
            segment = request.path.rstrip("/").rsplit("/", 1)[-1]
            return self._error(
                request, 400, "BadRequest", f"Resource not found for the segment '{segment}'."
            )
        return response

    def _revoke(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = request.bearer_token()
        tenant = self.ledger.tenant_of(token) if token else None
        if tenant is None or not self.ledger.is_valid(token, self.url):
            return self._error(
                request,
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure. Invalid audience."
                if token
                else "Access token is empty.",
                {"WWW-Authenticate": _WWW_AUTHENTICATE},
            )
        with self._state:
            tenant_forbidden = tenant.lower() in self._forbidden_tenants
        if tenant_forbidden:
            return self._denied(request)
        user_id = self.directory(tenant, match["user"])
        if user_id is None:
            return self._error(
                request,
                404,
                "Request_ResourceNotFound",
                f"Resource '{match['user']}' does not exist or one of its queried"
                " reference-property objects are not present.",
            )
        with self._state:
            if user_id.lower() in self._forbidden_users:
                return self._denied(request)
            self._revocations.append(Revocation(tenant_id=tenant, user_id=user_id))
        return json_response(
            200,
            {"@odata.context": f"{self.url}/v1.0/$metadata#Edm.Boolean", "value": True},
            content_type="application/json;odata.metadata=minimal;odata.streaming=true;"
            "IEEE754Compatible=false;charset=utf-8",
        )

    def _list_relationships(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        del match
        refused = self._gdap_refusal(request)
        if refused is not None:
            return refused
        selected = self.gdap.matching(request.query.get("$filter"))
        if selected is None:
            return self._error(request, 400, "BadRequest", "Invalid filter clause.")
        items = [r.to_json() for r in selected]
        return self._collection(request, items, "delegatedAdminRelationships", "relationships")

    def _list_assignments(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._gdap_refusal(request)
        if refused is not None:
            return refused
        relationship = self.gdap.find(match["id"])
        if relationship is None:
            return self._error(
                request, 404, "Request_ResourceNotFound", "The relationship was not found."
            )
        items = [a.to_json() for a in relationship.assignments]
        context = f"delegatedAdminRelationships('{relationship.id}')/accessAssignments"
        return self._collection(request, items, context, relationship.id)

    def _gdap_refusal(self, request: RecordedRequest) -> Response | None:
        token = request.bearer_token()
        tenant = self.ledger.tenant_of(token) if token else None
        if tenant is None or not self.ledger.is_valid(token, self.url):
            return self._error(
                request,
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure.",
                {"WWW-Authenticate": _WWW_AUTHENTICATE},
            )
        with self._state:
            refused = self._gdap_read_refused
        if refused or tenant.lower() != self.partner_tenant_id.lower():
            return self._denied(request)
        return None

    def _collection(
        self, request: RecordedRequest, items: list[dict[str, Any]], context: str, key: str
    ) -> Response:
        page = self.gdap.page(items, key, request.query.get("$skiptoken"))
        if page is None:
            return self._error(request, 400, "BadRequest", "The skip token is not valid.")
        values, next_token = page
        body: dict[str, Any] = {
            "@odata.context": f"{self.url}/v1.0/$metadata#tenantRelationships/{context}",
            "value": values,
        }
        if next_token is not None:
            query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = next_token
            body["@odata.nextLink"] = f"{self.url}{request.path}?{urlencode(query)}"
        return json_response(
            200,
            body,
            content_type="application/json;odata.metadata=minimal;odata.streaming=true;"
            "IEEE754Compatible=false;charset=utf-8",
        )

    def _denied(self, request: RecordedRequest) -> Response:
        return self._error(
            request,
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )

    @staticmethod
    def _error(
        request: RecordedRequest,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = graph_error(code, message, client_request_id=request.header("client-request-id"))
        return json_response(status, body, headers)
