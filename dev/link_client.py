"""Open a one-time link the way the page does, for tests and local runs (never deployed:
the function itself holds no code that opens a link).

    python -m dev.link_client 'http://localhost:7071/api/secrets/<linkId>#<key>'

spends the link's one view and prints the password.
"""

from __future__ import annotations

import argparse
import json
import sys
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from secret_links.crypto import (
    CURVE,
    KEY_BYTES,
    SCALAR_BYTES,
    SealedPassword,
    b64url_decode,
    link_aes_key,
    uncompressed_point,
)


def private_key_from_text(key_text: str) -> ec.EllipticCurvePrivateKey:
    """The link's key from its fragment text; refuses one whose point is not its scalar's."""
    raw = b64url_decode(key_text)
    if len(raw) != KEY_BYTES:
        raise ValueError("the link's key must be 96 bytes")
    key = ec.derive_private_key(int.from_bytes(raw[:SCALAR_BYTES], "big"), CURVE)
    if uncompressed_point(key.public_key()) != b"\x04" + raw[SCALAR_BYTES:]:
        raise ValueError("the link's key does not match its public point")
    return key


def open_sealed(sealed: SealedPassword, *, link_id: str, key_text: str) -> str:
    key = private_key_from_text(key_text)
    ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, sealed.ephemeral_public_key)
    aes_key = link_aes_key(key.exchange(ec.ECDH(), ephemeral), link_id)
    try:
        plain = AESGCM(aes_key).decrypt(sealed.nonce, sealed.ciphertext, link_id.encode("utf-8"))
    except InvalidTag:
        raise ValueError("the key or link ID does not open this password") from None
    return plain.decode("utf-8")


def open_link(url: str) -> str:
    """POST the reveal (spending the view) and decrypt; loopback URLs only."""
    parts = urlsplit(url)
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("dev.link_client opens links on loopback hosts only")
    link_id = parts.path.rstrip("/").rpartition("/")[2]
    request = Request(  # noqa: S310 - http(s) on loopback, checked above
        f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/reveal",
        data=b"{}",
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urlopen(request, timeout=10) as answer:  # noqa: S310
        sealed = SealedPassword.from_json(json.loads(answer.read()))
    return open_sealed(sealed, link_id=link_id, key_text=parts.fragment)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    try:
        print(open_link(parser.parse_args().url))
    except HTTPError as answer:
        print(f"the link answered {answer.code}: {answer.read().decode(errors='replace')}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
