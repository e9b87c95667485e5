"""Who is calling: the function key alone, or an Entra ID bearer token validated in the
function (which customers a caller may then act on is the reset's business:
reset_password/caller_policy.py).

Easy Auth is not available on every plan and its headers can be forged where it is
off, so the token is verified here: RS256 only, signature against the tenant's published
keys, audience, issuer (v1 and v2 forms), lifetime with a little leeway, and an app role.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from shared.cache import Cache, CacheWaitTimeout, Misses, Stale
from shared.context import current_deadline
from shared.errors import (
    DEPENDENCY_RETRY_AFTER,
    DependencyUnavailable,
    Forbidden,
    Unauthenticated,
    UpstreamTimeout,
)
from shared.json_body import json_body
from shared.upstream import Request, Upstream

logger = logging.getLogger(__name__)

FUNCTION_KEY_CALLER = "function-key"
LEEWAY_SECONDS = 120
# An unknown kid refreshes the key set at most this often: a flood of made-up kids
# costs one discovery call per period.
KEY_REFRESH_FLOOR_SECONDS = 10.0
# Signing keys roll over rarely; re-read them daily even when every kid is known.
KEY_SET_MAX_AGE_SECONDS = 24 * 3600.0
# How long a request waits for another request's key refresh before using what it has.
KEY_LOCK_WAIT_SECONDS = 2.0


_KEY_SET = "signing-keys"


@dataclass(frozen=True)
class KeySet:
    keys: dict[str, Any]
    issuers: tuple[str, ...]


@dataclass(frozen=True)
class Caller:
    """Who called: the function key alone, or an Entra ID application."""

    kind: str = FUNCTION_KEY_CALLER
    app_id: str | None = None
    object_id: str | None = None
    name: str | None = None
    # The app roles of a verified token: which routes and switches it may use.
    roles: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def key(self) -> str:
        """The name the allow-list and idempotency keys use for this caller."""
        return (self.app_id or self.kind).lower()

    def audit_fields(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "appId": self.app_id,
            "objectId": self.object_id,
            "name": self.name,
        }


@dataclass(frozen=True)
class TokenRules:
    """What a caller's token must show: issued in this tenant, for this audience, holding
    this app role (CALLER_TENANT_ID, CALLER_AUDIENCE, CALLER_REQUIRED_ROLE)."""

    tenant_id: str
    audience: str
    required_role: str


class CallerTokenValidator:
    def __init__(
        self,
        *,
        upstream: Upstream,
        authority_host: str,
        rules: TokenRules,
        clock: Callable[[], float] = time.monotonic,
        refresh_floor: float = KEY_REFRESH_FLOOR_SECONDS,
        lock_wait: float = KEY_LOCK_WAIT_SECONDS,
    ) -> None:
        self._upstream = upstream
        tenant_id = rules.tenant_id
        self._discovery_url = f"{authority_host}/{tenant_id}/v2.0/.well-known/openid-configuration"
        self._tenant_id = tenant_id
        self._audience = rules.audience
        self._required_role = rules.required_role
        self._refresh_floor = refresh_floor
        self._lock_wait = lock_wait
        # Keys roll over rarely: re-read daily, served stale while a refresh fails, and
        # a failed load remembered for the floor period (no discovery call per request).
        self._key_sets: Cache[str, KeySet] = Cache(
            ttl=KEY_SET_MAX_AGE_SECONDS,
            stale=Stale(grace=float("inf"), on=(DependencyUnavailable,)),
            misses=Misses(refresh_floor, (DependencyUnavailable,)),
            clock=clock,
        )

    def authenticate(self, headers: Mapping[str, str]) -> Caller:
        """The caller of a valid token holding CALLER_REQUIRED_ROLE (401, else 403)."""
        caller = self.verify(headers)
        require_any_role(caller, (self._required_role,))
        return caller

    def verify(self, headers: Mapping[str, str]) -> Caller:
        """The caller of a valid token, whatever its roles (401 otherwise)."""
        # PyJWT on first use: instances that take no caller tokens never need it, and
        # answer their first request sooner without importing it.
        import jwt  # noqa: PLC0415

        token = _bearer_token(headers.get("authorization"))
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("The bearer token is not a well-formed JWT.") from None
        if header.get("alg") != "RS256":
            raise Unauthenticated("The bearer token must be signed with RS256.")
        key, issuers = self._signing_key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=issuers,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The bearer token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("The bearer token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("The bearer token was issued for another audience.") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("The bearer token was issued by another tenant.") from None
        except jwt.PyJWTError:
            raise Unauthenticated("The bearer token could not be verified.") from None
        tenant = claims.get("tid")
        if tenant is not None and str(tenant).lower() != self._tenant_id.lower():
            raise Unauthenticated("The bearer token was issued by another tenant.")
        app_id = _text(claims.get("azp")) or _text(claims.get("appid"))
        if app_id is None:
            # Without it there is no caller to hold to CALLER_POLICY or name in the audit.
            raise Unauthenticated(
                "The bearer token names no calling application (no azp or appid claim): "
                "request an app-only or delegated access token for the API."
            )
        roles = claims.get("roles")
        return Caller(
            kind="entra-application",
            app_id=app_id,
            object_id=_text(claims.get("oid")),
            name=_text(claims.get("app_displayname")) or _text(claims.get("name")),
            roles=frozenset(r for r in roles if isinstance(r, str))
            if isinstance(roles, list)
            else frozenset(),
        )

    def _signing_key(self, kid: str) -> tuple[Any, tuple[str, ...]]:
        """The key for `kid` and the accepted issuers; an unknown kid refreshes the key
        set, at most once per floor period."""
        wait = max(0.0, min(current_deadline().remaining(), self._lock_wait))
        try:
            found = self._key_sets.get(_KEY_SET, self._load, wait=wait)
            if kid not in found.value.keys:
                found = self._key_sets.get(
                    _KEY_SET,
                    self._load,
                    wait=wait,
                    refresh_if_attempted_before=self._refresh_floor,
                )
        except CacheWaitTimeout:
            # A hanging discovery call in another request must not queue everyone.
            raise _keys_unavailable("another request is still loading them") from None
        key_set = found.value
        if kid in key_set.keys:
            if found.load_failure is not None:
                logger.warning("Using the cached caller signing keys: the refresh failed.")
            return key_set.keys[kid], key_set.issuers
        if isinstance(found.load_failure, DependencyUnavailable):
            raise _keys_unavailable("the refresh failed")
        raise Unauthenticated("The bearer token is signed with an unknown key.")

    def _load(self) -> KeySet:
        import jwt  # noqa: PLC0415 - on first use, as in authenticate

        discovery = self._get_json(self._discovery_url)
        jwks_uri = discovery.get("jwks_uri")
        issuer = discovery.get("issuer")
        if not isinstance(jwks_uri, str) or not isinstance(issuer, str):
            raise _keys_unavailable("its discovery document lacks jwks_uri or issuer")
        key_set = self._get_json(jwks_uri)
        keys: dict[str, Any] = {}
        for entry in key_set.get("keys") or []:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not entry.get("kid"):
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm="RS256").key
            except jwt.PyJWTError:
                logger.warning("Skipping an unusable signing key in the published key set.")
        return KeySet(keys, (issuer, f"https://sts.windows.net/{self._tenant_id}/"))

    def _get_json(self, url: str) -> dict[str, Any]:
        # One attempt: a failed load is remembered for the floor period, not retried.
        try:
            response = self._upstream.send(Request("GET", url))
            if response.status_code != 200:
                raise _keys_unavailable(f"it answered HTTP {response.status_code}")
            body = json_body(response)
        except UpstreamTimeout:
            raise _keys_unavailable("the request's deadline ran out") from None
        except (requests.RequestException, ValueError) as exc:
            raise _keys_unavailable(type(exc).__name__) from None
        if not isinstance(body, dict):
            raise _keys_unavailable("it answered something other than a JSON object")
        return body


def require_any_role(caller: Caller, roles: Sequence[str]) -> None:
    """Forbidden unless the caller's token holds one of `roles` (names are settings, safe)."""
    if caller.roles.isdisjoint(roles):
        named = " or ".join(f"'{role}'" for role in roles)
        raise Forbidden(
            f"The caller's token lacks the app role {named}. Assign it to the calling "
            "application in the API's enterprise application."
        )


def _bearer_token(value: str | None) -> str:
    scheme, _, token = (value or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Send an Entra ID access token as 'Authorization: Bearer <token>'.",
            challenge="Bearer",
        )
    return token.strip()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _keys_unavailable(reason: str) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"Could not load the caller token signing keys from the identity platform ({reason}).",
        retry_after=DEPENDENCY_RETRY_AFTER,
    )
