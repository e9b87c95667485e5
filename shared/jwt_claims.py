"""Reading claims from a token we just received, without checking its signature.

Used where the token came straight from the token endpoint over a connection we opened
(the consent command, the function's own exchange): the question is what the token says
about the sign-in (its `amr`), not whether to trust a stranger's token. Never use this to
authenticate a caller (shared/caller_auth.py verifies those).
"""

from __future__ import annotations

from typing import Any

import jwt


def unverified_claims(token: str | None) -> dict[str, Any]:
    """The payload of a JWT, or {} for anything that is not one (an opaque token)."""
    if not token:
        return {}
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def authentication_methods(claims: dict[str, Any]) -> list[str]:
    """The sign-in's authentication methods (`amr`); [] when absent or malformed."""
    amr = claims.get("amr")
    if not isinstance(amr, list):
        return []
    return [str(method) for method in amr if isinstance(method, str)]
