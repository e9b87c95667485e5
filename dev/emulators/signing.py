"""RSA signing keys published as a JWKS, and JWT minting (including deliberately bad JWTs)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey = field(repr=False)
    certificate_der: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emulated-signing-key")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        der = certificate.public_bytes(serialization.Encoding.DER)
        # Entra's kid is the certificate's SHA-1 thumbprint, as is x5t.
        thumbprint = b64url(hashlib.sha1(der).digest())  # noqa: S324
        return cls(kid=thumbprint, private_key=key, certificate_der=der)

    @property
    def public_key_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self, issuer: str | None = None) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        entry: dict[str, Any] = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _uint(numbers.n),
            "e": _uint(numbers.e),
            "x5c": [base64.b64encode(self.certificate_der).decode("ascii")],
        }
        if issuer is not None:
            entry["issuer"] = issuer
        return entry


def encode_jwt(
    claims: dict[str, Any],
    *,
    key: SigningKey | bytes | str | None,
    algorithm: str,
    headers: dict[str, Any],
) -> str:
    """Sign `claims`; HMAC and "none" are done by hand because PyJWT rightly refuses them
    with an RSA public key, which is exactly the forgery tests need to produce."""
    header = {k: v for k, v in headers.items() if v is not None}
    if algorithm.upper().startswith("HS") or algorithm.lower() == "none":
        return _encode_by_hand(claims, key=key, algorithm=algorithm, header=header)
    if not isinstance(key, SigningKey):
        raise TypeError(f"{algorithm} needs a SigningKey")
    return jwt.encode(claims, key.private_key, algorithm=algorithm, headers=header)


def _encode_by_hand(
    claims: dict[str, Any],
    *,
    key: SigningKey | bytes | str | None,
    algorithm: str,
    header: dict[str, Any],
) -> str:
    full_header = {"alg": algorithm, "typ": "JWT", **header}
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (full_header, claims)
    )
    if algorithm.lower() == "none":
        return signing_input + "."
    if isinstance(key, SigningKey):
        secret = key.public_key_pem
    elif isinstance(key, str):
        secret = key.encode()
    elif key is None:
        raise TypeError("HMAC signing needs a secret")
    else:
        secret = key
    digests = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    digest = digests[algorithm.upper()]
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"
