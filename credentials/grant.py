"""The OAuth 2.0 refresh-token grant at the Microsoft identity platform's token endpoint
(Secure Application Model).

A plain form POST: MSAL is not needed for it and would add instance discovery against
Microsoft's hosts. Retried on throttling, 5xx and connection failures inside the
deadline; never redirected (a redirect would re-post the app secret and refresh token).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from pydantic import SecretStr

from credentials.grant_answer import judge, names_an_oauth_error, token_endpoint_down
from credentials.key_vault import SecretNames
from shared.context import current_deadline
from shared.errors import UpstreamTimeout
from shared.retry import RetryPolicy, TryAgain, with_retries

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
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
    def __init__(
        self,
        *,
        session: requests.Session,
        names: SecretNames,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._session = session
        # Only to name the secrets in the advice when the credentials are refused.
        self._names = names
        self._retry = retry
        self._sleep = sleep

    def redeem(
        self, endpoint: TokenEndpoint, app_id: SecretStr, app_secret: SecretStr, refresh: SecretStr
    ) -> dict[str, Any]:
        """The token endpoint's JSON answer (an access token in it), or a domain error."""
        deadline = current_deadline()
        form = {
            "grant_type": "refresh_token",
            "client_id": app_id.get_secret_value(),
            "client_secret": app_secret.get_secret_value(),
            "refresh_token": refresh.get_secret_value(),
        }

        def attempt() -> dict[str, Any] | TryAgain:
            while True:  # once more at once if the authority turns out to serve only v1
                url, audience = endpoint.target()
                try:
                    response = self._session.post(
                        url,
                        data={**form, **audience},
                        headers={"Accept": "application/json"},
                        timeout=(
                            deadline.timeout(CONNECT_TIMEOUT),
                            deadline.timeout(READ_TIMEOUT),
                        ),
                        # A redirect would re-post the app secret and refresh token elsewhere.
                        allow_redirects=False,
                    )
                except UpstreamTimeout:
                    raise token_endpoint_down("the reset's deadline ran out") from None
                except requests.RequestException as exc:
                    return TryAgain(f"it could not be reached ({type(exc).__name__})")
                if (
                    response.status_code != 404
                    or names_an_oauth_error(response)
                    or not endpoint.fall_back()
                ):
                    return judge(response, self._names)

        return with_retries(
            attempt,
            policy=self._retry,
            sleep=self._sleep,
            give_up=lambda last, _delay: token_endpoint_down(last.failure or "no answer"),
            label="Partner Center token exchange",
        )
