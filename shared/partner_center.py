"""The Partner Center REST client: one `requests.Session` per process, retries inside
the reset's deadline, and Partner Center's error answers turned into domain errors.

Every attempt of one logical call carries the same MS-RequestId, so Partner Center can
recognise a retried reset as the same operation.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from pydantic import SecretStr

from shared.context import current_deadline, current_request
from shared.errors import (
    CustomerNotFound,
    DomainError,
    InvalidRequest,
    PartnerCredentialsInvalid,
    PartnerForbidden,
    Throttled,
    UpstreamError,
    UpstreamTimeout,
    UserNotFound,
)
from shared.json_body import json_body
from shared.retry import (
    RETRYABLE_STATUSES,
    RetryPolicy,
    TryAgain,
    parse_retry_after,
    with_retries,
)
from shared.version import APPLICATION_NAME

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 20.0
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
        self,
        *,
        base_url: str,
        session: requests.Session,
        tokens: AccessTokens,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        timeouts: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        reset_call: str = "resetpassword",
    ) -> None:
        # "users": the older PATCH /v1/customers/{id}/users/{id} of the seed documentation,
        # the .NET SDK and the PowerShell module, with the same body.
        self._reset_call = reset_call
        self._timeouts = timeouts
        self._base_url = base_url
        self._session = session
        self._tokens = tokens
        self._retry = retry
        self._sleep = sleep

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
        response = self._call("PATCH", path, context=context, stats=stats, body=body)
        if response.status_code == 404:
            raise self._which_not_found(response, customer_id, context)
        self._raise_for_error(response)
        if response.status_code == 204 or not response.content:
            return None
        return _json_object(response)

    def get_customer(self, customer_id: str, *, context: CallContext) -> dict[str, Any]:
        response = self._call("GET", f"/v1/customers/{customer_id}", context=context)
        if response.status_code == 404:
            raise customer_not_found(customer_id)
        self._raise_for_error(response)
        return _json_object(response)

    def get_user(self, customer_id: str, user_id: str, *, context: CallContext) -> dict[str, Any]:
        response = self._call(
            "GET", f"/v1/customers/{customer_id}/users/{user_id}", context=context
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
        response = self._call("GET", path, context=context, params=query, headers=headers)
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
        self,
        method: str,
        path: str,
        *,
        context: CallContext,
        stats: CallStats | None = None,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send with retries; return the first answer that is final (2xx or a 4xx we map).
        Every attempt carries the same MS-RequestId."""
        counted = stats or CallStats()
        deadline = current_deadline()
        correlation_id = current_request().correlation_id
        # Throttling seen on the latest attempt: what a final 429 tells the caller.
        throttled = _Throttling()

        def send(token: SecretStr) -> requests.Response:
            counted.attempts += 1
            request_headers = {
                "Authorization": f"Bearer {token.get_secret_value()}",
                "Accept": "application/json",
                "MS-RequestId": str(context.request_id),
                "MS-CorrelationId": str(correlation_id),
                "MS-Contract-Version": "v1",
                "MS-PartnerCenter-Application": APPLICATION_NAME,
                **(headers or {}),
            }
            if body is not None:
                request_headers["Content-Type"] = "application/json"
            return self._session.request(
                method,
                self._base_url + path,
                data=body,
                params=params,
                headers=request_headers,
                timeout=(
                    deadline.timeout(self._timeouts[0]),
                    deadline.timeout(self._timeouts[1]),
                ),
                allow_redirects=False,
            )

        def attempt() -> requests.Response | TryAgain:
            try:
                token = self._tokens.access_token()
                response = send(token)
                if response.status_code == 401:
                    # The token may have been revoked early: exchange once more, resend.
                    self._tokens.invalidate(token)
                    response = send(self._tokens.access_token())
                    if response.status_code == 401:
                        raise PartnerCredentialsInvalid(
                            "Partner Center rejected a freshly issued access token. Check that "
                            "the app is registered for Partner Center (App+User) and consent "
                            "again."
                        )
            except UpstreamTimeout:
                raise _out_of_time(throttled.seconds) from None
            except requests.Timeout:
                if deadline.expired():
                    raise _out_of_time(throttled.seconds) from None
                throttled.seconds = None
                return TryAgain(None)
            except requests.RequestException as exc:
                throttled.seconds = None
                return TryAgain(f"Partner Center could not be reached ({type(exc).__name__})")
            status = response.status_code
            if status not in RETRYABLE_STATUSES:
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            throttled.seconds = (retry_after or 1.0) if status == 429 else None
            return TryAgain(
                f"Partner Center answered HTTP {status}",
                retry_after=retry_after if status == 429 else None,
                throttled=status == 429,
            )

        return with_retries(
            attempt,
            policy=self._retry,
            sleep=self._sleep,
            give_up=lambda last, delay: _gave_up(last.failure, throttled.seconds, delay),
            label=f"Partner Center {method} (MS-RequestId {context.request_id})",
        )

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


@dataclass
class _Throttling:
    seconds: float | None = None


def _out_of_time(throttled_for: float | None) -> DomainError:
    if throttled_for is not None:
        return Throttled(
            "Partner Center kept throttling until the reset's deadline ran out.",
            retry_after=max(1, round(throttled_for)),
        )
    return UpstreamTimeout("The reset's deadline ran out before Partner Center answered.")


def _gave_up(failure: str | None, throttled_for: float | None, next_delay: float) -> DomainError:
    """`failure` None means the last attempt timed out."""
    if throttled_for is not None:
        return Throttled(
            "Partner Center kept throttling past the retry budget.",
            retry_after=max(1, round(max(throttled_for, next_delay))),
        )
    if failure is None:
        return UpstreamTimeout("Partner Center did not answer within the reset's deadline.")
    return UpstreamError(f"{failure}; gave up after retrying.")
