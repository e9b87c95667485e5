"""Upstream faults: each gets the contract's status, inside the deadline, leaking nothing."""

from __future__ import annotations

import socket
import time
import uuid

import pytest

from dev.emulators.faults import Disconnect, Hang, RawBody, Status
from dev.emulators.samples import (
    NO_GDAP_CUSTOMER_ID,
    NO_GDAP_USER_ID,
    SAMPLE_CUSTOMER_ID,
)
from tests.integration.conftest import Harness, ResetCall
from tests.integration.helpers import assert_problem


def closed_port_url(scheme: str) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}"


# Most faults here concern the reset call itself; the guard's reads have their own tests.
pytestmark = pytest.mark.usefixtures("guard_off")


def test_an_unknown_customer_is_404_customer_not_found(
    harness: Harness, reset_call: ResetCall
) -> None:
    assert_problem(harness.reset(customer=str(uuid.uuid4())), 404, "customer_not_found")


def test_an_unknown_user_is_404_user_not_found(harness: Harness, reset_call: ResetCall) -> None:
    assert_problem(harness.reset(user=str(uuid.uuid4())), 404, "user_not_found")


def test_a_404_without_a_code_is_told_apart_by_reading_the_customer(
    harness: Harness, reset_call: ResetCall
) -> None:
    reset_call.inject(harness, Status(404, {"description": "gone"}))
    assert_problem(harness.reset(), 404, "user_not_found")
    assert harness.stack.partner_center.requests_to("GET", f"/v1/customers/{SAMPLE_CUSTOMER_ID}$")


def test_a_404_code_given_as_a_string_is_understood(
    harness: Harness, reset_call: ResetCall
) -> None:
    reset_call.inject(harness, Status(404, {"code": "60003", "description": "Tenant not found"}))
    assert_problem(harness.reset(), 404, "customer_not_found")


def test_a_customer_without_gdap_is_403_partner_forbidden_with_a_hint(
    harness: Harness, reset_call: ResetCall
) -> None:
    problem = assert_problem(
        harness.reset(customer=NO_GDAP_CUSTOMER_ID, user=NO_GDAP_USER_ID), 403, "partner_forbidden"
    )
    assert "User Administrator" in problem["detail"]
    assert "Privileged Authentication Administrator" in problem["detail"]


def test_a_400_from_partner_center_is_a_400_for_the_caller(
    harness: Harness, reset_call: ResetCall
) -> None:
    reset_call.inject(harness, Status(400, {"code": 3000, "description": "Password policy"}))
    assert_problem(harness.reset(), 400, "invalid_request")


def test_one_401_gets_a_fresh_token_and_one_retry(harness: Harness, reset_call: ResetCall) -> None:
    reset_call.inject(harness, Status(401, {"code": 800001}))
    assert harness.reset().status == 200
    assert harness.stack.identity.exchanges == 2
    patches = reset_call.patches(harness)
    assert len(patches) == 2
    assert patches[0].headers["ms-requestid"] == patches[1].headers["ms-requestid"]
    assert patches[0].headers["authorization"] != patches[1].headers["authorization"]


def test_a_second_401_is_partner_credentials_invalid(
    harness: Harness, reset_call: ResetCall
) -> None:
    reset_call.inject(harness, Status(401, {"code": 800001}), times=2)
    assert_problem(harness.reset(), 503, "partner_credentials_invalid")


def test_throttling_then_success_waits_retry_after_and_keeps_the_request_id(
    harness: Harness, reset_call: ResetCall
) -> None:
    reset_call.inject(
        harness,
        Status(
            429, {"statusCode": 429, "message": "Rate limit is exceeded."}, {"Retry-After": "1"}
        ),
    )
    assert harness.reset().status == 200
    assert harness.clock.slept >= 1.0
    patches = reset_call.patches(harness)
    assert len(patches) == 2
    assert len({p.headers["ms-requestid"] for p in patches}) == 1


