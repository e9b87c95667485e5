"""Request parsing: each caller mistake becomes a clear error naming the field."""

from __future__ import annotations

import json
import re

import azure.functions as func
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import DomainError, PayloadTooLarge, UnsupportedMediaType
from tests.unit.helpers import CUSTOMER, PASSWORD, USER, errors_of, parsed_order, request


def test_a_minimal_body_defaults_force_change_to_true() -> None:
    parsed = parsed_order(request())
    assert parsed.password is not None
    assert parsed.password.get_secret_value() == PASSWORD
    assert parsed.force_change_password is True
    assert parsed.ticket_id is None
    assert parsed.dry_run is False


def test_guids_are_normalised_to_lower_case() -> None:
    parsed = parsed_order(request(customer=CUSTOMER.upper(), user=USER.upper()))
    assert (parsed.customer.tenant_id, parsed.user.object_id) == (CUSTOMER, USER)


def test_route_values_are_read_from_the_url_when_route_params_are_absent() -> None:
    req = func.HttpRequest(
        method="POST",
        url=f"http://localhost/api/customers/{CUSTOMER}/users/{USER}/resetpassword?dryRun=true",
        headers={},
        body=json.dumps({"password": PASSWORD}).encode(),
    )
    parsed = parsed_order(req)
    assert (parsed.customer.tenant_id, parsed.user.object_id, parsed.dry_run) == (
        CUSTOMER,
        USER,
        True,
    )


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", None]
)
def test_json_or_no_content_type_is_accepted(content_type: str | None) -> None:
    req = request()
    headers = {} if content_type is None else {"Content-Type": content_type}
    req = func.HttpRequest(
        method="POST",
        url=req.url,
        headers=headers,
        route_params=dict(req.route_params),
        body=req.get_body(),
    )
    parsed_order(req)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_another_content_type_is_415(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        parsed_order(request(headers={"Content-Type": content_type}))


def test_a_body_over_16_kib_is_413() -> None:
    big = json.dumps({"password": PASSWORD, "ticketId": "x" * 17000})
    with pytest.raises(PayloadTooLarge):
        parsed_order(request(big))


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        (b"{not json", "body", "not valid JSON"),
        (b"[]", "body", "JSON object"),
        (b"null", "body", "JSON object"),
        (b"", "body", "required"),
        ({"forceChangePassword": True}, "password", "required"),
        ({"password": 12345678}, "password", "string"),
        (
            {"password": PASSWORD, "forceChangePassword": "yes"},
            "forceChangePassword",
            "true or false",
        ),
        ({"password": PASSWORD, "ticketId": "x" * 65}, "ticketId", "1 to 64"),
        ({"password": PASSWORD, "ticketId": ""}, "ticketId", "1 to 64"),
        ({"password": PASSWORD, "admin": True}, "admin", "not a known field"),
        ({"password": "short1A"}, "password", "8 to 256"),
        ({"password": "alllowercase"}, "password", "at least 3"),
        ({"password": "Pässwört-123"}, "password", "only the characters"),
    ],
)
def test_body_mistakes_name_the_field_and_rule(
    body: bytes | dict[str, object], field: str, fragment: str
) -> None:
    assert fragment in errors_of(request(body))[field]


@pytest.mark.parametrize("value", ["not-a-guid", "contoso .com", "", CUSTOMER + "x"])
def test_a_customer_that_is_neither_a_guid_nor_a_domain_is_named(value: str) -> None:
    assert "customer" in errors_of(request(customer=value))


def test_path_and_body_problems_come_in_one_answer() -> None:
    errors = errors_of(request({"password": "x"}, user="nope"))
    assert set(errors) == {"user", "password"}


@pytest.mark.parametrize("key", ["", "x" * 129, "caf\u00e9", "tab\there"])
def test_a_malformed_idempotency_key_is_400(key: str) -> None:
    assert "Idempotency-Key" in errors_of(request(headers={"Idempotency-Key": key}))


def test_dry_run_must_be_a_boolean() -> None:
    assert "dryRun" in errors_of(request(params={"dryRun": "perhaps"}))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    tail=st.text(max_size=40),
    extra=st.dictionaries(
        st.sampled_from(["forceChangePassword", "ticketId", "unknown", "password2"]),
        json_values,
        max_size=3,
    ),
)
def test_errors_never_contain_the_password(tail: str, extra: dict[str, object]) -> None:
    password = "Cx7-canary-" + tail
    body = {"password": password, **extra}
    try:
        parsed_order(request(body))
    except DomainError as error:
        text = json.dumps([error.detail, error.errors, str(error), repr(error)])
        assert password not in text
        assert json.dumps(password)[1:-1] not in text


PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.$-]{1,64}$")
KNOWN_BODY_FIELDS = {
    "password",
    "delivery",
    "requestedBy",
    "forceChangePassword",
    "ticketId",
    "revokeSessions",
}


@given(key=st.text(max_size=70).filter(lambda key: key not in KNOWN_BODY_FIELDS))
def test_an_unknown_body_key_is_named_as_sent_only_when_plainly_a_name(key: str) -> None:
    errors = errors_of(request({"password": PASSWORD, key: 1}))
    shown = key if PLAIN_NAME.fullmatch(key) else "(unknown field)"
    assert list(errors) == [shown]


@given(name=st.text(min_size=1, max_size=70).filter(lambda n: n not in {"dryRun"}))
def test_an_unknown_query_parameter_is_named_as_sent_only_when_plainly_a_name(name: str) -> None:
    if name.lower() == "code":
        return
    errors = errors_of(request(params={name: "true"}))
    shown = name if PLAIN_NAME.fullmatch(name) else "(unknown field)"
    assert list(errors) == [shown]
