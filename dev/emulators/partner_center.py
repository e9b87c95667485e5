"""Partner Center REST emulator: customers, their users, and the password reset."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dev.emulators.base import EmulatorServer
from dev.emulators.ledger import TokenLedger
from dev.emulators.messages import RecordedRequest, Response, json_response
from dev.emulators.paging import ContinuationTokens, Cursor, collection_page
from dev.emulators.pc_models import (
    AppliedReset,
    Customer,
    User,
    customer_json,
    error_json,
    role_json,
    user_json,
)
from dev.emulators.routing import Router

PARTNER_CENTER_AUDIENCE = "https://api.partnercenter.microsoft.com"

CUSTOMERS_DEFAULT_SIZE = 200
USERS_DEFAULT_SIZE = 100
ROLES_DEFAULT_SIZE = 100
MAX_PAGE_SIZE = 500

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_ID = r"[^/]+"
_BAD_RESET_BODY = "Invalid input: the body is not a valid CustomerUser password reset"
_FILTER_FIELDS = {"domain": "domain", "companyname": "company_name"}


def _error(status: int, code: int, description: str) -> Response:
    return json_response(status, error_json(code, description))


def _tenant_not_found() -> Response:
    return _error(404, 60003, "Tenant not found")


def _user_not_found() -> Response:
    return _error(404, 60002, "User object ID not found")


def _is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


class PartnerCenterEmulator(EmulatorServer):
    def __init__(self, ledger: TokenLedger) -> None:
        super().__init__()
        self.ledger = ledger
        self._state_lock = threading.RLock()
        self._customers: dict[str, Customer] = {}
        self._replays: dict[str, Response] = {}
        self._applied: list[AppliedReset] = []
        self._tokens = ContinuationTokens()
        self.answer_reset_with_204 = False
        # Called once a reset took effect, before it is answered: a spec breaks
        # something else (the link storage) between the reset and what follows it.
        self.on_reset: Callable[[AppliedReset], None] | None = None
        self.directory_roles_page_size = ROLES_DEFAULT_SIZE
        self._router = Router(ignore_case=True)
        users = f"/v1/customers/(?P<cid>{_ID})/users"
        user = f"{users}/(?P<uid>{_ID})"
        self._router.add("PATCH", f"{user}/resetpassword", self._reset_password)
        self._router.add("PATCH", user, self._reset_password)
        self._router.add("GET", f"{user}/directoryroles", self._get_roles)
        self._router.add("GET", user, self._get_user)
        self._router.add("GET", users, self._list_users)
        self._router.add("GET", f"/v1/customers/(?P<cid>{_ID})", self._get_customer)
        self._router.add("GET", "/v1/customers", self._list_customers)

    # -- state -----------------------------------------------------------------

    def reset(self) -> None:
        with self._state_lock:
            self._customers.clear()
            self._replays.clear()
            self._applied.clear()
        self._tokens.clear()
        self.answer_reset_with_204 = False
        self.on_reset = None
        self.directory_roles_page_size = ROLES_DEFAULT_SIZE
        self.latency = 0.0

    def add_customer(
        self,
        id: str,
        company_name: str,
        domain: str,
        *,
        gdap: bool = True,
    ) -> Customer:
        customer = Customer(id=id, company_name=company_name, domain=domain, gdap=gdap)
        with self._state_lock:
            self._customers[id.lower()] = customer
        return customer

    def add_user(  # noqa: PLR0913 - one keyword per field of Partner Center's user, as specs seed it
        self,
        customer_id: str,
        *,
        user_principal_name: str,
        first_name: str,
        last_name: str,
        id: str | None = None,
        display_name: str | None = None,
        usage_location: str = "US",
        user_domain_type: str = "managed",
        last_directory_sync_time: str | None = None,
        user_type: str | None = None,
        roles: list[tuple[str, str]] | None = None,
        password: str | None = None,
    ) -> User:
        user = User(
            id=id or str(uuid.uuid4()),
            user_principal_name=user_principal_name,
            first_name=first_name,
            last_name=last_name,
            display_name=display_name or f"{first_name} {last_name}",
            usage_location=usage_location,
            user_domain_type=user_domain_type,
            last_directory_sync_time=last_directory_sync_time,
            user_type=user_type,
            roles=list(roles or []),
            password=password,
        )
        with self._state_lock:
            self.customer(customer_id).users[user.id.lower()] = user
        return user

    def remove_user(self, customer_id: str, user_id: str) -> None:
        with self._state_lock:
            self.customer(customer_id).users.pop(user_id.lower(), None)

    def customer(self, customer_id: str) -> Customer:
        with self._state_lock:
            return self._customers[customer_id.lower()]

    def find_customer(self, customer_id: str) -> Customer | None:
        with self._state_lock:
            return self._customers.get(customer_id.lower())

    def customers(self) -> list[Customer]:
        with self._state_lock:
            return list(self._customers.values())

    def user(self, customer_id: str, user_id: str) -> User:
        with self._state_lock:
            return self.customer(customer_id).users[user_id.lower()]

    def find_user(self, customer_id: str, id_or_upn: str) -> User | None:
        """The customer's user with this object ID or userPrincipalName (any case)."""
        wanted = id_or_upn.lower()
        with self._state_lock:
            customer = self.find_customer(customer_id)
            users = list(customer.users.values()) if customer is not None else []
        return next(
            (u for u in users if wanted in (u.id.lower(), u.user_principal_name.lower())), None
        )

    def current_password(self, customer_id: str, user_id: str) -> str | None:
        return self.user(customer_id, user_id).password

    @property
    def applied_resets(self) -> list[AppliedReset]:
        with self._state_lock:
            return list(self._applied)

    # -- HTTP ------------------------------------------------------------------

    def extra_headers(self, request: RecordedRequest) -> dict[str, str]:
        echoed: dict[str, str] = {}
        for name in ("MS-RequestId", "MS-CorrelationId"):
            value = request.header(name)
            if value:
                echoed[name] = value
        return echoed

    def handle(self, request: RecordedRequest) -> Response:
        if not self.ledger.is_valid(request.bearer_token(), PARTNER_CENTER_AUDIENCE):
            return _error(401, 800001, "Authorization token is missing or invalid")
        response = self._router.dispatch(request)
        if response is None:
            return _error(404, 1000, "Resource not found")
        return response

    # -- reset -----------------------------------------------------------------

    def _reset_password(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        problem = _check_reset_headers(request)
        if problem is not None:
            return _error(400, 800002, problem)
        request_id = request.header("ms-requestid").lower()
        with self._state_lock:
            replay = self._replays.get(request_id)
            if replay is not None:
                return replay
            profile = _parse_reset_body(request.body)
            if profile is None:
                return _error(400, 800002, _BAD_RESET_BODY)
            password, force_change = profile
            response = self._apply_reset(
                match["cid"], match["uid"], password, force_change, request
            )
            self._replays[request_id] = response
            return response

    def _apply_reset(
        self,
        customer_id: str,
        user_id: str,
        password: str,
        force_change: bool,
        request: RecordedRequest,
    ) -> Response:
        customer = self.find_customer(customer_id)
        if customer is None:
            return _tenant_not_found()
        if not customer.gdap:
            return _error(
                403, 2032, "Access denied: the partner has no delegated admin role that allows this"
            )
        user = customer.users.get(user_id.lower())
        if user is None:
            return _user_not_found()
        user.password = password
        user.force_change_password = force_change
        applied = AppliedReset(
            customer_id=customer.id,
            user_id=user.id,
            request_id=request.header("ms-requestid"),
            correlation_id=request.header("ms-correlationid"),
            force_change_password=force_change,
        )
        self._applied.append(applied)
        if self.on_reset is not None:
            self.on_reset(applied)
        if self.answer_reset_with_204:
            return Response(204)
        return json_response(200, user_json(customer, user, echo_password=password))

    # -- reads -----------------------------------------------------------------

    def _get_customer(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        del request
        customer = self.find_customer(match["cid"])
        if customer is None:
            return _tenant_not_found()
        return json_response(200, customer_json(customer))

    def _get_user(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        del request
        found = self._find_user(match["cid"], match["uid"])
        if isinstance(found, Response):
            return found
        customer, user = found
        return json_response(200, user_json(customer, user, echo_password=None))

    def _get_roles(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        found = self._find_user(match["cid"], match["uid"])
        if isinstance(found, Response):
            return found
        customer, user = found
        collection = f"roles:{customer.id.lower()}:{user.id.lower()}"
        cursor = self._cursor(request, collection, self.directory_roles_page_size)
        if isinstance(cursor, Response):
            return cursor
        items = [role_json(name, role_id) for name, role_id in user.roles]
        base_uri = f"/customers/{customer.id}/users/{user.id}/directoryroles"
        page = collection_page(items, cursor, base_uri=base_uri, tokens=self._tokens)
        return json_response(200, page)

    def _find_user(self, customer_id: str, user_id: str) -> tuple[Customer, User] | Response:
        with self._state_lock:
            customer = self.find_customer(customer_id)
            if customer is None:
                return _tenant_not_found()
            user = customer.users.get(user_id.lower())
            if user is None:
                return _user_not_found()
            return customer, user

    def _list_users(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        customer = self.find_customer(match["cid"])
        if customer is None:
            return _tenant_not_found()
        if "filter" in _lower_keys(request.query):
            return _error(400, 3000, "Filter not supported")
        collection = f"users:{customer.id.lower()}"
        cursor = self._cursor(request, collection, USERS_DEFAULT_SIZE)
        if isinstance(cursor, Response):
            return cursor
        with self._state_lock:
            users = list(customer.users.values())
        page = collection_page(
            users, cursor, base_uri=f"/customers/{customer.id}/users", tokens=self._tokens
        )
        # Render only the page: a 20,000-user customer is paged through 40 times per lookup.
        page["items"] = [user_json(customer, u, echo_password=None) for u in page["items"]]
        return json_response(200, page)

    def _list_customers(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        del match
        cursor = self._cursor(request, "customers", CUSTOMERS_DEFAULT_SIZE)
        if isinstance(cursor, Response):
            return cursor
        query = _lower_keys(request.query)
        if "filter" in query and "seekoperation" not in query:
            parsed = _parse_customer_filter(query["filter"])
            if parsed is None:
                return _error(400, 3000, "Invalid filter")
            cursor = replace(cursor, filter_field=parsed[0], filter_value=parsed[1])
        customers = self.customers()
        if cursor.filter_field is not None and cursor.filter_value is not None:
            prefix = cursor.filter_value.lower()
            field_name = cursor.filter_field
            customers = [
                c for c in customers if str(getattr(c, field_name)).lower().startswith(prefix)
            ]
        items = [customer_json(c) for c in customers]
        return json_response(
            200, collection_page(items, cursor, base_uri="/customers", tokens=self._tokens)
        )

    def _cursor(
        self, request: RecordedRequest, collection: str, default_size: int
    ) -> Cursor | Response:
        query = _lower_keys(request.query)
        seek = query.get("seekoperation")
        if seek is not None:
            if seek.lower() != "next":
                return _error(400, 3000, "Unsupported seek operation")
            cursor = self._tokens.resolve(request.header("ms-continuationtoken"))
            if cursor is None or cursor.collection != collection:
                return _error(400, 800002, "Continuation token is missing or invalid")
            return cursor
        raw_size = query.get("size", str(default_size))
        try:
            size = int(raw_size)
        except ValueError:
            return _error(400, 800002, "Invalid size")
        return Cursor(collection=collection, size=max(1, min(size, MAX_PAGE_SIZE)), offset=0)


def _lower_keys(query: dict[str, str]) -> dict[str, str]:
    # Partner Center treats query parameter names case-insensitively.
    return {k.lower(): v for k, v in query.items()}


def _check_reset_headers(request: RecordedRequest) -> str | None:
    if "application/json" not in request.header("accept").lower():
        return "Invalid input: Accept must be application/json"
    if not request.header("content-type").lower().startswith("application/json"):
        return "Invalid input: Content-Type must be application/json"
    for name in ("MS-RequestId", "MS-CorrelationId"):
        if not _is_guid(request.header(name)):
            return f"Invalid input: {name} must be a GUID"
    return None


def _parse_reset_body(body: bytes) -> tuple[str, bool] | None:
    """The new password and forceChangePassword, or None when the body is off-contract.

    Never let the body's content reach an error description: it holds the password.
    """
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or set(data) != {"passwordProfile", "attributes"}:
        return None
    profile, attributes = data["passwordProfile"], data["attributes"]
    if attributes != {"objectType": "CustomerUser"}:
        return None
    if not isinstance(profile, dict) or set(profile) != {"password", "forceChangePassword"}:
        return None
    password, force_change = profile["password"], profile["forceChangePassword"]
    if not isinstance(password, str) or not password or not isinstance(force_change, bool):
        return None
    return password, force_change


def _parse_customer_filter(raw: str) -> tuple[str, str] | None:
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    field_name = _FILTER_FIELDS.get(str(data.get("Field", "")).lower())
    value = data.get("Value")
    if field_name is None or not isinstance(value, str):
        return None
    if data.get("Operator") != "starts_with":
        return None
    return field_name, value
