"""The identity platform's interactive half: `/authorize` and the authorization-code grant.

No browser is involved: the emulator acts as if the configured user had already signed
in (with or without MFA) and consented, so GETting a sign-in URL answers at once with the
redirect to the client's loopback listener, carrying a code and the client's `state` (or
the refusal a test asked for). The code grant then checks the PKCE verifier and hands out
what the consent command stores and checks: a refresh token the refresh-token grant
accepts later, an access token Partner Center accepts (a JWT carrying `amr`, like the
real one), and an ID token naming the user.

Kept apart from identity.py, which routes the two endpoints here and hands itself in
as the `Directory` this module needs: its tenants, its app registrations and the tokens
it signs. This module imports nothing of identity.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from html import escape
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from dev.emulators import aadsts as aad
from dev.emulators.aadsts import AadstsError
from dev.emulators.ledger import TokenLedger
from dev.emulators.messages import RecordedRequest, Response, json_response
from dev.emulators.partner_center import PARTNER_CENTER_AUDIENCE
from dev.emulators.routing import Handler

PARTNER_ADMIN_UPN = "admin@partnerdemo.onmicrosoft.com"
PARTNER_ADMIN_NAME = "Partner Admin"
PARTNER_ADMIN_OBJECT_ID = "ad000000-0000-4000-8000-0000000000a1"
# Entra's codes are short-lived and single-use.
CODE_LIFETIME_S = 600.0
ID_TOKEN_LIFETIME_S = 3600

_USER_SCOPE = f"{PARTNER_CENTER_AUDIENCE}/user_impersonation"
_OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
_GRAPH_GDAP_READ = "DelegatedAdminRelationship.Read.All"
# RFC 7636 section 4.1: 43 to 128 unreserved characters.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class SignedInUser:
    upn: str
    name: str
    object_id: str
    mfa: bool

    @property
    def amr(self) -> list[str]:
        return ["pwd", "mfa"] if self.mfa else ["pwd"]


@dataclass(frozen=True)
class _PendingCode:
    tenant: str
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    challenge: str | None
    challenge_method: str
    nonce: str | None
    user: SignedInUser
    expires_at: float


def _default_user() -> SignedInUser:
    return SignedInUser(PARTNER_ADMIN_UPN, PARTNER_ADMIN_NAME, PARTNER_ADMIN_OBJECT_ID, mfa=True)


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of `verifier` (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Directory(Protocol):
    """What the sign-in and the code grant need of the identity emulator."""

    @property
    def url(self) -> str: ...

    @property
    def partner_tenant_id(self) -> str: ...

    @property
    def graph_audience(self) -> str: ...

    @property
    def access_token_lifetime(self) -> float: ...

    @property
    def ledger(self) -> TokenLedger: ...

    def knows_tenant(self, tenant: str) -> bool: ...

    def check_client(self, client_id: str, client_secret: str) -> AadstsError | None: ...

    def add_refresh_token(self, token: str, client_id: str) -> None: ...

    def caller_issuer(self, tenant: str | None = None) -> str: ...

    def mint_caller_token(self, claims: dict[str, Any] | None = None) -> str: ...


class AuthorizationCodes:
    """Sign-in state and pending codes of one identity emulator."""

    def __init__(self, identity: Directory) -> None:
        self._identity = identity
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._user = _default_user()
            self._declined = False
            self._codes: dict[str, _PendingCode] = {}
            self._spent: set[str] = set()
            self._issued: list[str] = []
            self._redeemed = 0

    # -- configuration ---------------------------------------------------------

    def sign_in(
        self,
        upn: str = PARTNER_ADMIN_UPN,
        *,
        mfa: bool = True,
        name: str = PARTNER_ADMIN_NAME,
        object_id: str = PARTNER_ADMIN_OBJECT_ID,
    ) -> SignedInUser:
        """The user every later sign-in is made as, with or without multi-factor auth."""
        user = SignedInUser(upn, name, object_id, mfa)
        with self._lock:
            self._user = user
        return user

    def decline_consent(self, declined: bool = True) -> None:
        """Sign-ins end with `error=access_denied`, as when the user clicks Cancel."""
        with self._lock:
            self._declined = declined

    @property
    def issued_codes(self) -> list[str]:
        """Every code handed out, for tests that search output for leaked secrets."""
        with self._lock:
            return list(self._issued)

    @property
    def redeemed(self) -> int:
        """Codes exchanged for tokens."""
        with self._lock:
            return self._redeemed

    # -- GET /{tenant}/oauth2/v2.0/authorize -----------------------------------

    def authorize(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        query = request.query
        tenant = match["tenant"]
        identity = self._identity
        # Until the client and its redirect URI are known good, Entra shows an error page
        # instead of redirecting: a redirect could hand the answer to anyone.
        if not identity.knows_tenant(tenant):
            return _error_page(aad.tenant_not_found(tenant))
        client_id = query.get("client_id", "")
        if not _app_known(identity, client_id):
            return _error_page(
                AadstsError(
                    "unauthorized_client",
                    700016,
                    f"Application with identifier '{client_id}' was not found in the directory.",
                )
            )
        redirect_uri = query.get("redirect_uri", "")
        if not _redirect_allowed(redirect_uri):
            return _error_page(
                AadstsError(
                    "invalid_request",
                    50011,
                    "The redirect URI specified in the request does not match the redirect"
                    " URIs configured for the application.",
                )
            )
        state = query.get("state")
        failure = self._check_authorize_query(query, identity.graph_audience)
        if failure is not None:
            return _redirect(redirect_uri, _error_params(failure), state)
        with self._lock:
            declined, user = self._declined, self._user
        if declined:
            refusal = AadstsError(
                "access_denied", 65004, "User declined to consent to access the app."
            )
            return _redirect(
                redirect_uri, {**_error_params(refusal), "error_subcode": "cancel"}, state
            )
        code = "emu-code-" + secrets.token_urlsafe(48)
        pending = _PendingCode(
            tenant=identity.partner_tenant_id,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=frozenset(query.get("scope", "").split()),
            challenge=query.get("code_challenge") or None,
            challenge_method=query.get("code_challenge_method", "plain"),
            nonce=query.get("nonce") or None,
            user=user,
            expires_at=time.time() + CODE_LIFETIME_S,
        )
        with self._lock:
            self._codes[code] = pending
            self._issued.append(code)
        params = {"code": code, "session_state": secrets.token_hex(16)}
        return _redirect(redirect_uri, params, state)

    @staticmethod
    def _check_authorize_query(query: dict[str, str], graph: str) -> AadstsError | None:
        if query.get("response_type") != "code":
            return AadstsError(
                "unsupported_response_type",
                700054,
                "The response_type parameter must be 'code' for this emulator.",
            )
        scopes = query.get("scope", "").split()
        if not scopes:
            return aad.missing_parameter("scope")
        # A sign-in may ask consent for several resources: Graph's GDAP read beside
        # Partner Center (the code grant then names one of them).
        gdap_read = f"{graph.rstrip('/')}/{_GRAPH_GDAP_READ}"
        if [s for s in scopes if s not in _OIDC_SCOPES and s != gdap_read] != [_USER_SCOPE]:
            return AadstsError(
                "invalid_scope", 70011, f"The scope {' '.join(scopes)} is not valid."
            )
        method = query.get("code_challenge_method", "plain")
        if query.get("code_challenge") and method not in ("S256", "plain"):
            return AadstsError(
                "invalid_request", 501491, "Invalid size of Code_Challenge parameter."
            )
        return None

    # -- POST /{tenant}/oauth2/v2.0/token, grant_type=authorization_code -------

    def token(self, fallback: Handler) -> Handler:
        """The v2 token endpoint: code grants here, every other grant to `fallback`."""

        def handle(request: RecordedRequest, match: re.Match[str]) -> Response:
            if request.form().get("grant_type") != "authorization_code":
                return fallback(request, match)
            return self._redeem(request, match["tenant"])

        return handle

    def _redeem(self, request: RecordedRequest, tenant: str) -> Response:
        form = request.form()
        claimed = self._claim(form, tenant)
        if isinstance(claimed, AadstsError):
            return self._fail(claimed, request)
        failure = _check_redemption(claimed, form)
        if failure is not None:
            return self._fail(failure, request)
        with self._lock:
            self._redeemed += 1
        return json_response(
            200,
            self._tokens_for(claimed),
            {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
        )

    def _claim(self, form: dict[str, str], tenant: str) -> _PendingCode | AadstsError:
        """The code's pending sign-in, once the request and its client check out."""
        identity = self._identity
        if not identity.knows_tenant(tenant):
            return aad.tenant_not_found(tenant)
        for name in ("client_id", "code", "redirect_uri"):
            if not form.get(name):
                return aad.missing_parameter(name)
        client_failure = identity.check_client(form["client_id"], form.get("client_secret", ""))
        if client_failure is not None:
            return client_failure
        with self._lock:
            # Spent on the first attempt, right or wrong: a code is never tried twice.
            pending = self._codes.pop(form["code"], None)
            reused = pending is None and form["code"] in self._spent
            self._spent.add(form["code"])
        if pending is not None:
            return pending
        if reused:
            return AadstsError(
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid"
                " code or use an existing refresh token.",
            )
        return AadstsError("invalid_grant", 9002313, "Invalid request. Malformed code.")

    def _tokens_for(self, pending: _PendingCode) -> dict[str, Any]:
        identity = self._identity
        lifetime = identity.access_token_lifetime
        now = int(time.time())
        user = pending.user
        # Shaped like a v1 Partner Center token: that resource is a v1 application.
        access_token = identity.mint_caller_token(
            {
                "aud": PARTNER_CENTER_AUDIENCE,
                "iss": f"https://sts.windows.net/{pending.tenant}/",
                "tid": pending.tenant,
                "iat": now,
                "nbf": now,
                "exp": now + int(lifetime),
                "amr": user.amr,
                "upn": user.upn,
                "unique_name": user.upn,
                "name": user.name,
                "oid": user.object_id,
                "sub": user.object_id,
                "scp": "user_impersonation",
                "appid": pending.client_id,
                "appidacr": "1",
                "ver": "1.0",
                "azp": None,
                "azpacr": None,
                "roles": None,
            }
        )
        identity.ledger.record(access_token, PARTNER_CENTER_AUDIENCE, lifetime)
        expires_in = max(int(lifetime) - 1, 0)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": _USER_SCOPE,
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": access_token,
        }
        if "offline_access" in pending.scopes:
            refresh_token = "emu-rt-" + secrets.token_urlsafe(48)
            identity.add_refresh_token(refresh_token, pending.client_id)
            body["refresh_token"] = refresh_token
        if "openid" in pending.scopes:
            body["id_token"] = identity.mint_caller_token(
                {
                    "aud": pending.client_id,
                    "iss": identity.caller_issuer(pending.tenant),
                    "tid": pending.tenant,
                    "iat": now,
                    "nbf": now,
                    "exp": now + ID_TOKEN_LIFETIME_S,
                    "oid": user.object_id,
                    "sub": hashlib.sha256(
                        f"{user.object_id}:{pending.client_id}".encode()
                    ).hexdigest()[:43],
                    "name": user.name,
                    "preferred_username": user.upn,
                    "upn": user.upn,
                    "nonce": pending.nonce,
                    "ver": "2.0",
                    "azp": None,
                    "azpacr": None,
                    "roles": None,
                    "uti": None,
                }
            )
        return body

    def _fail(self, failure: AadstsError, request: RecordedRequest) -> Response:
        correlation = request.header("client-request-id") or None
        return aad.error_response(failure, base_url=self._identity.url, correlation_id=correlation)


