"""Microsoft Graph: revoke a user's sign-in sessions in a customer's tenant.

A password reset alone leaves existing sessions and refresh tokens alive. The token is
the partner admin's, exchanged for the customer's tenant (GDAP), so what Graph allows
depends on the GDAP roles and on the app's consent there: failures are reported, never
raised past the reset that already happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import requests
from pydantic import SecretStr

from shared.context import current_deadline
from shared.errors import DomainError, PartnerCredentialsInvalid, UpstreamTimeout
from shared.json_body import is_json_media_type, json_body
from shared.retry import RETRYABLE_STATUSES, RetryPolicy, TryAgain, parse_retry_after, with_retries

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
CONSENT_ADVICE = (
    "the partner user behind the refresh token needs a GDAP role in this customer that may "
    "revoke sessions (User Administrator, or Privileged Authentication Administrator for "
    "administrators), and the app needs consent for Microsoft Graph in the customer's "
    "tenant. Revoke the sessions in the Microsoft Entra admin center meanwhile."
)


class TenantTokens(Protocol):
    """Access tokens for a resource in a customer's tenant (the credentials' exchange)."""

    def token_for(self, tenant_id: str, scope: str) -> SecretStr: ...

    def invalidate_for(self, tenant_id: str, scope: str, rejected: SecretStr) -> None: ...


class RevocationFailed(Exception):
    """The sessions were not revoked; `detail` says why and what to do, naming no value."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


class GraphClient:
    def __init__(
        self,
        *,
        base_url: str,
        session: requests.Session,
        tokens: TenantTokens,
        retry: RetryPolicy,
        timeouts: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._timeouts = timeouts
        self._base_url = base_url
        self._scope = f"{base_url}/.default"
        self._session = session
        self._tokens = tokens
        self._retry = retry
        self._sleep = sleep

    def revoke_sign_in_sessions(self, tenant_id: str, user_id: str) -> None:
        """Revoke every refresh token and session cookie of the user, or raise
        RevocationFailed. Throttling and 5xx are retried inside the request's deadline."""
        url = f"{self._base_url}/v1.0/users/{user_id}/revokeSignInSessions"

        def send(token: SecretStr) -> requests.Response:
            deadline = current_deadline()
            return self._session.post(
                url,
                headers={
                    "Authorization": f"Bearer {token.get_secret_value()}",
                    "Accept": "application/json",
                },
                timeout=(deadline.timeout(self._timeouts[0]), deadline.timeout(self._timeouts[1])),
                allow_redirects=False,
            )

        def attempt() -> bool | TryAgain:
            try:
                token = self._tokens.token_for(tenant_id, self._scope)
                response = send(token)
                if response.status_code == 401:
                    self._tokens.invalidate_for(tenant_id, self._scope, token)
                    response = send(self._tokens.token_for(tenant_id, self._scope))
            except UpstreamTimeout:
                raise _failed(
                    "the reset's deadline ran out before Microsoft Graph answered"
                ) from None
            except DomainError as error:
                raise _token_refused(error) from None
            except requests.RequestException as exc:
                return TryAgain(f"Microsoft Graph could not be reached ({type(exc).__name__})")
            return _judge(response)

        with_retries(
            attempt,
            policy=self._retry,
            sleep=self._sleep,
            give_up=lambda last, _delay: _failed(
                f"{last.failure or 'Microsoft Graph did not answer in time'}; gave up retrying"
            ),
            label="Microsoft Graph revokeSignInSessions",
        )


def _judge(response: requests.Response) -> bool | TryAgain:
    status = response.status_code
    if 200 <= status < 300:
        if not _confirmed(response):
            # Not retried: a 2xx may be the action done without saying so, and a proxy's
            # page would answer the same again. Reported, never assumed.
            raise RevocationFailed(
                "sessions_not_revoked",
                f"Microsoft Graph did not confirm the revocation (HTTP {status} without a "
                "JSON value true); the password was reset. Check the user's sessions, or "
                "revoke them, in the Microsoft Entra admin center.",
            )
        return True
    if status in RETRYABLE_STATUSES:
        throttled = status == 429
        return TryAgain(
            f"Microsoft Graph answered HTTP {status}",
            retry_after=parse_retry_after(response.headers.get("Retry-After"))
            if throttled
            else None,
            throttled=throttled,
        )
    if status in (401, 403):
        raise RevocationFailed(
            "sessions_not_revoked",
            f"Microsoft Graph refused to revoke the user's sessions (HTTP {status}): "
            + CONSENT_ADVICE,
        )
    if status == 404:
        raise RevocationFailed(
            "sessions_not_revoked",
            "Microsoft Graph found no such user in the customer's tenant; the password was "
            "reset, but no session was revoked.",
        )
    raise _failed(f"Microsoft Graph answered HTTP {status}")


def _confirmed(response: requests.Response) -> bool:
    """The action documents `{"value": true}` as JSON: only that confirms it. No body, an
    empty 204, another value, an HTML page from an egress proxy or JSON under another
    media type does not."""
    if not is_json_media_type(response.headers.get("Content-Type")):
        return False
    try:
        body = json_body(response)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("value") is True


def _failed(reason: str) -> RevocationFailed:
    return RevocationFailed(
        "sessions_not_revoked",
        f"The user's sessions were not revoked ({reason}). The password was reset; revoke "
        "the sessions again later or in the Microsoft Entra admin center.",
    )


def _token_refused(error: DomainError) -> RevocationFailed:
    """The Graph token exchange failed: refused (consent, GDAP, MFA: the AADSTS number
    tells which) or the identity platform was out of reach (try again later)."""
    if not isinstance(error, PartnerCredentialsInvalid):
        return _failed(
            "the identity platform gave no Microsoft Graph token: it could not be reached in time"
        )
    code = f"AADSTS{error.aadsts}" if error.aadsts is not None else "no AADSTS code"
    return RevocationFailed(
        "sessions_not_revoked",
        f"The identity platform refused a Microsoft Graph token for the customer's tenant "
        f"({code}): " + CONSENT_ADVICE,
    )
