"""Batches run through the reset service (contract 1d), end to end: the registered
functions called as the worker calls them, the queue trigger driven by the local host
stand-in (dev/queue_host.py) against Azurite, the emulators for Partner Center, Graph
and the identity platform. Each user is one reset of a single reset's kind: lookups, the
caller's policy as it stands when the item runs, the guard, revokeSessions, the link
answered when the batch was accepted, and an audit record with the batch ID.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

import composition
from dev.emulators.faults import Status
from dev.emulators.samples import (
    SAMPLE_ADMIN_USER_ID,
    SAMPLE_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
)
from reset_batches.store import BatchStore
from reset_batches.worker import MAX_DEQUEUE_COUNT
from tests.integration.batches.conftest import BatchHarness
from tests.integration.helpers import add_user, audit_records

OTHER_CUSTOMER = "0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b"
PATCHES = r"^/v1/customers/[^/]+/users/[^/]+(/resetpassword)?$"


def contoso_users(wired: BatchHarness, count: int) -> list[tuple[str, str]]:
    """`count` new users of the sample customer, as (object ID, UPN)."""
    made = []
    for index in range(count):
        upn = f"pupil{index}@{SAMPLE_CUSTOMER_DOMAIN}"
        made.append((add_user(wired.harness, SAMPLE_CUSTOMER_ID, upn), upn))
    return made


def status_of(wired: BatchHarness, batch_id: str) -> dict[str, Any]:
    answer = wired.status(batch_id)
    assert answer.status == 200, answer.json
    return answer.json


def current_password(wired: BatchHarness, user_id: str) -> str | None:
    return wired.harness.stack.partner_center.current_password(SAMPLE_CUSTOMER_ID, user_id)


def patches_of(wired: BatchHarness, user_id: str) -> list[str]:
    """The MS-RequestId of each PATCH that reached the user, in order."""
    return [
        request.header("MS-RequestId")
        for request in wired.harness.stack.partner_center.requests_to("PATCH", PATCHES)
        if user_id.lower() in request.path.lower()
    ]


# --- a whole batch ---------------------------------------------------------------------


def test_a_link_batch_resets_every_user_once_and_each_link_opens_the_password_set(
    wired: BatchHarness,
) -> None:
    made = contoso_users(wired, 4)
    # Named by object ID and by UPN, under a customer named by tenant ID.
    sent = [made[0][0], made[1][1], made[2][0], made[3][1]]
    accepted = wired.submit({"users": sent, "delivery": "link", "ticketId": "INC9"}).json
    running = status_of(wired, accepted["batchId"])
    assert (running["status"], running["pending"], running["succeeded"]) == ("running", 4, 0)

    assert wired.run_all() == ["succeeded"] * 4

    done = status_of(wired, accepted["batchId"])
    assert (done["status"], done["succeeded"], done["failed"], done["pending"]) == (
        "completed",
        4,
        0,
        0,
    )
    for (user_id, _), item, row in zip(made, accepted["items"], done["items"], strict=True):
        assert wired.resets_of(user_id) == 1
        assert (row["userId"], row["status"], row["code"]) == (user_id, "succeeded", None)
        assert wired.open_link(item["secretLink"]["url"]) == current_password(wired, user_id)


def test_a_scramble_batch_resets_every_user_once_and_stores_no_link(
    wired: BatchHarness,
) -> None:
    made = contoso_users(wired, 3)
    links_before = len(wired.rows("secretlinks"))
    body = {"users": [upn for _, upn in made], "delivery": "none", "revokeSessions": True}
    accepted = wired.submit(body).json

    assert wired.run_all() == ["succeeded"] * 3

    assert all(item["secretLink"] is None for item in accepted["items"])
    assert len(wired.rows("secretlinks")) == links_before
    done = status_of(wired, accepted["batchId"])
    assert done["status"] == "completed" and done["succeeded"] == 3
    assert [row["sessionsRevoked"] for row in done["items"]] == [True] * 3
    for user_id, _ in made:
        assert wired.resets_of(user_id) == 1
    revoked = {revocation.user_id.lower() for revocation in wired.harness.stack.graph.revocations}
    assert revoked == {user_id.lower() for user_id, _ in made}


def test_each_users_reset_is_audited_with_the_batch_id(wired: BatchHarness) -> None:
    made = contoso_users(wired, 2)
    answer = wired.submit({"users": [u for u, _ in made], "delivery": "link", "ticketId": "INC5"})
    accepted = answer.json
    wired.run_all()

    records = [r for r in audit_records(wired.harness) if r.get("batchId") is not None]
    assert sorted(r["userId"] for r in records) == sorted(u for u, _ in made)
    for record in records:
        assert record["batchId"] == accepted["batchId"]
        assert (record["outcome"], record["delivery"], record["ticketId"]) == (
            "succeeded",
            "link",
            "INC5",
        )
        assert record["correlationId"] == answer.headers["x-correlation-id"]
        assert record["secretLinkId"] in json.dumps(accepted["items"])
        assert record["passwordSet"] is True and record["caller"]["kind"] == "function-key"


# --- the guard and the caller's policy, user by user -----------------------------------


def test_a_protected_user_fails_with_protected_user_and_the_others_are_reset(
    wired: BatchHarness,
) -> None:
    ((pupil, _),) = contoso_users(wired, 1)
    sent = [SAMPLE_USER_ID, SAMPLE_ADMIN_USER_ID, pupil]
    accepted = wired.submit({"users": sent, "delivery": "link"}).json

    wired.run_all()

    rows = status_of(wired, accepted["batchId"])["items"]
    assert [(row["status"], row["code"]) for row in rows] == [
        ("succeeded", None),
        ("failed", "protected_user"),
        ("succeeded", None),
    ]
    assert rows[1]["userId"] == SAMPLE_ADMIN_USER_ID
    assert wired.resets_of(SAMPLE_ADMIN_USER_ID) == 0
    assert wired.resets_of(SAMPLE_USER_ID) == wired.resets_of(pupil) == 1
    # The refused user's link was withdrawn: it reads as gone, not as not ready.
    refused = wired.reveal(accepted["items"][1]["secretLink"]["url"])
    assert (refused.status, refused.json["code"]) == (404, "secret_gone")


def test_a_domain_customer_outside_a_restricted_callers_list_fails_each_user_unread(
    wired: BatchHarness,
) -> None:
    wired.harness.configure(CALLER_POLICY=json.dumps({"function-key": [OTHER_CUSTOMER]}))
    body = {"users": [SAMPLE_USER_ID], "delivery": "none"}
    accepted = wired.submit(body, customer=SAMPLE_CUSTOMER_DOMAIN)
    assert accepted.status == 202

    assert wired.run_all() == ["succeeded"]

    (row,) = status_of(wired, accepted.json["batchId"])["items"]
    assert (row["status"], row["code"]) == ("failed", "forbidden")
    assert wired.harness.stack.partner_center.requests == []


def test_a_domain_customer_on_a_restricted_callers_list_is_reset(wired: BatchHarness) -> None:
    wired.harness.configure(CALLER_POLICY=json.dumps({"function-key": [SAMPLE_CUSTOMER_ID]}))
    body = {"users": [SAMPLE_USER_ID], "delivery": "none"}
    batch_id = wired.submit(body, customer=SAMPLE_CUSTOMER_DOMAIN).json["batchId"]

    wired.run_all()

    (row,) = status_of(wired, batch_id)["items"]
    assert (row["status"], row["userId"]) == ("succeeded", SAMPLE_USER_ID)
    assert wired.resets_of(SAMPLE_USER_ID) == 1


def test_the_policy_is_the_one_in_force_when_the_user_is_reset(wired: BatchHarness) -> None:
    batch_id = wired.submit({"users": [SAMPLE_USER_ID], "delivery": "none"}).json["batchId"]
    # The caller loses the customer between the batch's acceptance and its run.
    wired.harness.configure(CALLER_POLICY=json.dumps({"function-key": [OTHER_CUSTOMER]}))

    wired.run_all()

    (row,) = status_of(wired, batch_id)["items"]
    assert (row["status"], row["code"]) == ("failed", "forbidden")
    assert wired.resets_of(SAMPLE_USER_ID) == 0


# --- a message that comes back -----------------------------------------------------------


def test_a_worker_that_dies_after_the_reset_leaves_one_link_to_the_password_set_last(
    wired: BatchHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted = wired.submit({"users": [SAMPLE_USER_ID], "delivery": "link"}).json
    marks = BatchStore.mark_succeeded
    died: list[bool] = []

    def dies_once(self: BatchStore, *args: Any, **kwargs: Any) -> None:
        if not died:
            died.append(True)
            raise RuntimeError("the worker died before it marked the row")
        marks(self, *args, **kwargs)

    monkeypatch.setattr(BatchStore, "mark_succeeded", dies_once)

    assert wired.run_all() == ["retried", "succeeded"]

    # Two whole resets: a new password and a new MS-RequestId each time.
    first, second = patches_of(wired, SAMPLE_USER_ID)
    assert first != second and wired.resets_of(SAMPLE_USER_ID) == 2
    # One link for the user, opening the password Partner Center received last.
    links = [
        row["State"]
        for row in wired.rows("secretlinks")
        if row["RowKey"] == "link" and row["UserId"] == SAMPLE_USER_ID
    ]
    assert links == ["ready"]
    url = accepted["items"][0]["secretLink"]["url"]
    assert wired.open_link(url) == current_password(wired, SAMPLE_USER_ID)
    (row,) = status_of(wired, accepted["batchId"])["items"]
    assert row["status"] == "succeeded"


def test_a_message_delivered_again_after_its_success_resets_no_one(wired: BatchHarness) -> None:
    accepted = wired.submit({"users": [SAMPLE_USER_ID], "delivery": "link"}).json
    (message,) = wired.messages()
    wired.run_all()
    set_once = current_password(wired, SAMPLE_USER_ID)

    wired.queue.send_message(_as_queued(message))
    assert wired.run_all() == ["succeeded"]

    assert wired.resets_of(SAMPLE_USER_ID) == 1
    assert wired.open_link(accepted["items"][0]["secretLink"]["url"]) == set_once


def test_a_newer_batch_link_retires_the_users_older_one(wired: BatchHarness) -> None:
    # The user named by UPN: the links are made before the user's ID is known.
    ((pupil, upn),) = contoso_users(wired, 1)
    older = wired.submit({"users": [upn], "delivery": "link"}).json["items"][0]
    wired.run_all()
    newer = wired.submit({"users": [upn], "delivery": "link"}).json["items"][0]
    wired.run_all()

    gone = wired.reveal(older["secretLink"]["url"])
    assert (gone.status, gone.json["code"]) == (404, "secret_gone")
    assert wired.open_link(newer["secretLink"]["url"]) == current_password(wired, pupil)


def test_the_reveal_of_a_batch_link_audits_the_users_real_ids(wired: BatchHarness) -> None:
    ((pupil, upn),) = contoso_users(wired, 1)
    item = wired.submit({"users": [upn], "delivery": "link"}, customer=SAMPLE_CUSTOMER_DOMAIN)
    wired.run_all()
    wired.open_link(item.json["items"][0]["secretLink"]["url"])

    (revealed,) = [
        r.custom_dimensions  # type: ignore[attr-defined]
        for r in wired.harness.caplog.records
        if getattr(r, "custom_dimensions", {}).get("event") == "password_link.revealed"
    ]
    assert (revealed["customerTenantId"], revealed["userId"]) == (SAMPLE_CUSTOMER_ID, pupil)


# --- throttling and failures ---------------------------------------------------------------


def test_after_the_last_dequeue_the_row_is_failed_with_its_code_and_the_message_poisoned(
    wired: BatchHarness,
) -> None:
    wired.harness.stack.partner_center.inject(Status(503), times=None, method="PATCH")
    accepted = wired.submit({"users": [SAMPLE_USER_ID], "delivery": "link"}).json

    outcomes = wired.run_all()

    assert outcomes == ["retried"] * (MAX_DEQUEUE_COUNT - 1) + ["poisoned"]
    assert wired.poisoned() == 1 and wired.queued() == 0
    (row,) = status_of(wired, accepted["batchId"])["items"]
    assert (row["status"], row["code"]) == ("failed", "upstream_error")
    # A fresh reset each time, none of them applied: the link is withdrawn.
    assert len(set(patches_of(wired, SAMPLE_USER_ID))) == MAX_DEQUEUE_COUNT
    assert wired.resets_of(SAMPLE_USER_ID) == 0
    gone = wired.reveal(accepted["items"][0]["secretLink"]["url"])
    assert (gone.status, gone.json["code"]) == (404, "secret_gone")


def test_throttling_keeps_the_row_pending_with_its_code_until_a_try_gets_through(
    wired: BatchHarness,
) -> None:
    # Longer than a reset's deadline: the reset gives up, the queue tries again.
    partner_center = wired.harness.stack.partner_center
    partner_center.inject(Status(429, headers={"Retry-After": "60"}), times=1, method="PATCH")
    accepted = wired.submit({"users": [SAMPLE_USER_ID], "delivery": "link"}).json
    host = wired.host()

    assert host.poll_once() == ["retried"]
    (row,) = status_of(wired, accepted["batchId"])["items"]
    assert (row["status"], row["code"]) == ("pending", "throttled")

    assert host.poll_once() == ["succeeded"]
    (row,) = status_of(wired, accepted["batchId"])["items"]
    assert (row["status"], row["code"]) == ("succeeded", None)
    url = accepted["items"][0]["secretLink"]["url"]
    assert wired.open_link(url) == current_password(wired, SAMPLE_USER_ID)


def test_a_link_that_expired_before_its_turn_fails_the_user_unreset(
    wired: BatchHarness,
) -> None:
    accepted = wired.submit({"users": [SAMPLE_USER_ID], "delivery": "link"}).json
    later = composition.TIMINGS.link_clock() + timedelta(days=2).total_seconds()
    wired.harness.timings(link_clock=lambda: later)

    assert wired.run_all() == ["succeeded"]

    (row,) = status_of(wired, accepted["batchId"])["items"]
    assert (row["status"], row["code"]) == ("failed", "secret_gone")
    assert patches_of(wired, SAMPLE_USER_ID) == []


# --- never a secret --------------------------------------------------------------------------


def test_no_password_or_key_is_in_the_queue_the_tables_or_any_log_line(
    wired: BatchHarness,
) -> None:
    made = contoso_users(wired, 3)
    partner_center = wired.harness.stack.partner_center
    partner_center.inject(Status(429, headers={"Retry-After": "60"}), times=1, method="PATCH")
    links = wired.submit({"users": [u for u, _ in made], "delivery": "link"}).json
    wired.submit({"users": [upn for _, upn in made], "delivery": "none"})
    # Looked at while a retried message is still in the queue, and once all ran.
    host = wired.host()
    host.poll_once()
    during = wired.stored_text()
    wired.run_all()

    passwords = wired.harness.secrets()
    keys = [item["secretLink"]["url"].split("#", 1)[1] for item in links["items"]]
    assert len(passwords) >= 6 and len(keys) == 3
    for text in (during, wired.stored_text(), wired.log_text()):
        for secret in [*passwords, *keys]:
            assert secret not in text and json.dumps(secret)[1:-1] not in text


def _as_queued(message: dict[str, Any]) -> str:
    """A message's JSON as the queue holds it (base64, host.json messageEncoding)."""
    return base64.b64encode(json.dumps(message).encode()).decode()
