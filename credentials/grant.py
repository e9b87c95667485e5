"""The OAuth 2.0 refresh-token grant at the Microsoft identity platform's token endpoint
(Secure Application Model).

A plain form POST: MSAL is not needed for it and would add instance discovery against
Microsoft's hosts. Sent through shared/upstream.py like every other upstream call:
retried on throttling, 5xx and connection failures inside the deadline, with the
timeouts of `composition.Timings`; never redirected (a redirect would re-post the app
secret and refresh token).
"""

from __future__ import annotations

from typing import Any

import requests
from pydantic import SecretStr

from credentials.grant_answer import judge, names_an_oauth_error, token_endpoint_down
from credentials.key_vault import SecretNames
from shared.retry import TryAgain
from shared.upstream import Request, Upstream, UpstreamFailed

# The grant's audience parameter: {"scope": ...} (v2) or {"resource": ...} (v1).
Audience = dict[str, str]


class TokenEndpoint:
    """Where a grant is redeemed, and for which audience.

    The partner tenant's Partner Center endpoint tries v2 first; an authority that serves
    only the v1 endpoint (a 404 naming no OAuth error) switches it to v1 for good. An
    endpoint for another tenant's resource is v2 alone.
    """

    def __init__(self, url: str, audience: Audience, v1: tuple[str, Audience] | None = None):
        self._target = (url, audience)
        self._v1 = v1

    @classmethod
    def partner_center(cls, authority_host: str, tenant_id: str, resource: str) -> TokenEndpoint:
        resource = resource.rstrip("/")
        base = f"{authority_host}/{tenant_id}/oauth2"
        v1 = (f"{base}/token", {"resource": resource})
        return cls(f"{base}/v2.0/token", {"scope": f"{resource}/.default"}, v1)

    @classmethod
    def tenant(cls, authority_host: str, tenant_id: str, scope: str) -> TokenEndpoint:
        return cls(f"{authority_host}/{tenant_id}/oauth2/v2.0/token", {"scope": scope})

    def target(self) -> tuple[str, Audience]:
        return self._target

    def fall_back(self) -> bool:
        """Switch to the v1 endpoint, if this one has it and has not switched yet."""
        if self._v1 is None:
            return False
        self._target, self._v1 = self._v1, None
        return True


class RefreshTokenGrant:
    """The grant, sent the one way every upstream call is (shared/upstream.py): a form
    POST with no bearer token, retried inside the deadline, never redirected."""

    def __init__(self, *, upstream: Upstream, names: SecretNames) -> None:
        self._upstream = upstream
        # Only to name the secrets in the advice when the credentials are refused.
        self._names = names

    def redeem(
        self, endpoint: TokenEndpoint, app_id: SecretStr, app_secret: SecretStr, refresh: SecretStr
    ) -> dict[str, Any]:
        """The token endpoint's JSON answer (an access token in it), or a domain error."""
        form = {
            "grant_type": "refresh_token",
            "client_id": app_id.get_secret_value(),
            "client_secret": app_secret.get_secret_value(),
            "refresh_token": refresh.get_secret_value(),
        }
        while True:  # once more, at once, if the authority turns out to serve only v1
            url, audience = endpoint.target()
            request = Request(
                "POST",
                url,
                headers={"Accept": "application/json"},
                body={**form, **audience},
                label="Partner Center token exchange",
            )
            try:
                answer = self._upstream.call(request, lambda r: self._judge(r, endpoint))
            except UpstreamFailed as failed:
                raise token_endpoint_down(failed.reason) from None
            if answer is not None:
                return answer

    def _judge(
        self, response: requests.Response, endpoint: TokenEndpoint
    ) -> dict[str, Any] | TryAgain | None:
        """The answer as `judge` reads it; None when a 404 says the authority has no v2
        endpoint and `endpoint` has switched to v1."""
        if (
            response.status_code == 404
            and not names_an_oauth_error(response)
            and endpoint.fall_back()
        ):
            return None
        return judge(response, self._names)
