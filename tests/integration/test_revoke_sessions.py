"""`revokeSessions`: after the reset, the user's sign-in sessions are revoked through
Microsoft Graph with a token for the customer's tenant. A revocation that fails never
hides the reset: the answer stays 200 and says what to do."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from dev.emulators.faults import Delay, Disconnect, Hang, Status
from dev.emulators.graph import graph_error
from dev.emulators.samples import (
    SAMPLE_APP_ID,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
)
from shared.retry import RetryPolicy
from tests.integration.conftest import CANARY_PASSWORD, Answer, Harness
from tests.integration.helpers import assert_problem, audit_records

REVOKE = r"^/v1\.0/users/[^/]+/revokeSignInSessions$"
REVOKE_ASKED = {"password": CANARY_PASSWORD, "revokeSessions": True}


# The guard's reads say nothing about Graph; without them each reset is one PATCH.
pytestmark = pytest.mark.usefixtures("guard_off")


def graph_token_requests(harness: Harness, tenant_id: str = SAMPLE_CUSTOMER_ID) -> list[Any]:
    return harness.stack.identity.requests_to("POST", rf"^/{tenant_id}/oauth2/v2\.0/token$")


def revocations(harness: Harness) -> list[Any]:
    return harness.stack.graph.requests_to("POST", REVOKE)


def add_customer_with_user(harness: Harness) -> tuple[str, str]:
    tenant_id = str(uuid.uuid4())
    harness.stack.partner_center.add_customer(tenant_id, "Northwind", "northwind.example")
    user = harness.stack.partner_center.add_user(
        tenant_id, user_principal_name="nancy@northwind.example", first_name="N", last_name="D"
    )
    return tenant_id, user.id


def assert_not_revoked(answer: Answer) -> dict[str, Any]:
    """200 (the reset happened), sessionsRevoked false and one actionable warning."""
    assert answer.status == 200
    body = answer.json
    assert body["status"] == "succeeded"
    assert body["sessionsRevoked"] is False
    [warning] = body["warnings"]
    assert set(warning) == {"code", "detail"}
    assert warning["code"] == "sessions_not_revoked"
    assert "password was reset" in warning["detail"] or "User Administrator" in warning["detail"]
    return dict(warning)


# --- not asked ---------------------------------------------------------------------


def test_not_asked_answers_sessions_revoked_null_and_calls_nothing_at_graph(
    harness: Harness,
) -> None:
    answer = harness.reset()

    assert answer.status == 200
    assert answer.json["sessionsRevoked"] is None
    assert "warnings" not in answer.json
    assert harness.stack.graph.requests == []
    assert graph_token_requests(harness) == []


def test_revoke_sessions_false_is_the_same_as_not_asking(harness: Harness) -> None:
    answer = harness.reset({"password": CANARY_PASSWORD, "revokeSessions": False})

    assert answer.json["sessionsRevoked"] is None
    assert harness.stack.graph.requests == []


# --- asked ---------------------------------------------------------------------------


def test_asked_revokes_the_users_sessions_and_answers_true(harness: Harness) -> None:
    answer = harness.reset(REVOKE_ASKED)

    assert answer.status == 200
    assert answer.json["sessionsRevoked"] is True
    assert "warnings" not in answer.json
    [revoked] = harness.stack.graph.revocations
    assert (revoked.tenant_id, revoked.user_id) == (SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)


def test_the_graph_token_is_one_exchange_in_the_customers_tenant_for_graph(
    harness: Harness,
) -> None:
    harness.reset(REVOKE_ASKED)

    [exchange] = graph_token_requests(harness)
    form = exchange.form()
    assert form["grant_type"] == "refresh_token"
    assert form["scope"] == f"{harness.stack.graph.url}/.default"
    assert form["client_id"] == SAMPLE_APP_ID
    assert form["refresh_token"] in harness.stack.identity.current_refresh_tokens
    assert harness.stack.identity.graph_exchanges == [SAMPLE_CUSTOMER_ID]


def test_the_revocation_is_one_post_with_the_graph_token_after_the_reset(
    harness: Harness,
) -> None:
    harness.reset(REVOKE_ASKED)

    [post] = revocations(harness)
    assert post.path == f"/v1.0/users/{SAMPLE_USER_ID}/revokeSignInSessions"
    token = post.bearer_token()
    assert token is not None
    assert harness.stack.ledger.tenant_of(token) == SAMPLE_CUSTOMER_ID
    assert len(harness.stack.partner_center.applied_resets) == 1


def test_the_graph_token_is_reused_for_the_same_customer(harness: Harness) -> None:
    harness.reset(REVOKE_ASKED)
    second = harness.reset(REVOKE_ASKED)

    assert second.json["sessionsRevoked"] is True
    assert len(graph_token_requests(harness)) == 1
    assert len(revocations(harness)) == 2


def test_another_customer_gets_its_own_graph_token(harness: Harness) -> None:
    other_tenant, other_user = add_customer_with_user(harness)
    harness.reset(REVOKE_ASKED)

    answer = harness.reset(REVOKE_ASKED, customer=other_tenant, user=other_user)

    assert answer.json["sessionsRevoked"] is True
    assert harness.stack.identity.graph_exchanges == [SAMPLE_CUSTOMER_ID, other_tenant]
    assert len(graph_token_requests(harness, other_tenant)) == 1


def test_a_graph_401_gets_a_fresh_graph_token_and_one_retry(harness: Harness) -> None:
    harness.stack.graph.inject(
        Status(401, graph_error("InvalidAuthenticationToken", "Lifetime validation failed")),
        path=REVOKE,
    )

    answer = harness.reset(REVOKE_ASKED)

    assert answer.json["sessionsRevoked"] is True
    assert len(graph_token_requests(harness)) == 2
    first, second = revocations(harness)
    assert first.header("authorization") != second.header("authorization")


# --- refused ---------------------------------------------------------------------------


def test_graph_403_keeps_the_200_and_warns_naming_the_gdap_role_and_consent(
    harness: Harness,
) -> None:
    harness.stack.graph.forbid_tenant(SAMPLE_CUSTOMER_ID)

    answer = harness.reset(REVOKE_ASKED)

    warning = assert_not_revoked(answer)
    assert "User Administrator" in warning["detail"]
    assert "GDAP" in warning["detail"]
    assert "consent" in warning["detail"]
    assert "Microsoft Graph" in warning["detail"]
    assert len(harness.stack.partner_center.applied_resets) == 1
    assert harness.stack.graph.revocations == []


def test_a_403_is_not_retried(harness: Harness) -> None:
    harness.stack.graph.forbid_user(SAMPLE_USER_ID)

    assert_not_revoked(harness.reset(REVOKE_ASKED))
    assert len(revocations(harness)) == 1


def test_a_user_graph_does_not_know_is_a_warning(harness: Harness) -> None:
    harness.stack.graph.inject(
        Status(404, graph_error("Request_ResourceNotFound", "Resource does not exist")),
        path=REVOKE,
    )

    warning = assert_not_revoked(harness.reset(REVOKE_ASKED))
    assert "no such user" in warning["detail"]


def test_no_upstream_text_reaches_the_warning(harness: Harness) -> None:
    harness.stack.graph.inject(
        Status(403, graph_error("Authorization_RequestDenied", "UPSTREAM-SAYS-Insufficient")),
        path=REVOKE,
    )

    warning = assert_not_revoked(harness.reset(REVOKE_ASKED))
    assert "UPSTREAM-SAYS" not in warning["detail"]
    assert "Authorization_RequestDenied" not in warning["detail"]


@pytest.mark.parametrize("aadsts", [65001, 50020, 50076])
def test_a_graph_token_refused_keeps_the_200_and_warns_with_the_consent_to_fix(
    harness: Harness, aadsts: int
) -> None:
    harness.stack.identity.refuse_graph_exchange(SAMPLE_CUSTOMER_ID, aadsts=aadsts)

    warning = assert_not_revoked(harness.reset(REVOKE_ASKED))

    assert f"AADSTS{aadsts}" in warning["detail"]
    assert "consent" in warning["detail"]
    assert harness.stack.graph.requests == []
    assert len(harness.stack.partner_center.applied_resets) == 1


def test_a_refused_graph_token_does_not_break_the_next_partner_center_reset(
    harness: Harness,
) -> None:
    harness.stack.identity.refuse_graph_exchange(SAMPLE_CUSTOMER_ID, aadsts=65001)
    harness.reset(REVOKE_ASKED)

    assert harness.reset().status == 200


# --- confirmed only by a JSON true ------------------------------------------------------

GRAPH_JSON = "application/json;odata.metadata=minimal;charset=utf-8"
NOT_CONFIRMED = [
    Status(200, b'{"value": "false"}', {"Content-Type": GRAPH_JSON}),
    Status(200, b'{"value": null}', {"Content-Type": GRAPH_JSON}),
    Status(200, b'{"value": 0}', {"Content-Type": GRAPH_JSON}),
    Status(200, b'{"value": 1}', {"Content-Type": GRAPH_JSON}),
    Status(200, b'{"value": "true"}', {"Content-Type": GRAPH_JSON}),
    Status(200, graph_error("generalException", "UPSTREAM-SAYS-ok")),
    Status(200, b"{}", {"Content-Type": GRAPH_JSON}),
    Status(200, b""),
    Status(202, b""),
    Status(204, b""),
    Status(200, b"<html><body>UPSTREAM-SAYS-proxy</body></html>", {"Content-Type": "text/html"}),
    Status(200, b"value=true", {"Content-Type": "application/json"}),
    Status(200, b'{"value": true}', {"Content-Type": "text/plain"}),
    Status(200, b'{"value": true}', {"Content-Type": "text/html; charset=utf-8"}),
]


@pytest.mark.parametrize(
    "answer", NOT_CONFIRMED, ids=lambda s: f"{s.status}-{s.body!r}-{s.headers}"[:60]
)
def test_a_2xx_that_is_not_a_json_true_is_not_revoked_and_says_graph_did_not_confirm(
    harness: Harness, answer: Status
) -> None:
    harness.stack.graph.inject(answer, path=REVOKE)

    warning = assert_not_revoked(harness.reset(REVOKE_ASKED))

    assert "Microsoft Graph did not confirm the revocation" in warning["detail"]
    assert "UPSTREAM-SAYS" not in warning["detail"]
    assert len(revocations(harness)) == 1
    assert len(harness.stack.partner_center.applied_resets) == 1


def test_a_json_true_under_graphs_own_media_type_is_revoked(harness: Harness) -> None:
    harness.stack.graph.inject(
        Status(200, b'{"value": true}', {"Content-Type": "application/json"}), path=REVOKE
    )

    assert harness.reset(REVOKE_ASKED).json["sessionsRevoked"] is True


# --- retried inside the deadline -----------------------------------------------------


def test_graph_throttling_waits_retry_after_then_revokes(harness: Harness) -> None:
    harness.stack.graph.inject(
        Status(429, graph_error("TooManyRequests", "Too many requests"), {"Retry-After": "5"}),
        path=REVOKE,
    )

    answer = harness.reset(REVOKE_ASKED)

    assert answer.json["sessionsRevoked"] is True
    assert harness.clock.slept >= 5
    assert len(revocations(harness)) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_graph_5xx_then_success_is_retried_to_true(harness: Harness, status: int) -> None:
    harness.stack.graph.inject(Status(status), times=2, path=REVOKE)

    answer = harness.reset(REVOKE_ASKED)

    assert answer.json["sessionsRevoked"] is True
    assert len(revocations(harness)) == 3
    assert len(graph_token_requests(harness)) == 1


def test_a_dropped_graph_connection_is_retried(harness: Harness) -> None:
    harness.stack.graph.inject(Disconnect(), path=REVOKE)

    assert harness.reset(REVOKE_ASKED).json["sessionsRevoked"] is True


def test_a_slow_graph_answer_is_retried_after_the_read_timeout(harness: Harness) -> None:
    # The retry's own read gets 0.5 s: on a loaded machine a 0.2 s budget was sometimes
    # spent by the healthy second answer too.
    harness.timings(graph_timeouts=(3.0, 0.5))
    harness.stack.graph.inject(Delay(2.0), path=REVOKE)

    assert harness.reset(REVOKE_ASKED).json["sessionsRevoked"] is True
    assert len(revocations(harness)) == 2


def test_persistent_graph_5xx_gives_up_with_false_and_the_reset_reported(
    harness: Harness,
) -> None:
    harness.stack.graph.inject(Status(503), times=None, path=REVOKE)

    answer = harness.reset(REVOKE_ASKED)

    warning = assert_not_revoked(answer)
    assert "HTTP 503" in warning["detail"]
    assert len(revocations(harness)) == RetryPolicy().max_attempts
    assert len(harness.stack.partner_center.applied_resets) == 1


def test_a_graph_hang_past_the_deadline_still_reports_the_reset(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.reset(REVOKE_ASKED)  # warm, Graph token included: the deadline below is Graph's
    harness.configure_route(RESET_DEADLINE_SECONDS="0.6")
    harness.stack.graph.inject(Hang(30), times=None, path=REVOKE)

    started = time.monotonic()
    answer = harness.reset(REVOKE_ASKED)

    assert time.monotonic() - started < 1.1
    warning = assert_not_revoked(answer)
    assert "revoke the sessions again later" in warning["detail"]
    assert len(harness.stack.partner_center.applied_resets) == 2


# --- dry run, validation, audit ---------------------------------------------------------


def test_a_dry_run_revokes_nothing_and_says_so(harness: Harness) -> None:
    # Its only Graph call is the GDAP read in the partner tenant (test_dry_run_gdap.py).
    answer = harness.reset(REVOKE_ASKED, params={"dryRun": "true"})

    assert answer.status == 200
    assert answer.json["status"] == "validated"
    assert answer.json["sessionsRevoked"] is None
    [warning] = answer.json["warnings"]
    assert warning["code"] == "sessions_not_checked"
    assert "Dry run" in warning["detail"]
    assert revocations(harness) == []
    assert graph_token_requests(harness) == []
    assert harness.stack.partner_center.applied_resets == []


@pytest.mark.parametrize("value", ["yes", "true", 1, None, [], {}])
def test_a_revoke_sessions_that_is_not_a_boolean_is_400_and_nothing_goes_upstream(
    harness: Harness, value: object
) -> None:
    answer = harness.reset({"password": CANARY_PASSWORD, "revokeSessions": value})

    problem = assert_problem(answer, 400, "invalid_request")
    assert [e["field"] for e in problem["errors"]] == ["revokeSessions"]
    assert harness.stack.partner_center.requests == []
    assert harness.stack.graph.requests == []
    assert harness.stack.identity.requests == []


def test_the_audit_records_that_sessions_were_revoked(harness: Harness) -> None:
    harness.reset(REVOKE_ASKED)

    [record] = audit_records(harness)
    assert record["revokeSessions"] is True
    assert record["sessionsRevoked"] is True
    assert record["outcome"] == "succeeded"
    assert record["httpStatus"] == 200


def test_the_audit_records_a_failed_revocation_and_its_warning(harness: Harness) -> None:
    harness.stack.graph.forbid_tenant(SAMPLE_CUSTOMER_ID)
    harness.reset(REVOKE_ASKED)

    [record] = audit_records(harness)
    assert record["revokeSessions"] is True
    assert record["sessionsRevoked"] is False
    assert record["warnings"] == ["sessions_not_revoked"]
    assert record["outcome"] == "succeeded"


def test_the_audit_records_not_asked_as_null(harness: Harness) -> None:
    harness.reset()

    [record] = audit_records(harness)
    assert record["revokeSessions"] is False
    assert record["sessionsRevoked"] is None
    assert record["warnings"] == []


def test_a_failed_revocation_is_logged_as_a_warning_with_the_correlation_id(
    harness: Harness,
) -> None:
    harness.stack.graph.forbid_tenant(SAMPLE_CUSTOMER_ID)
    correlation = str(uuid.uuid4())
    harness.reset(REVOKE_ASKED, headers={"x-correlation-id": correlation})

    warnings = [
        r
        for r in harness.caplog.records
        if r.levelname == "WARNING" and "sessions" in r.getMessage()
    ]
    assert warnings
    assert all(correlation in r.getMessage() for r in warnings)


# --- never leak ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "break_graph",
    [
        "none",
        "forbidden",
        "token_refused",
        "throttled_then_ok",
        "persistent_5xx",
        "dry_run",
    ],
)
def test_no_password_or_token_leaks_whatever_graph_does(harness: Harness, break_graph: str) -> None:
    stack = harness.stack
    params = None
    if break_graph == "forbidden":
        stack.graph.forbid_tenant(SAMPLE_CUSTOMER_ID)
    elif break_graph == "token_refused":
        stack.identity.refuse_graph_exchange(SAMPLE_CUSTOMER_ID, aadsts=65001)
    elif break_graph == "throttled_then_ok":
        stack.graph.inject(Status(429, None, {"Retry-After": "0"}), path=REVOKE)
    elif break_graph == "persistent_5xx":
        stack.graph.inject(Status(500), times=None, path=REVOKE)
    elif break_graph == "dry_run":
        params = {"dryRun": "true"}

    answer = harness.reset(REVOKE_ASKED, params=params)

    assert answer.status == 200
    if params is None:
        # The write-back's log lines are searched too.
        harness.wait_for_refresh_token_write()
    harness.assert_nothing_leaked()
    for request in stack.graph.requests:
        assert CANARY_PASSWORD.encode() not in request.body
