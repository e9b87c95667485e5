"""Partner Center access tokens from the stored refresh token (Secure Application Model).

The exchange is a plain OAuth 2.0 refresh-token grant at the Microsoft identity platform;
MSAL is not needed for it and would add instance discovery against Microsoft's hosts.
Access tokens are cached until shortly before they expire and refreshed by one request
while the others keep using the still-valid token.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from pydantic import SecretStr

from credentials.secret_cache import SecretCache
from shared.cache import Cache, CacheWaitTimeout, Lifetime
from shared.context import current_deadline
from shared.errors import (
    DEPENDENCY_RETRY_AFTER,
    DependencyUnavailable,
    DomainError,
    PartnerCredentialsInvalid,
    UpstreamTimeout,
)
from shared.json_body import json_body
from shared.jwt_claims import authentication_methods, unverified_claims
from shared.retry import RetryPolicy, TryAgain, parse_seconds, with_retries

logger = logging.getLogger(__name__)

# The global cloud's; a sovereign cloud names its own (PARTNER_CENTER_RESOURCE).
PARTNER_CENTER_RESOURCE = "https://api.partnercenter.microsoft.com"
# Refresh this long before expiry (or at half-life for short-lived tokens).
REFRESH_MARGIN_SECONDS = 300.0
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
DEFAULT_LIFETIME_SECONDS = 3600.0
_CACHE_KEY = "partner-center"
# A token endpoint's URL and the grant's audience parameter (scope or resource).
_Endpoint = tuple[str, dict[str, str]]
_AADSTS = re.compile(r"AADSTS([0-9]{1,9})")
# What an HTTP header can carry: a token with anything else is unusable, not a crash.
_HEADER_SAFE_TOKEN = re.compile(r"^[\x21-\x7e]{1,16384}$")
_CREDENTIAL_ERRORS = frozenset(
    {
        "invalid_grant",
        "interaction_required",
        "invalid_client",
        "unauthorized_client",
        "consent_required",
        "invalid_request",
        "invalid_scope",
    }
)


@dataclass(frozen=True)
class SecretNames:
    app_id: str
    app_secret: str
    refresh_token: str


@dataclass(frozen=True)
class AccessToken:
    value: SecretStr
    expires_at: float
    refresh_at: float


@dataclass(frozen=True)
class Exchange:
    """A completed exchange; `stored` is the write-back of the new refresh token, if any."""

    token: AccessToken
    refresh_token_rotated: bool
    stored: Future[str | None] | None


@dataclass(frozen=True)
class ExchangeSucceeded:
    """What the credentials health check may know of the last good exchange: when, and
    the sign-in's methods from the access token (None: the token's claims were unreadable)."""

    at: float
    authentication_methods: tuple[str, ...] | None

    @property
    def mfa(self) -> bool | None:
        methods = self.authentication_methods
        return None if methods is None else "mfa" in methods


@dataclass(frozen=True)
class ExchangeFailed:
    """The last failed exchange: when, and our own detail (never an upstream string)."""

    at: float
    detail: str
    credentials_rejected: bool


@dataclass(frozen=True)
class ExchangeHistory:
    """This instance's Partner Center exchanges since it started (no secret in it)."""

    last_success: ExchangeSucceeded | None = None
    last_failure: ExchangeFailed | None = None

    @property
    def failing(self) -> bool:
        """The most recent exchange failed."""
        if self.last_failure is None:
            return False
        return self.last_success is None or self.last_failure.at >= self.last_success.at


@dataclass(frozen=True)
class TokenError:
    error: str
    aadsts: int | None


