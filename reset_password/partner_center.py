"""The Partner Center REST client: its paths, headers and bodies, and its error answers
turned into domain errors. Sending, retrying inside the reset's deadline and the fresh
token after a 401 are `shared.upstream`'s.

Every attempt of one logical call carries the same MS-RequestId, so Partner Center can
recognise a retried reset as the same operation.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import requests
from pydantic import SecretStr

from shared.context import current_request
from shared.errors import (
    CustomerNotFound,
    DomainError,
    InvalidRequest,
    PartnerCredentialsInvalid,
    PartnerForbidden,
    UpstreamError,
    UserNotFound,
)
from shared.json_body import json_body
from shared.upstream import Bearer, Request, Upstream, UpstreamFailed
from shared.version import APPLICATION_NAME

logger = logging.getLogger(__name__)

# Only a number is ever quoted from an error answer: a string code or description could
# carry anything, the password of the request included.
_NUMERIC_CODE = re.compile(r"^[0-9]{1,9}$")
CUSTOMER_NOT_FOUND_CODES = frozenset({"60003"})
USER_NOT_FOUND_CODES = frozenset({"60002"})
GDAP_HINT = (
    "Partner Center refused access to this customer. The partner user behind the stored "
    "refresh token needs an active GDAP relationship with the customer that grants User "
    "Administrator or Privileged Authentication Administrator (a User Administrator cannot "
    "reset administrators)."
)


@dataclass(frozen=True)
class PartnerError:
    """Partner Center's error code, in either answer shape: a number, or nothing."""

    code: str | None

    @classmethod
    def parse(cls, body: bytes) -> PartnerError:
        try:
            data = json.loads(body)
        except ValueError:
            return cls(None)
        if not isinstance(data, dict):
            return cls(None)
        code = data.get("code", data.get("statusCode"))
        if isinstance(code, bool) or not isinstance(code, int | str):
            return cls(None)
        text = str(code).strip()
        return cls(text if _NUMERIC_CODE.fullmatch(text) else None)


class AccessTokens(Protocol):
    """Where Partner Center access tokens come from (the credentials' token exchange)."""

    def access_token(self) -> SecretStr: ...

    def invalidate(self, rejected: SecretStr) -> None: ...


@dataclass(frozen=True)
class CallContext:
    """What one logical call keeps across its attempts (the deadline and correlation ID
    come from the request's context)."""

    request_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class CallStats:
    attempts: int = 0


