"""The MS-RequestId of a reset: random, or stable for one caller's Idempotency-Key.

Partner Center applies one reset per MS-RequestId. A key re-sent with the *same*
password must map to the same ID (the retry is recognised), and with a *different*
password to a different ID, or the second password would be reported as set while only
the first was applied. So the password is part of the derivation; an HMAC under a
secret the function holds keeps the ID from revealing anything about it (a plain hash
of a short password could be brute-forced from the ID, which Partner Center logs).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from pydantic import SecretStr

# Labels the key derived from the app secret (see credentials/derived_key.py).
HMAC_KEY_LABEL = b"partner-password-reset/idempotency/v1"


def derive_request_id(
    *,
    hmac_key: bytes | None,
    caller: str,
    customer: str,
    user: str,
    idempotency_key: str | None,
    password: SecretStr,
) -> uuid.UUID:
    if idempotency_key is None or hmac_key is None:
        return uuid.uuid4()
    message = (
        "\n".join((caller.lower(), customer.lower(), user.lower(), idempotency_key, "")).encode()
        + password.get_secret_value().encode()
    )
    digest = hmac.new(hmac_key, message, hashlib.sha256).digest()
    return uuid.UUID(bytes=digest[:16], version=4)
