"""POST /api/customers/{customer}/resetpasswords (contract 1d): every entry validated
before anything is stored or queued; then 202, one queue message per user, and for
`link` one link per user answered once. No message or row ever holds a password or a
link's key."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from dev.emulators.samples import SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID, SAMPLE_USER_UPN
from tests.integration.batches.conftest import PUBLIC_BASE_URL, BatchHarness, users
from tests.integration.conftest import CANARY_PASSWORD, Answer
from tests.integration.helpers import assert_problem, bearer

OTHER_CUSTOMER = "0c0c0c0c-0000-4000-8000-0000000000c0"
LINK = re.compile(
    r"^http://localhost:7071/api/secrets/(?P<id>[A-Za-z0-9_-]{22})#(?P<key>[A-Za-z0-9_-]{128})$"
)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def errors_of(answer: Answer) -> dict[str, str]:
    body = assert_problem(answer, 400, "invalid_request")
    return {error["field"]: error["message"] for error in body["errors"]}


# --- accepted ------------------------------------------------------------------------


def test_a_batch_is_answered_202_with_its_status_url_and_one_item_per_user(
    batches: BatchHarness,
) -> None:
    sent = [SAMPLE_USER_ID, SAMPLE_USER_UPN.upper()]
    answer = batches.submit({"users": sent, "delivery": "none"})
    assert answer.status == 202
    body = answer.json
    batch_id = body["batchId"]
    assert str(uuid.UUID(batch_id)) == batch_id
    assert answer.headers["location"] == f"/api/batches/{batch_id}"
    assert body["statusUrl"] == f"{PUBLIC_BASE_URL}/api/batches/{batch_id}"
    assert body["total"] == 2
    assert TIMESTAMP.fullmatch(body["acceptedAt"])
    assert body["items"] == [
        {"index": 0, "user": sent[0], "secretLink": None},
        {"index": 1, "user": sent[1], "secretLink": None},
    ]
    assert answer.headers["cache-control"] == "no-store"


def test_each_user_is_one_queue_message_naming_the_batch_and_the_caller(
    batches: BatchHarness,
) -> None:
    sent = users(3)
    body = batches.submit(
        {
            "users": sent,
            "delivery": "none",
            "revokeSessions": True,
            "ticketId": "INC0012345",
            "requestedBy": "Grace Hopper",
        },
        headers={"x-correlation-id": "5b0e4a52-7a7e-4c3e-9a5c-4b3f0c1d2e3f"},
    ).json
    messages = sorted(batches.messages(), key=lambda message: message["index"])
    assert [m["user"] for m in messages] == sent
    for index, message in enumerate(messages):
        assert message == {
            "v": 1,
            "batchId": body["batchId"],
            "index": index,
            "customer": SAMPLE_CUSTOMER_ID,
            "user": sent[index],
            "delivery": "none",
            "linkId": None,
            "revokeSessions": True,
            "ticketId": "INC0012345",
            "requestedBy": "Grace Hopper",
            "caller": {"kind": "function-key", "appId": None, "objectId": None, "name": None},
            "correlationId": "5b0e4a52-7a7e-4c3e-9a5c-4b3f0c1d2e3f",
        }


def test_with_link_delivery_each_user_gets_a_link_answered_once_and_not_ready_yet(
    batches: BatchHarness,
) -> None:
    body = batches.submit({"users": users(2), "delivery": "link"}).json
    links = [item["secretLink"] for item in body["items"]]
    for link in links:
        assert LINK.fullmatch(link["url"]), link["url"]
        assert link["maxViews"] == 1
        assert TIMESTAMP.fullmatch(link["expiresAt"])
    ids = [LINK.fullmatch(link["url"]).group("id") for link in links]  # type: ignore[union-attr]
    assert len(set(ids)) == 2
    # The message carries the link's ID; the reveal says not ready until the reset.
    assert sorted(m["linkId"] for m in batches.messages()) == sorted(ids)
    reveal = batches.harness.call(
        "secret_link_reveal",
        method="POST",
        route=f"secrets/{ids[0]}/reveal",
        route_params={"linkId": ids[0]},
        body=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert reveal.status == 409
    assert reveal.json["code"] == "secret_not_ready"


def test_no_message_or_row_holds_a_password_or_a_links_key(batches: BatchHarness) -> None:
    body = batches.submit({"users": users(5), "delivery": "link", "ticketId": "INC1"}).json
    keys = [LINK.fullmatch(i["secretLink"]["url"]).group("key") for i in body["items"]]  # type: ignore[union-attr]
    stored = batches.stored_text()
    assert len(batches.messages()) == 5
    for key in keys:
        assert key not in stored
    assert CANARY_PASSWORD not in stored
    # Nor a log line (the harness checks the canary; the keys are checked here).
    logs = batches.log_text()
    for key in keys:
        assert key not in logs


def test_a_domain_and_upns_are_accepted_as_sent(batches: BatchHarness) -> None:
    answer = batches.submit(
        {"users": [SAMPLE_USER_UPN], "delivery": "none"}, customer="Contoso.OnMicrosoft.com"
    )
    assert answer.status == 202
    (message,) = batches.messages()
    assert message["customer"] == "contoso.onmicrosoft.com"
    assert message["user"] == SAMPLE_USER_UPN


# --- validated first: nothing stored or queued ----------------------------------------


def test_each_bad_entry_is_named_and_nothing_is_queued_or_stored(batches: BatchHarness) -> None:
    sent: list[Any] = [SAMPLE_USER_ID, "not a user", 42, SAMPLE_USER_UPN, "a@b", None]
    errors = errors_of(batches.submit({"users": sent, "delivery": "link"}))
    assert set(errors) == {"users[1]", "users[2]", "users[4]", "users[5]"}
    batches.assert_nothing_stored()


def test_a_repeated_user_is_named_with_the_entry_it_repeats(batches: BatchHarness) -> None:
    sent = [
        SAMPLE_USER_UPN,
        SAMPLE_USER_ID,
        SAMPLE_USER_UPN.upper(),
        SAMPLE_USER_ID.upper(),
    ]
    errors = errors_of(batches.submit({"users": sent, "delivery": "none"}))
    assert errors == {"users[2]": "repeats users[0]", "users[3]": "repeats users[1]"}
    batches.assert_nothing_stored()


def test_a_password_is_refused_and_never_shown(batches: BatchHarness) -> None:
    answer = batches.submit(
        {"users": [SAMPLE_USER_ID], "delivery": "link", "password": CANARY_PASSWORD}
    )
    errors = errors_of(answer)
    assert set(errors) == {"password"}
    assert "generates" in errors["password"]
    assert CANARY_PASSWORD not in answer.raw.decode()
    batches.assert_nothing_stored()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"users": [SAMPLE_USER_ID]}, "delivery"),
        ({"users": [SAMPLE_USER_ID], "delivery": "email"}, "delivery"),
        ({"users": [SAMPLE_USER_ID], "delivery": None}, "delivery"),
        ({"delivery": "none"}, "users"),
        ({"users": SAMPLE_USER_ID, "delivery": "none"}, "users"),
        ({"users": [], "delivery": "none"}, "users"),
        (
            {"users": [SAMPLE_USER_ID], "delivery": "none", "revokeSessions": "yes"},
            "revokeSessions",
        ),
        ({"users": [SAMPLE_USER_ID], "delivery": "none", "ticketId": ""}, "ticketId"),
        ({"users": [SAMPLE_USER_ID], "delivery": "none", "ticketId": "a\u202eb"}, "ticketId"),
        ({"users": [SAMPLE_USER_ID], "delivery": "none", "requestedBy": "x" * 129}, "requestedBy"),
        (
            {"users": [SAMPLE_USER_ID], "delivery": "none", "forceChangePassword": True},
            "forceChangePassword",
        ),
        ({"users": [SAMPLE_USER_ID], "delivery": "none", "bad\nfield": 1}, "(unknown field)"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_queued(
    batches: BatchHarness, body: dict[str, Any], field: str
) -> None:
    assert field in errors_of(batches.submit(body))
    batches.assert_nothing_stored()


def test_a_bad_customer_an_unknown_parameter_and_an_idempotency_key_are_refused(
    batches: BatchHarness,
) -> None:
    answer = batches.submit(
        {"users": [SAMPLE_USER_ID], "delivery": "none"},
        customer="not a customer",
        headers={"Idempotency-Key": "abc"},
        params={"dryRun": "true"},
    )
    assert set(errors_of(answer)) == {"customer", "dryRun", "Idempotency-Key"}
    batches.assert_nothing_stored()


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"users": [], "delivery": "none"}', "text/plain", 415),
        (b" " * (512 * 1024 + 1), "application/json", 413),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    batches: BatchHarness, raw: bytes, content_type: str, status: int
) -> None:
    answer = batches.submit(raw, headers={"Content-Type": content_type})
    assert answer.status == status
    batches.assert_nothing_stored()


# --- the caller, as for a single reset -------------------------------------------------


def test_with_caller_tokens_a_batch_without_a_token_is_401(batches: BatchHarness) -> None:
    batches.harness.configure(**batches.harness.stack.settings(caller_auth=True))
    answer = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none"})
    assert_problem(answer, 401, "unauthenticated")
    batches.assert_nothing_stored()


def test_a_token_caller_is_named_in_each_message(batches: BatchHarness) -> None:
    batches.harness.configure(**batches.harness.stack.settings(caller_auth=True))
    answer = batches.submit(
        {"users": [SAMPLE_USER_ID], "delivery": "none"}, headers=bearer(batches.harness)
    )
    assert answer.status == 202
    (message,) = batches.messages()
    assert message["caller"]["kind"] == "entra-application"
    assert message["caller"]["appId"]


def test_a_customer_outside_the_callers_policy_is_403_and_nothing_is_queued(
    batches: BatchHarness,
) -> None:
    batches.harness.configure(CALLER_POLICY=json.dumps({"function-key": [OTHER_CUSTOMER]}))
    answer = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "link"})
    assert_problem(answer, 403, "forbidden")
    batches.assert_nothing_stored()


def test_each_batch_has_one_audit_record(batches: BatchHarness) -> None:
    body = batches.submit({"users": users(2), "delivery": "none", "ticketId": "INC7"}).json
    records = [
        r.custom_dimensions  # type: ignore[attr-defined]
        for r in batches.harness.caplog.records
        if r.name == "audit.password_reset_batch"
    ]
    assert len(records) == 1
    assert records[0]["batchId"] == body["batchId"]
    assert records[0]["users"] == 2 and records[0]["queued"] == 2
    assert records[0]["outcome"] == "accepted" and records[0]["ticketId"] == "INC7"