class PartnerCenterClient:
    def __init__(
        self, *, upstream: Upstream, base_url: str, tokens: AccessTokens, reset_call: str
    ) -> None:
        # "users": the older PATCH /v1/customers/{id}/users/{id} of the seed documentation,
        # the .NET SDK and the PowerShell module, with the same body.
        self._reset_call = reset_call
        self._upstream = upstream
        self._base_url = base_url
        self._bearer = Bearer(tokens.access_token, tokens.invalidate)

    # --- operations -------------------------------------------------------------

    def reset_password(
        self,
        *,
        customer_id: str,
        user_id: str,
        password: SecretStr,
        force_change_password: bool,
        context: CallContext,
        stats: CallStats,
    ) -> dict[str, Any] | None:
        """PATCH .../resetpassword. Returns the CustomerUser answer (None for 204).

        The answer echoes the new password: callers must pick fields from it, never
        forward or log it.
        """
        body = json.dumps(
            {
                "passwordProfile": {
                    "password": password.get_secret_value(),
                    "forceChangePassword": force_change_password,
                },
                "attributes": {"objectType": "CustomerUser"},
            }
        ).encode()
        path = f"/v1/customers/{customer_id}/users/{user_id}"
        if self._reset_call == "resetpassword":
            path += "/resetpassword"
        response = self._call(Request("PATCH", path, body=body), context, stats)
        if response.status_code == 404:
            raise self._which_not_found(response, customer_id, context)
        self._raise_for_error(response)
        if response.status_code == 204 or not response.content:
            return None
        return _json_object(response)

    def get_customer(self, customer_id: str, *, context: CallContext) -> dict[str, Any]:
        response = self._call(Request("GET", f"/v1/customers/{customer_id}"), context)
        if response.status_code == 404:
            raise customer_not_found(customer_id)
        self._raise_for_error(response)
        return _json_object(response)

    def get_user(self, customer_id: str, user_id: str, *, context: CallContext) -> dict[str, Any]:
        response = self._call(
            Request("GET", f"/v1/customers/{customer_id}/users/{user_id}"), context
        )
        if response.status_code == 404:
            raise self._which_not_found(response, customer_id, context)
        self._raise_for_error(response)
        return _json_object(response)

    def get_user_roles(
        self, customer_id: str, user_id: str, *, context: CallContext
    ) -> list[dict[str, Any]]:
        """Every page of the user's directory roles: a role on page two protects as well."""
        roles: list[dict[str, Any]] = []
        continuation: str | None = None
        while True:
            items, continuation = self.get_collection_page(
                f"/v1/customers/{customer_id}/users/{user_id}/directoryroles",
                params={},
                continuation=continuation,
                context=context,
                not_found=lambda response: self._which_not_found(response, customer_id, context),
            )
            roles += items
            if continuation is None:
                return roles

    def get_collection_page(
        self,
        path: str,
        *,
        params: Mapping[str, str],
        continuation: str | None,
        context: CallContext,
        not_found: Callable[[requests.Response], DomainError] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a Partner Center collection and the token for the next page.

        `not_found` names what a 404 means for this collection (its owner is gone).
        """
        headers = {"MS-ContinuationToken": continuation} if continuation else {}
        query = dict(params)
        if continuation:
            query["seekOperation"] = "Next"
        response = self._call(Request("GET", path, headers=headers, params=query), context)
        if response.status_code == 404 and not_found is not None:
            raise not_found(response)
        self._raise_for_error(response)
        body = _json_object(response)
        items = body.get("items")
        if not isinstance(items, list):
            raise UpstreamError("Partner Center's collection answer had no item list.")
        return [item for item in items if isinstance(item, dict)], _continuation_token(body)

    # --- transport ---------------------------------------------------------------

    def _call(
        self, request: Request, context: CallContext, stats: CallStats | None = None
    ) -> requests.Response:
        """Send `request` (its URL a path under the base URL) with retries; return the
        first answer that is final (2xx or a 4xx we map). Every attempt carries the same
        MS-RequestId."""
        headers = {
            "Accept": "application/json",
            "MS-RequestId": str(context.request_id),
            "MS-CorrelationId": str(current_request().correlation_id),
            "MS-Contract-Version": "v1",
            "MS-PartnerCenter-Application": APPLICATION_NAME,
            **request.headers,
        }
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        request = replace(
            request,
            url=self._base_url + request.url,
            headers=headers,
            bearer=self._bearer,
            label=f"Partner Center {request.method} (MS-RequestId {context.request_id})",
        )
        try:
            return self._upstream.call(request, _unless_a_fresh_token_was_refused, sends=stats)
        except UpstreamFailed as failed:
            raise failed.error from None

    def _raise_for_error(self, response: requests.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        error = PartnerError.parse(response.content)
        code = f" (Partner Center code {error.code})" if error.code else ""
        if status == 403:
            raise PartnerForbidden(f"{GDAP_HINT}{code}")
        if status == 400:
            raise InvalidRequest(
                f"Partner Center rejected the request{code}. If the password meets the "
                "local rules, the customer's password policy or banned-password list may "
                "refuse it."
            )
        raise UpstreamError(f"Partner Center answered HTTP {status}{code}.")

    def _which_not_found(
        self, response: requests.Response, customer_id: str, context: CallContext
    ) -> DomainError:
        error = PartnerError.parse(response.content)
        if error.code in CUSTOMER_NOT_FOUND_CODES:
            return customer_not_found(customer_id)
        if error.code in USER_NOT_FOUND_CODES:
            return UserNotFound("Partner Center found no such user in this customer's tenant.")
        # Another 404 shape: ask whether the customer exists to tell the two apart.
        try:
            self.get_customer(customer_id, context=context)
        except CustomerNotFound as missing:
            return missing
        return UserNotFound("Partner Center found no such user in this customer's tenant.")


def customer_not_found(customer_id: str) -> CustomerNotFound:
    """The 404 for a tenant ID Partner Center does not know (also used by the lookups)."""
    return CustomerNotFound(f"Partner Center knows no customer with tenant ID {customer_id}.")


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = json_body(response)
    except ValueError:
        raise UpstreamError("Partner Center's answer could not be parsed as JSON.") from None
    if not isinstance(body, dict):
        raise UpstreamError("Partner Center's answer was not a JSON object.")
    return body


def _continuation_token(body: Mapping[str, Any]) -> str | None:
    """The next page's MS-ContinuationToken; None on the last page.

    Partner Center documents the token in `links.next.headers`; its SDK's seek-based
    collections also carry it as `continuationToken`. A next page announced without a
    token we can read is an error, never the last page: the roles check would miss
    every role after it.
    """
    links = body.get("links")
    nxt = links.get("next") if isinstance(links, dict) else None
    for header in (nxt.get("headers") if isinstance(nxt, dict) else None) or []:
        if (
            isinstance(header, dict)
            and str(header.get("key", "")).lower() == "ms-continuationtoken"
            and isinstance(header.get("value"), str)
            and header["value"]
        ):
            return str(header["value"])
    token = body.get("continuationToken")
    if isinstance(token, str) and token:
        return token
    if nxt is not None:
        raise UpstreamError(
            "Partner Center announced a next page without a continuation token to fetch it."
        )
    return None


def _unless_a_fresh_token_was_refused(response: requests.Response) -> requests.Response:
    """Every answer is the operation's to read, but a 401 to the fresh token."""
    if response.status_code == 401:
        raise PartnerCredentialsInvalid(
            "Partner Center rejected a freshly issued access token. Check that the app is "
            "registered for Partner Center (App+User) and consent again."
        )
    return response
