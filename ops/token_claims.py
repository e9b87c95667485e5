"""What the consent command reads from the tokens it received: MFA, the user, the nonce.

The tokens came straight from the token endpoint over the connection we opened, so their
claims are read without checking signatures (OpenID Connect Core 3.1.3.7 allows that for
the ID token); the real proof that the access token works is the Partner Center read.
"""

from __future__ import annotations

import secrets
from typing import Any

from ops.errors import OpsError
from shared.jwt_claims import authentication_methods, unverified_claims

# The function's credentials health check reads MFA the same way (shared.jwt_claims).
__all__ = ["check_nonce", "consenting_user", "require_mfa", "unverified_claims"]


def require_mfa(access_claims: dict[str, Any]) -> list[str]:
    """The sign-in's methods; refuses unless `mfa` is among them."""
    if not access_claims:
        raise OpsError(
            "The access token's claims cannot be read, so multi-factor authentication cannot"
            " be confirmed; nothing was stored."
        )
    methods = authentication_methods(access_claims)
    if "mfa" not in methods:
        shown = ", ".join(methods) if methods else "none"
        raise OpsError(
            f"The sign-in did not use multi-factor authentication (amr: {shown}). Partner"
            " Center refuses App+User tokens without MFA, so this consent would not work;"
            " nothing was stored. Sign in again completing an MFA prompt (require MFA for"
            " this account with Conditional Access or security defaults if none came)."
        )
    return methods


def check_nonce(id_claims: dict[str, Any], nonce: str) -> None:
    # A missing ID token is tolerated (the UPN then comes from the access token); one for
    # another sign-in is not.
    if not id_claims:
        return
    received = id_claims.get("nonce")
    if not isinstance(received, str) or not secrets.compare_digest(received, nonce):
        raise OpsError(
            "The ID token does not belong to this sign-in (nonce mismatch); nothing was stored."
        )


def consenting_user(id_claims: dict[str, Any], access_claims: dict[str, Any]) -> str:
    for claims, name in (
        (id_claims, "upn"),
        (id_claims, "preferred_username"),
        (access_claims, "upn"),
        (access_claims, "unique_name"),
    ):
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "unknown"