def _app_known(identity: Directory, client_id: str) -> bool:
    # The identity emulator owns app registrations; asking it about a blank secret tells
    # an unknown app (AADSTS700016) from a known one without reading its table.
    failure = identity.check_client(client_id, "")
    return failure is None or failure.code != 700016


def _check_redemption(pending: _PendingCode, form: dict[str, str]) -> AadstsError | None:
    if pending.expires_at <= time.time():
        return AadstsError(
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity."
            " Send a new interactive authorization request for this user and resource.",
        )
    if form["client_id"] != pending.client_id:
        return AadstsError("invalid_grant", 70000, "Provided grant is invalid or malformed.")
    if form["redirect_uri"] != pending.redirect_uri:
        return AadstsError(
            "invalid_grant",
            50011,
            "The redirect URI does not match the one used in the authorization request.",
        )
    verifier_failure = _check_verifier(pending, form.get("code_verifier", ""))
    if verifier_failure is not None:
        return verifier_failure
    asked = form.get("scope", "").split()
    if any(scope not in pending.scopes for scope in asked):
        return AadstsError(
            "invalid_grant", 70000, "The scope asked for was not granted by the user."
        )
    return None


def _check_verifier(pending: _PendingCode, verifier: str) -> AadstsError | None:
    # Like Entra: PKCE is checked when the sign-in carried a challenge.
    if pending.challenge is None:
        return None
    if not verifier:
        return aad.missing_parameter("code_verifier")
    if _VERIFIER.fullmatch(verifier) and secrets.compare_digest(
        _challenge_of(verifier, pending.challenge_method), pending.challenge
    ):
        return None
    return AadstsError(
        "invalid_grant",
        501481,
        "The Code_Verifier does not match the code_challenge supplied in the authorization"
        " request.",
    )