class PartnerCenterTokens:
    def __init__(
        self,
        *,
        session: requests.Session,
        authority_host: str,
        tenant_id: str,
        secrets: SecretCache,
        names: SecretNames,
        rotate_refresh_token: bool,
        retry: RetryPolicy,
        resource: str = PARTNER_CENTER_RESOURCE,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._session = session
        self._authority_host = authority_host
        self._resource = resource.rstrip("/")
        self._v2_url = f"{authority_host}/{tenant_id}/oauth2/v2.0/token"
        self._v1_url = f"{authority_host}/{tenant_id}/oauth2/token"
        # v2 first; an authority that only serves the v1 endpoint (404) switches us for good.
        self._use_v1 = False
        self._secrets = secrets
        self._names = names
        self._rotate = rotate_refresh_token
        self._retry = retry
        self._clock = clock
        self._sleep = sleep
        # Fresh until shortly before expiry, then usable while one request refreshes it.
        self._cache: Cache[str, AccessToken] = _token_cache(clock)
        # Tokens for other resources in customers' tenants (Microsoft Graph), per tenant.
        self._other_tenants: Cache[tuple[str, str], AccessToken] = _token_cache(clock)
        # The timer's exchange and a request's never redeem the same refresh token twice.
        self._exchange_lock = threading.Lock()
        self._history = ExchangeHistory()

    def access_token(self) -> SecretStr:
        try:
            found = self._cache.get(
                _CACHE_KEY,
                lambda: self._locked_exchange().token,
                wait=current_deadline().remaining(),
            )
        except CacheWaitTimeout:
            raise _waited_too_long() from None
        if found.load_failure is not None:
            logger.warning(
                "Early token refresh failed; using the current token: %s",
                getattr(found.load_failure, "detail", type(found.load_failure).__name__),
            )
        return found.value.value

    def history(self) -> ExchangeHistory:
        """The last good and the last failed Partner Center exchange of this instance."""
        return self._history

    def invalidate(self, rejected: SecretStr) -> None:
        """Forget a token Partner Center refused, unless another request already replaced it."""
        self._cache.drop(_CACHE_KEY, only_if=lambda token: token.value == rejected)

    def exchange(self) -> Exchange:
        """Exchange the refresh token now, whatever is cached (used by the rotation timer)."""
        exchange = self._locked_exchange()
        self._cache.put(_CACHE_KEY, exchange.token)
        return exchange

    def token_for(self, tenant_id: str, scope: str) -> SecretStr:
        """A token for `scope` in another tenant, from the same stored refresh token (GDAP
        makes the partner admin's token good in a customer's tenant); cached per tenant."""
        key = (tenant_id.lower(), scope)
        endpoint = (f"{self._authority_host}/{key[0]}/oauth2/v2.0/token", {"scope": scope})
        try:
            found = self._other_tenants.get(
                key,
                lambda: self._locked_exchange(endpoint).token,
                wait=current_deadline().remaining(),
            )
        except CacheWaitTimeout:
            raise _waited_too_long() from None
        return found.value.value

    def invalidate_for(self, tenant_id: str, scope: str, rejected: SecretStr) -> None:
        self._other_tenants.drop(
            (tenant_id.lower(), scope), only_if=lambda token: token.value == rejected
        )

    def _locked_exchange(self, endpoint: _Endpoint | None = None) -> Exchange:
        if not self._exchange_lock.acquire(timeout=current_deadline().remaining()):
            raise _waited_too_long()
        try:
            exchange = self._exchange(endpoint)
            if endpoint is None:
                self._record_success(exchange.token)
            return exchange
        except DomainError as exc:
            if endpoint is None:
                self._record_failure(exc)
            raise
        finally:
            self._exchange_lock.release()

    def _record_success(self, token: AccessToken) -> None:
        # The token came from the token endpoint over our own connection: its claims are
        # read only to report the sign-in's methods, never trusted for anything else.
        claims = unverified_claims(token.value.get_secret_value())
        methods = tuple(authentication_methods(claims)) if claims else None
        self._history = ExchangeHistory(
            ExchangeSucceeded(self._clock(), methods), self._history.last_failure
        )

    def _record_failure(self, exc: DomainError) -> None:
        failed = ExchangeFailed(
            self._clock(), exc.detail, isinstance(exc, PartnerCredentialsInvalid)
        )
        self._history = ExchangeHistory(self._history.last_success, failed)

    def _exchange(self, endpoint: _Endpoint | None = None) -> Exchange:
        names = (self._names.app_id, self._names.app_secret, self._names.refresh_token)
        app_id_secret, app_secret_secret, refresh = self._secrets.get_many(names)
        app_id, app_secret = app_id_secret.value, app_secret_secret.value
        try:
            answer = self._grant(app_id, app_secret, refresh.value, endpoint)
        except PartnerCredentialsInvalid:
            # An operator may have stored a new refresh token after re-consent: look once.
            latest = self._secrets.read_latest(self._names.refresh_token)
            if latest.value == refresh.value:
                raise
            logger.warning("Refresh token rejected; retrying with the newer one in Key Vault.")
            answer = self._grant(app_id, app_secret, latest.value, endpoint)
        # The new refresh token is kept first: the identity platform may already have
        # revoked the old one, so nothing below may lose it.
        new_refresh = answer.get("refresh_token")
        stored = None
        rotated = isinstance(new_refresh, str) and bool(new_refresh.strip())
        if rotated:
            stored = self._keep_refresh_token(SecretStr(str(new_refresh).strip()))
        token = self._token_from(answer)
        return Exchange(token, refresh_token_rotated=rotated, stored=stored)

    def _keep_refresh_token(self, value: SecretStr) -> Future[str | None] | None:
        if self._rotate:
            return self._secrets.write_in_background(self._names.refresh_token, value)
        self._secrets.keep(self._names.refresh_token, value)
        return None

    def _grant(
        self,
        app_id: SecretStr,
        app_secret: SecretStr,
        refresh: SecretStr,
        endpoint: _Endpoint | None = None,
    ) -> dict[str, Any]:
        """The refresh-token grant at `endpoint`, or at the partner tenant's Partner Center
        endpoint (v2, or v1 where the authority serves only v1)."""
        deadline = current_deadline()
        form = {
            "grant_type": "refresh_token",
            "client_id": app_id.get_secret_value(),
            "client_secret": app_secret.get_secret_value(),
            "refresh_token": refresh.get_secret_value(),
        }

        def attempt() -> dict[str, Any] | TryAgain:
            while True:  # once more at once if the authority turns out to serve only v1
                url, audience = endpoint or self._endpoint()
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
                    raise _token_endpoint_down("the reset's deadline ran out") from None
                except requests.RequestException as exc:
                    return TryAgain(f"it could not be reached ({type(exc).__name__})")
                if (
                    response.status_code != 404
                    or endpoint is not None
                    or self._use_v1
                    or _json_error(response)
                ):
                    return self._judge(response)
                self._use_v1 = True

        return with_retries(
            attempt,
            policy=self._retry,
            sleep=self._sleep,
            give_up=lambda last, _delay: _token_endpoint_down(last.failure or "no answer"),
            label="Partner Center token exchange",
        )

    def _judge(self, response: requests.Response) -> dict[str, Any] | TryAgain:
        """The token endpoint's answer: the token, a retry, or a final error."""
        status = response.status_code
        if 300 <= status < 400:
            raise _token_endpoint_down(
                f"it answered with a redirect (HTTP {status}), which is never followed"
            )
        body = _json_object(response)
        if status == 200:
            if body is None or not isinstance(body.get("access_token"), str):
                raise _token_endpoint_down("its answer could not be read")
            return body
        error = _token_error(body)
        if error is not None and error.error in _CREDENTIAL_ERRORS:
            raise PartnerCredentialsInvalid(
                _credential_advice(error, self._names), aadsts=error.aadsts
            )
        transient = error is not None and error.error == "temporarily_unavailable"
        if status < 500 and status != 429 and not transient:
            raise _token_endpoint_down(f"it answered HTTP {status}")
        return TryAgain(
            f"it answered HTTP {status}",
            retry_after=parse_seconds(response.headers.get("Retry-After")),
            throttled=True,
        )

    def _endpoint(self) -> tuple[str, dict[str, str]]:
        if self._use_v1:
            return self._v1_url, {"resource": self._resource}
        return self._v2_url, {"scope": f"{self._resource}/.default"}

    def _token_from(self, answer: dict[str, Any]) -> AccessToken:
        value = str(answer["access_token"])
        if not _HEADER_SAFE_TOKEN.fullmatch(value):
            raise _token_endpoint_down("it issued an access token that no header can carry")
        now = self._clock()
        # An unreadable lifetime counts as absent: the default, not a failed request.
        lifetime = parse_seconds(answer.get("expires_in"))
        if lifetime is None:
            expires_on = parse_seconds(answer.get("expires_on"))
            lifetime = (expires_on - now) if expires_on is not None else DEFAULT_LIFETIME_SECONDS
        lifetime = min(max(lifetime, 0.0), 24 * 3600.0)
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
        return AccessToken(
            value=SecretStr(value),
            expires_at=now + lifetime,
            refresh_at=now + lifetime - margin,
        )

    def derived_key(self, label: bytes) -> bytes:
        """A key only this function (every instance of it) holds: the app secret, hashed
        under `label` so the secret itself serves no second purpose."""
        secret = self._secrets.get(self._names.app_secret).value
        return hashlib.sha256(label + b"\x00" + secret.get_secret_value().encode()).digest()


_K = TypeVar("_K", bound=Hashable)


def _token_cache(clock: Callable[[], float]) -> Cache[_K, AccessToken]:
    """Access tokens: fresh until shortly before expiry, then usable while one request
    refreshes them; a failed refresh keeps serving the still-valid token."""
    return Cache(
        ttl=0,
        lifetime=lambda token: Lifetime(
            fresh=token.refresh_at - clock(), usable=token.expires_at - clock()
        ),
        stale_on=(DependencyUnavailable, UpstreamTimeout),
        clock=clock,
    )


def _waited_too_long() -> DependencyUnavailable:
    return DependencyUnavailable(
        "Timed out waiting for the Partner Center token exchange.",
        retry_after=DEPENDENCY_RETRY_AFTER,
    )


def _json_error(response: requests.Response) -> bool:
    """A 404 that names an OAuth error is the service speaking, not a missing endpoint."""
    return _token_error(_json_object(response)) is not None


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = json_body(response)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _token_error(body: dict[str, Any] | None) -> TokenError | None:
    if body is None or not isinstance(body.get("error"), str):
        return None
    codes = body.get("error_codes")
    aadsts: int | None = None
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        aadsts = codes[0]
    else:
        found = _AADSTS.search(str(body.get("error_description", "")))
        aadsts = int(found.group(1)) if found else None
    return TokenError(body["error"], aadsts if aadsts is not None and aadsts >= 0 else None)


def _token_endpoint_down(reason: str) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"The Microsoft identity platform token endpoint failed: {reason}.",
        retry_after=DEPENDENCY_RETRY_AFTER,
    )


