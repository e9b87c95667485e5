"""Mistakes a caller can make: a clear problem answer, and nothing changes upstream."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import CANARY_PASSWORD, Harness
from tests.integration.helpers import assert_problem


def assert_nothing_sent_upstream(harness: Harness) -> None:
    assert harness.stack.partner_center.requests == []
    assert harness.stack.partner_center.applied_resets == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"password": ', "body"),
        (b"[]", "body"),
        (b"null", "body"),
        (b"", "body"),
        ({"password": 123}, "password"),
        ({"password": CANARY_PASSWORD, "forceChangePassword": "false"}, "forceChangePassword"),
        ({"password": CANARY_PASSWORD, "role": "admin"}, "role"),
        ({"password": "weakpassword"}, "password"),
        ({"password": "Canary#Pw-\u00e9t\u00e9"}, "password"),
        ({"password": CANARY_PASSWORD, "ticketId": "T" * 65}, "ticketId"),
    ],
)
def test_a_bad_body_is_400_naming_the_field(
    harness: Harness, body: dict[str, Any] | bytes, field: str
) -> None:
    problem = assert_problem(harness.reset(body), 400, "invalid_request")
    assert field in {e["field"] for e in problem["errors"]}
    assert_nothing_sent_upstream(harness)


def test_a_weak_password_names_the_rule_not_the_value(harness: Harness) -> None:
    problem = assert_problem(harness.reset({"password": "aaaaaaaaaaaa"}), 400, "invalid_request")
    [error] = problem["errors"]
    assert "at least 3 of these 4 kinds" in error["message"]
    assert "aaaaaaaaaaaa" not in json.dumps(problem)


def test_a_17_kib_body_is_413(harness: Harness) -> None:
    body = json.dumps({"password": CANARY_PASSWORD, "ticketId": "x" * 17 * 1024}).encode()
    assert_problem(harness.reset(body), 413, "payload_too_large")
    assert_nothing_sent_upstream(harness)


def test_a_form_body_is_415(harness: Harness) -> None:
    answer = harness.reset(
        b"password=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_problem(answer, 415, "unsupported_media_type")
    assert_nothing_sent_upstream(harness)


@pytest.mark.parametrize(
    ("customer", "user"),
    [
        ("contoso", "0f3c2a1b-5d4e-4f6a-8b7c-9d0e1f2a3b4c"),
        ("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "ada"),
    ],
)
def test_a_path_value_that_is_not_a_guid_is_400(harness: Harness, customer: str, user: str) -> None:
    problem = assert_problem(harness.reset(customer=customer, user=user), 400, "invalid_request")
    assert {e["field"] for e in problem["errors"]} & {"customer", "user"}
    assert_nothing_sent_upstream(harness)


def test_a_malformed_idempotency_key_is_400(harness: Harness) -> None:
    answer = harness.reset(headers={"Idempotency-Key": "x" * 129})
    problem = assert_problem(answer, 400, "invalid_request")
    assert problem["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize("value", [" true", "true ", "\tfalse", "false\u00a0"])
def test_a_dry_run_padded_with_whitespace_is_400_naming_it(harness: Harness, value: str) -> None:
    problem = assert_problem(harness.reset(params={"dryRun": value}), 400, "invalid_request")
    assert "dryRun" in {e["field"] for e in problem["errors"]}
    assert_nothing_sent_upstream(harness)


def test_bad_input_is_refused_before_key_vault_is_read(harness: Harness) -> None:
    harness.reset({"password": "short"})
    assert harness.stack.key_vault.requests == []
    assert harness.stack.identity.requests == []


def test_missing_settings_answer_500_naming_them(harness: Harness) -> None:
    harness.configure(KEY_VAULT_URL=None)
    problem = assert_problem(harness.reset(), 500, "configuration_error")
    assert "KEY_VAULT_URL" in problem["detail"]


def test_an_unexpected_error_is_a_500_without_internals(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: Any, order: Any, *args: Any) -> None:
        raise RuntimeError(f"internal state {order.password.get_secret_value()}")

    monkeypatch.setattr("reset_password.service.ResetService._reset_user", explode)
    problem = assert_problem(harness.reset(), 500, "internal_error")
    assert "RuntimeError" not in problem["detail"]
    assert "internal state" not in json.dumps(problem)


body_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    extra=st.dictionaries(
        st.sampled_from(["forceChangePassword", "ticketId", "passwordProfile", "x"]),
        body_values,
        max_size=3,
    ),
    password_suffix=st.text(max_size=20),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/json; charset=utf-8"]
    ),
)
def test_bad_requests_never_answer_500_or_leak_the_password(
    harness: Harness, extra: dict[str, Any], password_suffix: str, content_type: str
) -> None:
    password = CANARY_PASSWORD + password_suffix
    answer = harness.reset({"password": password, **extra}, headers={"Content-Type": content_type})
    assert answer.status < 500
    text = answer.raw.decode() + json.dumps(answer.headers)
    assert CANARY_PASSWORD not in text


@pytest.mark.parametrize("name", ["code", "Code", "CODE"])
def test_the_hosts_key_parameter_in_any_letter_case_is_no_unknown_parameter(
    harness: Harness, name: str
) -> None:
    # The host reads its key parameter in any letter case, so each reaches the function.
    answer = harness.reset(params={name: "host-key", "dryRun": "true"})
    assert answer.status == 200
    assert answer.json["status"] == "validated"