def test_throttling_past_the_deadline_is_429_with_retry_after(
    harness: Harness, reset_call: ResetCall
) -> None:
    harness.configure(RESET_DEADLINE_SECONDS="3")
    reset_call.inject(harness, Status(429, {"statusCode": 429}, {"Retry-After": "2"}), times=None)
    started = harness.clock.now()
    answer = harness.reset()
    assert_problem(answer, 429, "throttled")
    assert int(answer.headers["retry-after"]) >= 1
    assert harness.clock.now() - started < 3.5


def test_5xx_then_success_is_retried_with_the_same_request_id(
    harness: Harness, reset_call: ResetCall
) -> None:
    reset_call.inject(harness, Status(503), times=2)
    assert harness.reset().status == 200
    patches = reset_call.patches(harness)
    assert len(patches) == 3
    assert len({p.headers["ms-requestid"] for p in patches}) == 1


def test_persistent_500_is_502_upstream_error(harness: Harness, reset_call: ResetCall) -> None:
    reset_call.inject(harness, Status(500), times=None)
    assert_problem(harness.reset(), 502, "upstream_error")
    assert harness.stack.partner_center.applied_resets == []


def test_a_200_that_is_not_json_is_502(harness: Harness, reset_call: ResetCall) -> None:
    reset_call.inject(harness, RawBody(200, b"<html>oops"))
    assert_problem(harness.reset(), 502, "upstream_error")


def test_a_dropped_connection_is_retried(harness: Harness, reset_call: ResetCall) -> None:
    reset_call.inject(harness, Disconnect())
    assert harness.reset().status == 200
    assert len(reset_call.patches(harness)) == 2


def test_a_hang_is_504_inside_the_deadline(harness: Harness, reset_call: ResetCall) -> None:
    harness.reset()  # warm: the hang below concerns Partner Center alone
    harness.configure_route(RESET_DEADLINE_SECONDS="0.5")
    reset_call.inject(harness, Hang(30), times=None)
    started = time.monotonic()
    assert_problem(harness.reset(), 504, "upstream_timeout")
    assert time.monotonic() - started < 1.0


def test_an_unreachable_key_vault_is_503_with_retry_after(harness: Harness) -> None:
    harness.configure(KEY_VAULT_URL=closed_port_url("https"))
    answer = harness.reset()
    problem = assert_problem(answer, 503, "dependency_unavailable")
    assert "Key Vault" in problem["detail"]
    assert int(answer.headers["retry-after"]) > 0


def test_a_missing_secret_is_503_naming_the_secret(harness: Harness) -> None:
    harness.stack.key_vault.delete_secret("partner-center-app-secret")
    problem = assert_problem(harness.reset(), 503, "dependency_unavailable")
    assert "'partner-center-app-secret'" in problem["detail"]


def test_an_unreachable_managed_identity_endpoint_is_503(harness: Harness) -> None:
    harness.configure(IDENTITY_ENDPOINT=closed_port_url("http") + "/msi/token")
    assert_problem(harness.reset(), 503, "dependency_unavailable")


def test_an_unreachable_token_endpoint_is_503(harness: Harness) -> None:
    harness.configure(AUTHORITY_HOST=closed_port_url("http"))
    problem = assert_problem(harness.reset(), 503, "dependency_unavailable")
    assert "token endpoint" in problem["detail"]


@pytest.mark.parametrize("aadsts", [700082, 50173])
def test_a_rejected_refresh_token_is_503_partner_credentials_invalid(
    harness: Harness, aadsts: int
) -> None:
    harness.stack.identity.revoke_refresh_tokens(aadsts=aadsts)
    problem = assert_problem(harness.reset(), 503, "partner_credentials_invalid")
    assert f"AADSTS{aadsts}" in problem["detail"]
    assert "partner-center-refresh-token" in problem["detail"]
    assert harness.stack.partner_center.requests == []