_ADVICE: dict[int, str] = {
    700082: "the stored refresh token has expired. A partner admin must consent again "
    "(Secure Application Model) and store the new refresh token in Key Vault secret '{rt}'.",
    50173: "the stored refresh token was revoked (for example after the admin's password "
    "changed). A partner admin must consent again and store the new refresh token in "
    "Key Vault secret '{rt}'.",
    50076: "the refresh token does not carry multi-factor authentication. A partner admin "
    "must consent again, signing in with MFA, and store the new token in '{rt}'.",
    50079: "the admin behind the refresh token must register for multi-factor "
    "authentication, then consent again and store the new token in '{rt}'.",
    53003: "Conditional Access in the partner tenant blocked the token. Review the policies "
    "that apply to the app and the admin account, then consent again if needed.",
    70043: "the refresh token outlived the sign-in frequency policy. A partner admin must "
    "consent again and store the new refresh token in '{rt}'.",
    7000215: "the app secret in Key Vault secret '{secret}' is not valid for app '{app}'. "
    "Store the app's current client secret.",
    7000222: "the app's client secret has expired. Create a new client secret for the app "
    "and store it in Key Vault secret '{secret}'.",
    700016: "the app in Key Vault secret '{app}' was not found in the partner tenant. "
    "Check that secret and PARTNER_TENANT_ID.",
    90002: "the partner tenant was not found. Check the PARTNER_TENANT_ID setting.",
}


def _credential_advice(error: TokenError, names: SecretNames) -> str:
    # error.error is one of _CREDENTIAL_ERRORS (our own constants) when this runs.
    code = f"AADSTS{error.aadsts}" if error.aadsts is not None else "no AADSTS code"
    template = _ADVICE.get(error.aadsts or 0)
    if template is None:
        advice = (
            "the identity platform refused the stored Partner Center credentials. Check the "
            f"app ID, secret and refresh token in Key Vault secrets '{names.app_id}', "
            f"'{names.app_secret}' and '{names.refresh_token}'."
        )
    else:
        advice = template.format(rt=names.refresh_token, secret=names.app_secret, app=names.app_id)
    return f"Token exchange failed ({error.error}, {code}): {advice}"
