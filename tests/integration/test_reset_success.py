"""A reset that goes through: the answer, what Partner Center receives, what is cached."""

from __future__ import annotations

import re
import threading
import uuid

from dev.emulators.samples import (
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
    SAMPLE_USER_UPN,
)
from tests.integration.conftest import CANARY_PASSWORD, Harness

RESET_PATH = f"/v1/customers/{SAMPLE_CUSTOMER_ID}/users/{SAMPLE_USER_ID}/resetpassword"


def test_a_reset_answers_200_with_the_allow_listed_fields(harness: Harness) -> None:
    answer = harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC0012345"})

    assert answer.status == 200
    assert answer.mimetype == "application/json"
    body = answer.json
    assert set(body) == {
        "status",
        "customerTenantId",
        "userId",
        "userPrincipalName",
        "displayName",
        "forceChangePassword",
        "ticketId",
        "requestedBy",
        "correlationId",
        "completedAt",
        "sessionsRevoked",
    }
    assert body["sessionsRevoked"] is None  # not asked
    assert body["requestedBy"] is None  # not sent
    assert body["status"] == "succeeded"
    assert body["customerTenantId"] == SAMPLE_CUSTOMER_ID
    assert body["userId"] == SAMPLE_USER_ID
    assert body["userPrincipalName"] == SAMPLE_USER_UPN
    assert body["displayName"] == "Ada Lovelace"
    assert body["forceChangePassword"] is True
    assert body["ticketId"] == "INC0012345"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["completedAt"])
    assert answer.headers["x-correlation-id"] == body["correlationId"]


def test_the_password_really_changes_upstream(harness: Harness) -> None:
    harness.reset({"password": CANARY_PASSWORD, "forceChangePassword": False})
    assert harness.stack.partner_center.current_password(SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID) == (
        CANARY_PASSWORD
    )
    applied = harness.stack.partner_center.applied_resets
    assert [(r.customer_id, r.user_id, r.force_change_password) for r in applied] == [
        (SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID, False)
    ]


def test_ticket_id_is_null_when_the_request_had_none(harness: Harness) -> None:
    assert harness.reset().json["ticketId"] is None


def test_partner_center_gets_the_documented_body_and_headers(harness: Harness) -> None:
    correlation = str(uuid.uuid4())
    harness.reset(headers={"x-correlation-id": correlation})

    [patch] = harness.stack.partner_center.requests_to("PATCH", RESET_PATH)
    assert patch.json() == {
        "passwordProfile": {"password": CANARY_PASSWORD, "forceChangePassword": True},
        "attributes": {"objectType": "CustomerUser"},
    }
    assert patch.headers["authorization"].startswith("Bearer ")
    assert patch.headers["accept"] == "application/json"
    assert patch.headers["content-type"] == "application/json"
    assert patch.headers["ms-correlationid"] == correlation
    assert patch.headers["ms-contract-version"] == "v1"
    assert uuid.UUID(patch.headers["ms-requestid"])


def test_the_callers_correlation_id_is_echoed(harness: Harness) -> None:
    correlation = str(uuid.uuid4())
    answer = harness.reset(headers={"x-correlation-id": correlation})
    assert answer.headers["x-correlation-id"] == correlation
    assert answer.json["correlationId"] == correlation


def test_ms_correlation_id_is_accepted_as_a_synonym(harness: Harness) -> None:
    correlation = str(uuid.uuid4())
    assert harness.reset(headers={"MS-CorrelationId": correlation}).json["correlationId"] == (
        correlation
    )


def test_x_correlation_id_wins_when_both_come(harness: Harness) -> None:
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    answer = harness.reset(headers={"x-correlation-id": mine, "MS-CorrelationId": theirs})
    assert answer.json["correlationId"] == mine


def test_a_correlation_id_that_is_not_a_guid_is_replaced(harness: Harness) -> None:
    answer = harness.reset(headers={"x-correlation-id": "ticket-42"})
    assert uuid.UUID(answer.json["correlationId"])
    assert answer.json["correlationId"] != "ticket-42"


def test_a_warm_instance_makes_one_upstream_call_per_reset(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.reset()
    harness.wait_for_refresh_token_write()
    for server in harness.stack.servers:
        server.clear_requests()

    harness.reset()

    assert [(r.method, r.path) for r in harness.stack.partner_center.requests] == [
        ("PATCH", RESET_PATH)
    ]
    assert harness.stack.identity.requests == []
    assert harness.stack.key_vault.requests == []
    assert harness.stack.managed_identity.requests == []


def test_a_cold_reset_reads_each_secret_once_and_exchanges_once(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false", ROTATE_REFRESH_TOKEN="false")
    harness.reset()
    kv = harness.stack.key_vault
    assert [
        kv.reads(n)
        for n in (
            "partner-center-app-id",
            "partner-center-app-secret",
            "partner-center-refresh-token",
        )
    ] == [1, 1, 1]
    assert harness.stack.identity.exchanges == 1


def test_a_cold_reset_pays_the_vault_challenge_and_the_identity_token_once(
    harness: Harness,
) -> None:
    # The SDK keeps each vault's challenge for the life of the process; forget it, so
    # this reset starts as a fresh process does.
    from azure.keyvault.secrets._shared import http_challenge_cache

    http_challenge_cache.clear()
    harness.configure(PROTECTED_ROLE_GUARD="false", ROTATE_REFRESH_TOKEN="false")
    harness.reset()

    vault = harness.stack.key_vault.requests
    assert len([r for r in vault if "authorization" not in r.headers]) == 1
    assert len([r for r in vault if "authorization" in r.headers]) == 3
    assert len(harness.stack.managed_identity.requests) == 1


def test_dry_run_checks_everything_but_does_not_reset(harness: Harness) -> None:
    answer = harness.reset(params={"dryRun": "true"})
    assert answer.status == 200
    assert answer.json["status"] == "validated"
    assert harness.stack.partner_center.applied_resets == []


def test_an_answer_without_a_body_still_succeeds(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.stack.partner_center.answer_reset_with_204 = True
    answer = harness.reset()
    assert answer.status == 200
    assert answer.json["userPrincipalName"] is None


def test_health_is_anonymous_and_calls_nothing(harness: Harness) -> None:
    answer = harness.call("health", method="GET", route="health", route_params={})
    assert answer.status == 200
    assert answer.json["status"] == "ok"
    assert answer.json["version"]
    assert all(server.requests == [] for server in harness.stack.servers)


def test_the_guards_two_reads_both_precede_the_reset(harness: Harness) -> None:
    assert harness.reset().status == 200
    calls = [(r.method, r.path.rsplit("/", 1)[-1]) for r in harness.stack.partner_center.requests]
    assert calls[-1] == ("PATCH", "resetpassword")
    assert sorted(calls[:-1]) == [("GET", SAMPLE_USER_ID), ("GET", "directoryroles")]


def test_a_cold_reset_runs_its_key_vault_work_on_one_pool_of_at_most_four_threads(
    harness: Harness,
) -> None:
    # Three secret reads at once, then the write-back of the rotated refresh token.
    harness.configure(PROTECTED_ROLE_GUARD="false")
    before = set(threading.enumerate())
    harness.reset()
    harness.wait_for_refresh_token_write()

    started = [t.name for t in threading.enumerate() if t not in before]
    vault = [name for name in started if name.startswith("key-vault")]
    assert {name.rsplit("_", 1)[0] for name in vault} == {"key-vault"}
    assert len(vault) <= 4