def _challenge_of(verifier: str, method: str) -> str:
    return pkce_challenge(verifier) if method == "S256" else verifier


def _redirect_allowed(uri: str) -> bool:
    # Registered-redirect bookkeeping is beyond the emulator: https anywhere, or the
    # loopback http addresses native clients use (any port, as Entra allows).
    parts = urlsplit(uri)
    if parts.fragment or not parts.hostname:
        return False
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname.lower() in _LOOPBACK_HOSTS
    )


def _error_params(failure: AadstsError) -> dict[str, str]:
    return {"error": failure.error, "error_description": f"AADSTS{failure.code}: {failure.message}"}


def _redirect(redirect_uri: str, params: dict[str, str], state: str | None) -> Response:
    if state is not None:
        params = {**params, "state": state}
    separator = "&" if urlsplit(redirect_uri).query else "?"
    location = f"{redirect_uri}{separator}{urlencode(params)}"
    return Response(302, b"", {"Location": location, "Cache-Control": "no-store"})


def _error_page(failure: AadstsError) -> Response:
    text = escape(f"AADSTS{failure.code}: {failure.message}")
    body = f"<!doctype html><title>Sign in</title><p>{text}</p>".encode()
    return Response(400, body, {"Content-Type": "text/html; charset=utf-8"})
