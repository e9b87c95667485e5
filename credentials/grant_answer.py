"""What the token endpoint's answer to a refresh-token grant means: the token, a retry,
or an error in our own words (an AADSTS code named, never an upstream string), with the
fix when the stored credentials were refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import requests

from credentials.key_vault import SecretNames
from shared.errors import DEPENDENCY_RETRY_AFTER, DependencyUnavailable, PartnerCredentialsInvalid
from shared.json_body import json_body
from shared.retry import TryAgain, parse_seconds

_AADSTS = re.compile(r"AADSTS([0-9]{1,9})")
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
class TokenError:
    error: str
    aadsts: int | None


def judge(response: requests.Response, names: SecretNames) -> dict[str, Any] | TryAgain:
    """The token endpoint's answer: the token, a retry, or a final error."""
    status = response.status_code
    if 300 <= status < 400:
        raise token_endpoint_down(
            f"it answered with a redirect (HTTP {status}), which is never followed"
        )
    body = _json_object(response)
    if status == 200:
        if body is None or not isinstance(body.get("access_token"), str):
            raise token_endpoint_down("its answer could not be read")
        return body
    error = _token_error(body)
    if error is not None and error.error in _CREDENTIAL_ERRORS:
        raise PartnerCredentialsInvalid(_credential_advice(error, names), aadsts=error.aadsts)
    transient = error is not None and error.error == "temporarily_unavailable"
    if status < 500 and status != 429 and not transient:
        raise token_endpoint_down(f"it answered HTTP {status}")
    return TryAgain(
        f"it answered HTTP {status}",
        retry_after=parse_seconds(response.headers.get("Retry-After")),
        throttled=True,
    )


def names_an_oauth_error(response: requests.Response) -> bool:
    """A 404 that names an OAuth error is the service speaking, not a missing endpoint."""
    return _token_error(_json_object(response)) is not None


def token_endpoint_down(reason: str) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"The Microsoft identity platform token endpoint failed: {reason}.",
        retry_after=DEPENDENCY_RETRY_AFTER,
    )


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
