"""Microsoft identity platform error answers, shaped like the real token endpoint's."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from dev.emulators.messages import Response, json_response


@dataclass(frozen=True)
class AadstsError:
    error: str
    code: int
    message: str
    status: int = 400


_CATALOGUE: dict[int, tuple[str, str]] = {
    50076: (
        "interaction_required",
        "Due to a configuration change made by your administrator, or because you moved to"
        " a new location, you must use multi-factor authentication to access '{resource}'.",
    ),
    50079: (
        "interaction_required",
        "Due to a configuration change made by your administrator, or because you moved to"
        " a new location, you must enroll in multi-factor authentication to access"
        " '{resource}'.",
    ),
    53003: (
        "interaction_required",
        "Access has been blocked by Conditional Access policies. The access policy does not"
        " allow token issuance.",
    ),
    70043: (
        "interaction_required",
        "The refresh token has expired or is invalid due to sign-in frequency checks by"
        " conditional access.",
    ),
    50173: (
        "invalid_grant",
        "The provided grant has expired due to it being revoked, a fresh auth token is"
        " needed. The user might have changed or reset their password.",
    ),
    700082: (
        "invalid_grant",
        "The refresh token has expired due to inactivity. The token was issued on"
        " 2025-01-01T00:00:00.0000000Z and was inactive for 90.00:00:00.",
    ),
}

REFRESH_TOKEN_FAILURES = frozenset(_CATALOGUE)


def refresh_token_failure(code: int, *, resource: str) -> AadstsError:
    if code not in _CATALOGUE:
        known = ", ".join(str(c) for c in sorted(_CATALOGUE))
        raise ValueError(
            f"AADSTS{code} is not a refresh-token failure this emulator knows ({known})"
        )
    error, template = _CATALOGUE[code]
    return AadstsError(error, code, template.format(resource=resource))


def missing_parameter(name: str) -> AadstsError:
    return AadstsError(
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def tenant_not_found(tenant: str, *, error: str = "invalid_request") -> AadstsError:
    """AADSTS90002; the token endpoint says `invalid_request`, OpenID discovery `invalid_tenant`."""
    return AadstsError(
        error,
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and"
        " are signing into the correct cloud. Check with your subscription administrator,"
        " this may happen if there are no active subscriptions for the tenant.",
    )


def invalid_tenant_name(tenant: str) -> AadstsError:
    return AadstsError(
        "invalid_request",
        900023,
        f"Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid"
        " external domain.",
    )


# Why a refresh token redeemed in another tenant (a customer's, for Graph) is refused.
_TENANT_REFUSALS: dict[int, tuple[str, str]] = {
    65001: (
        "invalid_grant",
        "The user or administrator has not consented to use the application with ID"
        " '{client_id}'. Send an interactive authorization request for this user and resource.",
    ),
    700016: (
        "unauthorized_client",
        "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
        " This can happen if the application has not been installed by the administrator of"
        " the tenant or consented to by any user in the tenant.",
    ),
    50020: (
        "invalid_grant",
        "User account from identity provider 'https://sts.windows.net/{home}/' does not exist"
        " in tenant '{tenant}' and cannot access the application '{client_id}' in that tenant.",
    ),
}

TENANT_REFUSALS = frozenset(_TENANT_REFUSALS) | REFRESH_TOKEN_FAILURES


def tenant_refusal(
    code: int, *, tenant: str, home_tenant: str, client_id: str, resource: str
) -> AadstsError:
    """A refusal to issue a token in `tenant`: consent, app or account missing there, or any
    refresh-token failure (MFA, Conditional Access) that tenant's policy raises."""
    if code in _CATALOGUE:
        return refresh_token_failure(code, resource=resource)
    if code not in _TENANT_REFUSALS:
        known = ", ".join(str(c) for c in sorted(TENANT_REFUSALS))
        raise ValueError(f"AADSTS{code} is not a tenant refusal this emulator knows ({known})")
    error, template = _TENANT_REFUSALS[code]
    message = template.format(tenant=tenant, home=home_tenant, client_id=client_id)
    return AadstsError(error, code, message)


def error_payload(
    failure: AadstsError, *, base_url: str, correlation_id: str | None = None
) -> dict[str, Any]:
    now = time.gmtime()
    timestamp = time.strftime("%Y-%m-%d %H:%M:%SZ", now)
    trace_id = str(uuid.uuid4())
    correlation = correlation_id or str(uuid.uuid4())
    description = (
        f"AADSTS{failure.code}: {failure.message}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation}\r\nTimestamp: {timestamp}"
    )
    return {
        "error": failure.error,
        "error_description": description,
        "error_codes": [failure.code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation,
        "error_uri": f"{base_url}/error?code={failure.code}",
    }


def error_response(
    failure: AadstsError, *, base_url: str, correlation_id: str | None = None
) -> Response:
    payload = error_payload(failure, base_url=base_url, correlation_id=correlation_id)
    headers = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
    if failure.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm=""'
    return json_response(failure.status, payload, headers)
