"""A key only this function (every instance of it) holds, for each purpose its own."""

from __future__ import annotations

import hashlib

from credentials.secret_cache import SecretCache


def derived_key(secrets: SecretCache, app_secret_name: str, label: bytes) -> bytes:
    """The app secret, hashed under `label` so the secret itself serves no second purpose."""
    secret = secrets.get(app_secret_name).value
    return hashlib.sha256(label + b"\x00" + secret.get_secret_value().encode()).digest()
