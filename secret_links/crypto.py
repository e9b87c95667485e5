"""Link keys and the envelope a password travels in (contract 1c), with `cryptography`.

A link's key is a P-256 private key made for that link alone; only its public half stays
with the function. A password is sealed to it with a fresh ephemeral key: ECDH gives a
32-byte shared secret, HKDF-SHA256 (salt = the link ID's text, info = `HKDF_INFO`) turns
it into an AES-256-GCM key, and the link ID is the additional data, so a sealed password
moved to another link's row does not open. The function seals and never opens: opening
happens in the person's browser (secret_links/page.py), or in dev/link_client.py.

Encodings are the contract's, so any client can open a link: base64url without padding;
the key is `d || x || y`, 32 bytes each, big-endian (a JWK's `d`, `x`, `y`).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HKDF_INFO = b"partner-password-reset link v1"
LINK_ID_BYTES = 16
NONCE_BYTES = 12
SCALAR_BYTES = 32
KEY_BYTES = 3 * SCALAR_BYTES
CURVE = ec.SECP256R1()

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict: the URL-safe alphabet, no padding, and only the one text `b64url` gives."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url without padding") from None
    if b64url(data) != text:
        raise ValueError("not base64url without padding")
    return data


def is_link_id(text: str) -> bool:
    """The shape of a link ID: 16 bytes in base64url (22 characters)."""
    try:
        return len(b64url_decode(text)) == LINK_ID_BYTES
    except ValueError:
        return False


def uncompressed_point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@dataclass(frozen=True)
class LinkKey:
    """A new link: its ID and its private key (handed out once, in the URL fragment)."""

    link_id: str
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @property
    def key_text(self) -> str:
        """The URL fragment: `d || x || y`, base64url."""
        numbers = self.private_key.private_numbers()
        public = numbers.public_numbers
        return b64url(
            numbers.private_value.to_bytes(SCALAR_BYTES, "big")
            + public.x.to_bytes(SCALAR_BYTES, "big")
            + public.y.to_bytes(SCALAR_BYTES, "big")
        )

    @property
    def public_point(self) -> bytes:
        """What the function keeps: the public key, a 65-byte uncompressed point."""
        return uncompressed_point(self.private_key.public_key())

    def url(self, base_url: str) -> str:
        """`{PUBLIC_BASE_URL}/api/secrets/{linkId}#{key}`: the only place the key goes."""
        return f"{base_url}/api/secrets/{self.link_id}#{self.key_text}"


def new_link() -> LinkKey:
    return LinkKey(
        link_id=b64url(secrets.token_bytes(LINK_ID_BYTES)),
        private_key=ec.generate_private_key(CURVE),
    )


@dataclass(frozen=True)
class SealedPassword:
    """What the reveal answers: only the link's private key opens it."""

    ephemeral_public_key: bytes
    nonce: bytes
    ciphertext: bytes = field(repr=False)

    def to_json(self) -> dict[str, str]:
        return {
            "ephemeralPublicKey": b64url(self.ephemeral_public_key),
            "nonce": b64url(self.nonce),
            "ciphertext": b64url(self.ciphertext),
        }

    @classmethod
    def from_json(cls, value: dict[str, str]) -> SealedPassword:
        return cls(
            ephemeral_public_key=b64url_decode(value["ephemeralPublicKey"]),
            nonce=b64url_decode(value["nonce"]),
            ciphertext=b64url_decode(value["ciphertext"]),
        )


def link_aes_key(shared_secret: bytes, link_id: str) -> bytes:
    """HKDF-SHA256 of the ECDH shared secret, bound to the link by its ID."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=link_id.encode("utf-8"),
        info=HKDF_INFO,
    ).derive(shared_secret)


def seal(password: str, *, link_id: str, public_point: bytes) -> SealedPassword:
    """Encrypt `password` to the link's public key; raises ValueError for a bad point."""
    recipient = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, public_point)
    ephemeral = ec.generate_private_key(CURVE)
    key = link_aes_key(ephemeral.exchange(ec.ECDH(), recipient), link_id)
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, password.encode("utf-8"), link_id.encode("utf-8"))
    return SealedPassword(uncompressed_point(ephemeral.public_key()), nonce, ciphertext)
