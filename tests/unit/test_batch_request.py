"""The batch request's validation (contract 1d), without storage: every entry checked,
each bad one named `users[i]`, repeats named with the entry they repeat, a password
refused and never shown, whatever else the body holds."""

from __future__ import annotations

import json
import uuid
from typing import Any

import azure.functions as func
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reset_batches.request import MAX_USERS, parse_batch_order
from shared.errors import InvalidRequest
from tests.budget import examples

CUSTOMER = "c0a1b2c3-d4e5-4f60-8a71-b2c3d4e5f601"


def request(body: Any, *, customer: str = CUSTOMER) -> func.HttpRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.HttpRequest(
        method="POST",
        url=f"http://localhost/api/customers/{customer}/resetpasswords",
        headers={"content-type": "application/json"},
        route_params={"customer": customer},
        body=raw,
    )


def refusal(body: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as raised:
        parse_batch_order(request(body))
    return raised.value


def fields(error: InvalidRequest) -> list[str]:
    return [entry["field"] for entry in error.errors or []]


def object_ids(count: int) -> list[str]:
    return [str(uuid.UUID(int=index + 1, version=4)) for index in range(count)]


def test_a_thousand_users_are_one_batch() -> None:
    order = parse_batch_order(request({"users": object_ids(MAX_USERS), "delivery": "none"}))
    assert len(order.users) == MAX_USERS


def test_a_thousand_and_one_are_refused() -> None:
    error = refusal({"users": object_ids(MAX_USERS + 1), "delivery": "none"})
    assert fields(error) == ["users"]


def test_upns_and_object_ids_keep_their_text_as_sent() -> None:
    sent = ["Ada@Contoso.com", "A11CE000-0000-4000-8000-00000000ADA1"]
    order = parse_batch_order(request({"users": sent, "delivery": "link"}))
    assert [user.sent for user in order.users] == sent
    assert [user.ref.requested for user in order.users] == [s.lower() for s in sent]
    assert order.customer.tenant_id == CUSTOMER
    assert order.revoke_sessions is False and order.ticket_id is None


def test_a_guests_upn_passes_syntax_here_and_is_refused_per_user_later() -> None:
    # The single reset refuses a guest by its name without a call: the worker does too.
    sent = ["ada_fabrikam.com#EXT#@contoso.onmicrosoft.com"]
    assert parse_batch_order(request({"users": sent, "delivery": "none"})).users


_GOOD = st.uuids(version=4).map(str) | st.from_regex(r"\A[a-z]{1,12}@[a-z]{1,12}\.com\Z")
_BAD = st.one_of(
    st.integers(),
    st.none(),
    st.booleans(),
    st.text(max_size=20).filter(lambda text: "@" not in text and len(text) != 36),
    st.lists(st.integers(), max_size=2),
)


# Each example validates a list of up to 35 entries: a quarter of the profile's examples.
@settings(max_examples=examples(0.25))
@given(
    good=st.lists(_GOOD, min_size=1, max_size=30, unique_by=str.lower),
    bad=st.lists(_BAD, min_size=1, max_size=5),
    data=st.data(),
)
def test_every_bad_entry_and_only_those_are_named_by_index(
    good: list[str], bad: list[Any], data: st.DataObject
) -> None:
    sent: list[Any] = list(good)
    positions: list[int] = []
    for entry in bad:
        position = data.draw(st.integers(0, len(sent)))
        sent.insert(position, entry)
        positions = [p + 1 if p >= position else p for p in positions] + [position]
    error = refusal({"users": sent, "delivery": "none"})
    assert sorted(fields(error)) == sorted(f"users[{p}]" for p in positions)


@settings(max_examples=examples(0.25))
@given(users=st.lists(_GOOD, min_size=1, max_size=20, unique_by=str.lower), data=st.data())
def test_a_repeat_in_any_letter_case_names_the_first_entry(
    users: list[str], data: st.DataObject
) -> None:
    original = data.draw(st.integers(0, len(users) - 1))
    position = data.draw(st.integers(original + 1, len(users)))
    sent = [*users[:position], users[original].upper(), *users[position:]]
    error = refusal({"users": sent, "delivery": "none"})
    assert error.errors == [
        {"field": f"users[{position}]", "message": f"repeats users[{original}]"}
    ]


@given(
    password=st.text(min_size=8, max_size=40).filter(lambda text: text.strip() == text),
    extra=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=3),
)
def test_a_password_is_refused_and_never_echoed(password: str, extra: dict[str, str]) -> None:
    body = {**extra, "users": object_ids(1), "delivery": "link", "password": password}
    error = refusal(body)
    assert "password" in fields(error)
    shown = json.dumps({"detail": error.detail, "errors": error.errors}, ensure_ascii=False)
    assert password not in shown


@given(name=st.text(min_size=1, max_size=80))
def test_an_unknown_field_is_named_only_when_plainly_a_name(name: str) -> None:
    known = {"users", "delivery", "revokeSessions", "ticketId", "requestedBy", "password"}
    if name in known:
        return
    error = refusal({"users": object_ids(1), "delivery": "none", name: 1})
    (shown,) = fields(error)
    plain = len(name) <= 64 and all(c.isascii() and (c.isalnum() or c in "_.$-") for c in name)
    assert shown == (name if plain else "(unknown field)")
