"""One-time link keys and the envelope (contract 1c), checked against the contract's
encodings: any client that follows the contract must open what the function seals."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from dev.link_client import open_sealed
from secret_links.crypto import (
    HKDF_INFO,
    SealedPassword,
    b64url,
    b64url_decode,
    is_link_id,
    new_link,
    seal,
)

passwords = st.text(min_size=1, max_size=256)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf_sha256(secret: bytes, *, salt: bytes, info: bytes) -> bytes:
    # RFC 5869 written out with the standard library: an independent check of the
    # salt and info the function feeds to cryptography's HKDF.
    prk = hmac.new(salt, secret, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def test_the_hkdf_info_is_the_contracts() -> None:
    assert HKDF_INFO == b"partner-password-reset link v1"


def test_a_link_id_is_16_random_bytes_in_base64url_without_padding() -> None:
    link = new_link()
    assert len(link.link_id) == 22
    assert "=" not in link.link_id
    assert len(_unb64(link.link_id)) == 16
    assert is_link_id(link.link_id)
    assert new_link().link_id != link.link_id


def test_the_key_is_d_then_x_then_y_32_bytes_each() -> None:
    link = new_link()
    raw = _unb64(link.key_text)
    assert len(raw) == 96
    assert "=" not in link.key_text
    private = ec.derive_private_key(int.from_bytes(raw[:32], "big"), ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    assert raw[32:64] == numbers.x.to_bytes(32, "big")
    assert raw[64:] == numbers.y.to_bytes(32, "big")
    assert link.public_point == b"\x04" + raw[32:]


def test_the_links_url_carries_the_key_only_in_its_fragment() -> None:
    link = new_link()
    url = link.url("https://reset.contoso.com")
    assert url == f"https://reset.contoso.com/api/secrets/{link.link_id}#{link.key_text}"
    assert url.count("#") == 1 and link.key_text not in url.split("#")[0]


def test_the_key_does_not_show_in_the_links_repr() -> None:
    link = new_link()
    assert link.key_text not in repr(link)
    assert str(link.private_key.private_numbers().private_value) not in repr(link)


@given(passwords)
def test_a_sealed_password_opens_with_the_links_key(password: str) -> None:
    link = new_link()
    sealed = seal(password, link_id=link.link_id, public_point=link.public_point)
    assert open_sealed(sealed, link_id=link.link_id, key_text=link.key_text) == password


@given(passwords)
def test_the_reveal_answer_round_trips_through_json(password: str) -> None:
    link = new_link()
    sealed = seal(password, link_id=link.link_id, public_point=link.public_point)
    assert SealedPassword.from_json(sealed.to_json()) == sealed


def test_the_envelopes_parts_have_the_contracts_sizes() -> None:
    link = new_link()
    answer = seal("Abc-123-xyz!", link_id=link.link_id, public_point=link.public_point).to_json()
    assert set(answer) == {"ephemeralPublicKey", "nonce", "ciphertext"}
    assert all("=" not in value for value in answer.values())
    ephemeral = _unb64(answer["ephemeralPublicKey"])
    assert len(ephemeral) == 65 and ephemeral[0] == 4
    assert len(_unb64(answer["nonce"])) == 12
    assert len(_unb64(answer["ciphertext"])) == len(b"Abc-123-xyz!") + 16


def test_every_seal_draws_a_fresh_ephemeral_key_and_nonce() -> None:
    link = new_link()
    first = seal("same", link_id=link.link_id, public_point=link.public_point)
    second = seal("same", link_id=link.link_id, public_point=link.public_point)
    assert first.ephemeral_public_key != second.ephemeral_public_key
    assert first.nonce != second.nonce


def test_the_function_seals_exactly_as_the_contract_says() -> None:
    # Opened here with the raw primitives and the contract's recipe, not our own code.
    link = new_link()
    password = "Grün-Tee 42!"
    sealed = seal(password, link_id=link.link_id, public_point=link.public_point)
    raw = _unb64(link.key_text)
    recipient = ec.derive_private_key(int.from_bytes(raw[:32], "big"), ec.SECP256R1())
    ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), sealed.ephemeral_public_key
    )
    shared = recipient.exchange(ec.ECDH(), ephemeral)
    key = _hkdf_sha256(shared, salt=link.link_id.encode(), info=b"partner-password-reset link v1")
    plain = AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, link.link_id.encode())
    assert plain.decode("utf-8") == password


def test_a_fixed_vector_built_with_the_raw_primitives_opens() -> None:
    # Every input fixed: recipient and ephemeral scalars, link ID, nonce. The vector is
    # computed here from the contract's recipe; the dev opener must read it.
    recipient = ec.derive_private_key(0x1F2E3D4C5B6A79881F2E3D4C5B6A7988, ec.SECP256R1())
    ephemeral = ec.derive_private_key(0xC0FFEE15600D, ec.SECP256R1())
    link_id = b64url(bytes(range(16)))
    assert link_id == "AAECAwQFBgcICQoLDA0ODw"
    numbers = recipient.public_key().public_numbers()
    key_text = b64url(
        recipient.private_numbers().private_value.to_bytes(32, "big")
        + numbers.x.to_bytes(32, "big")
        + numbers.y.to_bytes(32, "big")
    )
    shared = ephemeral.exchange(ec.ECDH(), recipient.public_key())
    aes_key = _hkdf_sha256(shared, salt=link_id.encode(), info=b"partner-password-reset link v1")
    nonce = bytes.fromhex("000102030405060708090a0b")
    ciphertext = AESGCM(aes_key).encrypt(nonce, b"Fixed-Vector-7!", link_id.encode())
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    sealed = SealedPassword.from_json(
        {
            "ephemeralPublicKey": b64url(point),
            "nonce": b64url(nonce),
            "ciphertext": b64url(ciphertext),
        }
    )
    assert open_sealed(sealed, link_id=link_id, key_text=key_text) == "Fixed-Vector-7!"


def test_another_links_id_does_not_open_the_password() -> None:
    link, other = new_link(), new_link()
    sealed = seal("secret-Pw-1", link_id=link.link_id, public_point=link.public_point)
    with pytest.raises(ValueError, match="does not open"):
        open_sealed(sealed, link_id=other.link_id, key_text=link.key_text)


def test_another_links_key_does_not_open_the_password() -> None:
    link, other = new_link(), new_link()
    sealed = seal("secret-Pw-1", link_id=link.link_id, public_point=link.public_point)
    with pytest.raises(ValueError, match="does not open"):
        open_sealed(sealed, link_id=link.link_id, key_text=other.key_text)


def test_a_key_whose_point_does_not_match_its_scalar_is_refused() -> None:
    link, other = new_link(), new_link()
    mixed = b64url(_unb64(link.key_text)[:32] + _unb64(other.key_text)[32:])
    sealed = seal("secret-Pw-1", link_id=link.link_id, public_point=link.public_point)
    with pytest.raises(ValueError, match="key"):
        open_sealed(sealed, link_id=link.link_id, key_text=mixed)


def test_a_public_point_that_is_not_on_the_curve_is_refused() -> None:
    with pytest.raises(ValueError):
        seal("x", link_id=new_link().link_id, public_point=b"\x04" + b"\x01" * 64)


@given(st.binary(min_size=0, max_size=64))
def test_base64url_round_trips(data: bytes) -> None:
    assert b64url_decode(b64url(data)) == data


@pytest.mark.parametrize(
    "text",
    ["AAECAwQFBgcICQoLDA0ODw==", "AAECAwQFBgcICQoLDA0OD", "AAEC+wQF", "AAEC/wQF", "A", "AB C"],
)
def test_base64url_refuses_padding_other_alphabets_and_odd_lengths(text: str) -> None:
    with pytest.raises(ValueError):
        b64url_decode(text)


def test_base64url_refuses_a_non_canonical_last_character() -> None:
    # "AAECAwQFBgcICQoLDA0ODx" carries bits past the 16th byte: not what we handed out.
    with pytest.raises(ValueError):
        b64url_decode("AAECAwQFBgcICQoLDA0ODx")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "AAECAwQFBgcICQoLDA0ODw=",
        "AAECAwQFBgcICQoLDA0OD",
        "AAECAwQFBgcICQoLDA0ODwA",
        "AAECAwQFBgcICQoLDA0OD.",
        "AAECAwQFBgcICQoLDA0ODx",
        "../../../../etc/passwd",
    ],
)
def test_is_link_id_refuses_every_other_shape(text: str) -> None:
    assert not is_link_id(text)
