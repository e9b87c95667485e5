"""The OAuth 2.0 authorization-code flow with PKCE against the Microsoft identity platform.

Plain `requests`, not MSAL: MSAL accepts only an https authority, while AUTHORITY_HOST
may be http on a loopback host (the local emulators); it would
also fetch an OpenID discovery document first. The flow itself is two requests: build
the sign-in URL, then redeem the code with the PKCE verifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

from ops.errors import OpsError
from ops.pkce import Proof

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
_AADSTS = re.compile(r"AADSTS(\d{1,9})")
_OAUTH_ERROR = re.compile(r"[a-z_]{1,64}")
_HINTS = {
    7000215: "the app secret is wrong: store the right one with `python3 -m ops secrets`",
    7000222: "the app secret has expired: create a new one, then `python3 -m ops secrets`",
    700016: "the app ID is not registered in this tenant: check PARTNER_TENANT_ID and the app ID",
    54005: "this sign-in answer was already used: run the command again",
    70008: "the sign-in took too long: run the command again",
    501481: "the PKCE check failed: run the command again",
    65001: "the app lacks consent for Partner Center user_impersonation: grant it in Entra",
}


@dataclass(frozen=True)
class Authority:
    host: str
    tenant: str

    @property
    def authorize_url(self) -> str:
        return f"{self.host}/{self.tenant}/oauth2/v2.0/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.host}/{self.tenant}/oauth2/v2.0/token"


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    id_token: str | None = field(repr=False)


# What a dry run needs to read the partner's GDAP relationships (Microsoft Graph).
GDAP_READ_PERMISSION = "DelegatedAdminRelationship.Read.All"


def consent_scopes(partner_center_resource: str) -> list[str]:
    """The scopes the code is redeemed for: one resource per token request."""
    # openid and profile add the ID token that names who consented.
    resource = partner_center_resource.rstrip("/")
    return [f"{resource}/user_impersonation", "offline_access", "openid", "profile"]


def sign_in_scopes(partner_center_resource: str, graph_base_url: str | None) -> list[str]:
    """The scopes the admin consents to at sign-in: Partner Center's and, unless
    `graph_base_url` is None, Graph's GDAP read. The sign-in may name several resources;
    the refresh token then redeems for each."""
    scopes = consent_scopes(partner_center_resource)
    if graph_base_url is not None:
        scopes.append(f"{graph_base_url.rstrip('/')}/{GDAP_READ_PERMISSION}")
    return scopes


def sign_in_url(
    authority: Authority, *, client_id: str, redirect_uri: str, scopes: list[str], proof: Proof
) -> str:
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "response_mode": "query",
        "scope": " ".join(scopes),
        "state": proof.state,
        "nonce": proof.nonce,
        "code_challenge": proof.challenge,
        "code_challenge_method": "S256",
        # The admin may be signed in as someone else: let them pick the partner admin.
        "prompt": "select_account",
    }
    return f"{authority.authorize_url}?{urlencode(query)}"


@dataclass(frozen=True)
class SignedIn:
    """What a sign-in hands back: the authorization code (repr=False: it redeems for the
    tokens), and the redirect URI it was sent to, which its redemption must name again."""

    code: str = field(repr=False)
    redirect_uri: str


def redeem_code(
    session: requests.Session,
    authority: Authority,
    *,
    client_id: str,
    client_secret: str,
    signed_in: SignedIn,
    scopes: list[str],
    proof: Proof,
) -> Tokens:
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": client_secret,
        "code": signed_in.code,
        "redirect_uri": signed_in.redirect_uri,
        "code_verifier": proof.verifier,
        "scope": " ".join(scopes),
    }
    try:
        answer = session.post(
            authority.token_url,
            data=form,
            headers={"Accept": "application/json"},
            timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise OpsError(
            f"Could not reach the token endpoint {authority.token_url} ({type(exc).__name__});"
            " nothing was stored."
        ) from None
    body = _json(answer)
    if answer.status_code != 200:
        raise OpsError(
            "The identity platform refused to redeem the sign-in"
            f" ({describe_oauth_error(answer.status_code, body)}); nothing was stored."
        )
    access_token, refresh_token = body.get("access_token"), body.get("refresh_token")
    if not isinstance(access_token, str) or not access_token:
        raise OpsError("The token endpoint answered without an access token; nothing was stored.")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise OpsError(
            "The token endpoint answered without a refresh token (was offline_access"
            " granted?); nothing was stored."
        )
    id_token = body.get("id_token")
    return Tokens(access_token, refresh_token, id_token if isinstance(id_token, str) else None)


def describe_oauth_error(status: int, body: dict[str, Any]) -> str:
    """HTTP status, OAuth error and AADSTS code with advice; never the free text."""
    parts = [f"HTTP {status}"]
    error = body.get("error")
    if isinstance(error, str) and _OAUTH_ERROR.fullmatch(error):
        parts.append(error)
    code = aadsts_code(body)
    if code is not None:
        parts.append(f"AADSTS{code}")
        if code in _HINTS:
            parts.append(_HINTS[code])
    return ", ".join(parts)


def aadsts_code(body: dict[str, Any]) -> int | None:
    codes = body.get("error_codes")
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        return codes[0]
    match = _AADSTS.search(str(body.get("error_description", "")))
    return int(match.group(1)) if match else None


def _json(answer: requests.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
