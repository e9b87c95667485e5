"""MS-RequestId derivation: stable for a key and password, never revealing the password."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from reset_password.idempotency import derive_request_id

CUSTOMER = "0b5e0c4a-8f1d-4c3b-9a2e-1f6d7c8b9a01"
USER = "5f2d7a1c-3b4e-4d6f-8a9b-0c1d2e3f4a5b"
KEY = b"k" * 32
PASSWORD = SecretStr("Canary#Pw-7f3a9c")


def derive(**changes: object) -> uuid.UUID:
    arguments: dict[str, object] = {
        "hmac_key": KEY,
        "caller": "app",
        "customer": CUSTOMER,
        "user": USER,
        "idempotency_key": "k-1",
        "password": PASSWORD,
    }
    arguments.update(changes)
    return derive_request_id(**arguments)  # type: ignore[arg-type]


def test_the_same_key_and_password_give_the_same_request_id() -> None:
    assert derive() == derive(customer=CUSTOMER.upper())


def test_another_caller_key_or_target_gives_another_request_id() -> None:
    first = derive()
    assert first != derive(caller="other")
    assert first != derive(idempotency_key="k-2")
    assert first != derive(user=CUSTOMER)


def test_the_same_key_with_another_password_gives_another_request_id() -> None:
    assert derive() != derive(password=SecretStr("Another#Pw-1234"))


def test_the_request_id_depends_on_the_functions_own_secret() -> None:
    # Without the key nobody can test guesses of the password against a logged ID.
    assert derive() != derive(hmac_key=b"x" * 32)


def test_without_an_idempotency_key_every_request_gets_a_new_id() -> None:
    ids = {derive(idempotency_key=None) for _ in range(3)}
    assert len(ids) == 3


@given(st.text(min_size=1, max_size=64))
def test_the_request_id_never_spells_the_password(password: str) -> None:
    request_id = derive(password=SecretStr(password))
    assert password not in str(request_id) or len(password) <= 2
