"""Microsoft Graph: revoke a user's sign-in sessions in a customer's tenant.

A password reset alone leaves existing sessions and refresh tokens alive. The token is
the partner admin's, exchanged for the customer's tenant (GDAP), so what Graph allows
depends on the GDAP roles and on the app's consent there: failures are reported, never
raised past the reset that already happened.
"""

from __future__ import annotations

from typing import Protocol

import requests
from pydantic import SecretStr

from shared.errors import DomainError, PartnerCredentialsInvalid
from shared.json_body import is_json_media_type, json_body
from shared.upstream import Bearer, Request, Upstream, UpstreamFailed

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


def tenant_bearer(tokens: TenantTokens, tenant_id: str, scope: str) -> Bearer:
    """The bearer token for `scope` in `tenant_id`, and how a refused one is forgotten."""
    return Bearer(
        lambda: tokens.token_for(tenant_id, scope),
        lambda rejected: tokens.invalidate_for(tenant_id, scope, rejected),
    )


class RevocationFailed(Exception):
    """The sessions were not revoked; `detail` says why and what to do, naming no value."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


class GraphClient:
    def __init__(self, *, upstream: Upstream, base_url: str, tokens: TenantTokens) -> None:
        self._upstream = upstream
        self._base_url = base_url
        self._scope = f"{base_url}/.default"
        self._tokens = tokens

    def revoke_sign_in_sessions(self, tenant_id: str, user_id: str) -> None:
        """Revoke every refresh token and session cookie of the user, or raise
        RevocationFailed. Throttling and 5xx are retried inside the request's deadline."""
        request = Request(
            "POST",
            f"{self._base_url}/v1.0/users/{user_id}/revokeSignInSessions",
            headers={"Accept": "application/json"},
            bearer=tenant_bearer(self._tokens, tenant_id, self._scope),
            label="Microsoft Graph revokeSignInSessions",
        )
        try:
            self._upstream.call(request, _judge)
        except UpstreamFailed as failed:
            raise _failed(failed.reason) from None
        except DomainError as error:  # only the token source raises one
            raise _token_refused(error) from None


def _judge(response: requests.Response) -> bool:
    """A final answer (retried statuses never get here): confirmed, or why not."""
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
