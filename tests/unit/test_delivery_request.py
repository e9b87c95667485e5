"""The reset body with `delivery` and `requestedBy` (contract 1 and 1c): the function
generates the password, so the caller sends none; who asked is audited and echoed."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reset_password.models import Delivery
from reset_password.records import CallerPassword, GeneratedPassword
from tests.unit.helpers import PASSWORD, errors_of, parsed_order, request

REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


@pytest.mark.parametrize("delivery", ["link", "none"])
def test_a_delivery_without_a_password_orders_a_generated_one(delivery: Delivery) -> None:
    order = parsed_order(request({"delivery": delivery}))

    assert order.source == GeneratedPassword(delivery)
    assert order.password is None


def test_a_password_alone_is_the_callers_own() -> None:
    order = parsed_order(request({"password": PASSWORD}))

    assert isinstance(order.source, CallerPassword)
    assert order.source.password.get_secret_value() == PASSWORD


@pytest.mark.parametrize("delivery", ["link", "none"])
def test_a_password_with_a_delivery_is_refused_naming_the_rule(delivery: str) -> None:
    errors = errors_of(request({"password": PASSWORD, "delivery": delivery}))

    assert "absent" in errors["password"] and "delivery" in errors["password"]


def test_neither_password_nor_delivery_is_refused_naming_the_rule() -> None:
    errors = errors_of(request({"ticketId": "INC1"}))

    assert errors == {"password": "password is required unless delivery is given"}


@pytest.mark.parametrize("value", ["LINK", "email", "", 1, True, ["link"]])
def test_delivery_is_link_or_none_and_nothing_else(value: object) -> None:
    errors = errors_of(request({"delivery": value}))

    assert errors["delivery"] == 'must be "link" or "none"'


def test_a_delivery_forces_a_change_at_next_sign_in() -> None:
    order = parsed_order(request({"delivery": "link", "forceChangePassword": False}))

    assert order.force_change_password is True


def test_a_callers_password_keeps_its_force_change_choice() -> None:
    order = parsed_order(request({"password": PASSWORD, "forceChangePassword": False}))

    assert order.force_change_password is False


@pytest.mark.parametrize("delivery", ["link", "none"])
def test_an_idempotency_key_with_a_delivery_is_refused(delivery: str) -> None:
    errors = errors_of(request({"delivery": delivery}, headers={"Idempotency-Key": "INC1-1"}))

    assert list(errors) == ["Idempotency-Key"]
    assert "delivery" in errors["Idempotency-Key"]


def test_the_unknown_field_message_lists_every_allowed_field() -> None:
    message = errors_of(request({"password": PASSWORD, "mail": "x"}))["mail"]

    for name in (
        "password",
        "delivery",
        "requestedBy",
        "forceChangePassword",
        "ticketId",
        "revokeSessions",
    ):
        assert name in message


def test_requested_by_is_read_into_the_order() -> None:
    body: dict[str, object] = {"delivery": "none", "requestedBy": "Grace Hopper (manager)"}
    order = parsed_order(request(body))

    assert order.requested_by == "Grace Hopper (manager)"


def test_requested_by_is_absent_unless_sent() -> None:
    assert parsed_order(request()).requested_by is None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("", "1 to 128"), ("x" * 129, "1 to 128"), (7, "string"), ("a\u202eb", "control")],
)
def test_requested_by_mistakes_name_the_field_and_rule(value: object, fragment: str) -> None:
    errors = errors_of(request({"password": PASSWORD, "requestedBy": value}))

    assert fragment in errors["requestedBy"]


@given(st.text(min_size=1, max_size=140))
def test_requested_by_is_accepted_exactly_when_1_to_128_plain_characters(value: str) -> None:
    plain = not any(unicodedata.category(char) in REFUSED_CATEGORIES for char in value)
    body: dict[str, object] = {"password": PASSWORD, "requestedBy": value}
    if plain and len(value) <= 128:
        assert parsed_order(request(body)).requested_by == value
    else:
        assert "requestedBy" in errors_of(request(body))
