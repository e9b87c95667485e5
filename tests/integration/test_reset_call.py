"""PARTNER_CENTER_RESET_CALL: which Partner Center call resets the password. The
current documentation's `PATCH .../users/{id}/resetpassword` by default; `users` sends
the older `PATCH .../users/{id}` (2017 documentation, .NET SDK, PowerShell) with the same
body and headers. Faults, retries and what never leaks are specified for both in
test_upstream_faults.py and test_resilience.py (the `reset_call` fixture)."""

from __future__ import annotations

import uuid

import pytest

from dev.emulators.samples import SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID, SAMPLE_USER_UPN
from tests.integration.conftest import CANARY_PASSWORD, Harness
from tests.integration.helpers import assert_problem, patched_paths

USER_PATH = f"/v1/customers/{SAMPLE_CUSTOMER_ID}/users/{SAMPLE_USER_ID}"
NEW_CALL = f"{USER_PATH}/resetpassword"


def test_by_default_the_reset_is_the_resetpassword_call(harness: Harness) -> None:
    assert harness.reset().status == 200
    assert patched_paths(harness) == [NEW_CALL]


def test_resetpassword_names_the_default_call(harness: Harness) -> None:
    harness.configure(PARTNER_CENTER_RESET_CALL="resetpassword")
    assert harness.reset().status == 200
    assert patched_paths(harness) == [NEW_CALL]


def test_users_sends_the_older_patch_of_the_user(harness: Harness) -> None:
    harness.configure(PARTNER_CENTER_RESET_CALL="users")

    answer = harness.reset()

    assert answer.status == 200
    assert patched_paths(harness) == [USER_PATH]
    assert harness.stack.partner_center.current_password(SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID) == (
        CANARY_PASSWORD
    )


def test_both_calls_send_the_same_body_and_headers(harness: Harness) -> None:
    correlation = str(uuid.uuid4())
    sent = {}
    for call in ("resetpassword", "users"):
        harness.configure(PARTNER_CENTER_RESET_CALL=call, PROTECTED_ROLE_GUARD="false")
        harness.stack.partner_center.clear_requests()
        harness.reset(
            {"password": CANARY_PASSWORD, "forceChangePassword": False},
            headers={"x-correlation-id": correlation, "Idempotency-Key": "INC1"},
        )
        [patch] = [r for r in harness.stack.partner_center.requests if r.method == "PATCH"]
        sent[call] = patch

    old, new = sent["users"], sent["resetpassword"]
    assert (
        old.json()
        == new.json()
        == {
            "passwordProfile": {"password": CANARY_PASSWORD, "forceChangePassword": False},
            "attributes": {"objectType": "CustomerUser"},
        }
    )
    for name in ("accept", "content-type", "ms-correlationid", "ms-contract-version"):
        assert old.headers[name] == new.headers[name], name
    assert old.headers["authorization"].startswith("Bearer ")
    # Same caller, customer, user, key and password: the same reset for Partner Center.
    assert old.headers["ms-requestid"] == new.headers["ms-requestid"]


def test_the_older_call_answers_the_same_fields(harness: Harness) -> None:
    harness.configure(PARTNER_CENTER_RESET_CALL="users")

    body = harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC9"}).json

    assert body["status"] == "succeeded"
    assert (body["customerTenantId"], body["userId"]) == (SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)
    assert body["userPrincipalName"] == SAMPLE_USER_UPN
    assert body["ticketId"] == "INC9"


def test_the_older_call_works_with_names_and_the_guard(harness: Harness) -> None:
    harness.configure(PARTNER_CENTER_RESET_CALL="users")

    answer = harness.reset(customer="contoso.com", user=SAMPLE_USER_UPN)

    assert answer.status == 200
    assert patched_paths(harness) == [USER_PATH]


def test_a_dry_run_sends_no_patch_with_either_call(harness: Harness) -> None:
    harness.configure(PARTNER_CENTER_RESET_CALL="users")

    assert harness.reset(params={"dryRun": "true"}).json["status"] == "validated"
    assert patched_paths(harness) == []


@pytest.mark.parametrize("value", ["Users", "USERS", "user", "reset-password", " users"])
def test_another_value_is_a_configuration_error_naming_the_setting(
    harness: Harness, value: str
) -> None:
    harness.configure(PARTNER_CENTER_RESET_CALL=value)

    problem = assert_problem(harness.reset(), 500, "configuration_error")

    assert "PARTNER_CENTER_RESET_CALL" in problem["detail"]
    assert harness.stack.partner_center.requests == []


def test_a_bad_value_is_never_quoted_in_the_answer_or_the_log(harness: Harness) -> None:
    harness.configure(PARTNER_CENTER_RESET_CALL="bogus-Value-7c1f")

    answer = harness.reset()

    assert answer.status == 500
    harness.assert_nothing_leaked("bogus-Value-7c1f")
