"""One sign-in's single-use values: the PKCE verifier, `state` and the OpenID `nonce`."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Proof:
    # The verifier proves at the token endpoint that whoever redeems the code started the
    # sign-in; it must stay in this process (repr=False keeps it out of tracebacks).
    verifier: str = field(repr=False)
    state: str
    nonce: str

    @property
    def challenge(self) -> str:
        """S256 code challenge (RFC 7636 section 4.2), safe to put in the sign-in URL."""
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_proof() -> Proof:
    # 64 random bytes give an 86-character verifier, inside RFC 7636's 43-128.
    return Proof(
        verifier=secrets.token_urlsafe(64),
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
    )
