"""The queue-triggered worker (contract 1d) with a fake reset step, called as the worker
is called (a `func.QueueMessage`) and driven by the local host stand-in against Azurite
as the Functions host drives it: success marks the row; a refusal fails it; throttling
is tried again through the queue, and after the last dequeue the row is `failed` and the
message in `reset-batch-poison`; a message delivered again after a success resets no one.
"""

from __future__ import annotations

import base64
import json

import pytest

from dev.emulators.samples import SAMPLE_USER_ID, SAMPLE_USER_UPN
from reset_batches.records import ItemOutcome
from reset_batches.worker import MAX_DEQUEUE_COUNT, GaveUp, RetryLater
from shared.errors import UserNotFound
from tests.integration.batches.conftest import RESOLVED_USER, BatchHarness, users

THROTTLED = ItemOutcome.failed("throttled", 429, retry_after=30)
PROTECTED = ItemOutcome.failed("protected_user", 403, user_id=SAMPLE_USER_ID)


def item_of(batches: BatchHarness, batch_id: str, index: int = 0) -> dict[str, object]:
    items: list[dict[str, object]] = batches.status(batch_id).json["items"]
    return items[index]


def test_a_reset_that_succeeds_marks_its_row_and_completes_the_batch(
    batches: BatchHarness,
) -> None:
    body = {"users": [SAMPLE_USER_ID, SAMPLE_USER_UPN], "delivery": "none", "revokeSessions": True}
    batch_id = batches.submit(body).json["batchId"]
    assert len(batches.deliver()) == 2
    status = batches.status(batch_id).json
    assert (status["status"], status["succeeded"], status["pending"]) == ("completed", 2, 0)
    assert status["items"][0] == {
        "index": 0,
        "user": SAMPLE_USER_ID,
        "userId": SAMPLE_USER_ID,
        "status": "succeeded",
        "code": None,
        "sessionsRevoked": True,
    }
    assert status["items"][1]["userId"] == RESOLVED_USER
    # The step got the item as the message names it.
    (upn_item,) = [item for item in batches.fake.calls if item.user.sent == SAMPLE_USER_UPN]
    assert upn_item.user.ref.upn == SAMPLE_USER_UPN and upn_item.revoke_sessions
    assert upn_item.batch_id == batch_id and upn_item.index == 1


def test_a_refusal_fails_the_row_with_its_code_and_is_not_tried_again(
    batches: BatchHarness,
) -> None:
    batches.fake.answer(SAMPLE_USER_ID, PROTECTED)
    batch_id = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none"}).json["batchId"]
    assert batches.host().poll_once() == ["succeeded"]
    assert batches.queued() == 0 and batches.poisoned() == 0
    row = item_of(batches, batch_id)
    assert (row["status"], row["code"], row["userId"]) == (
        "failed",
        "protected_user",
        SAMPLE_USER_ID,
    )
    assert batches.status(batch_id).json["status"] == "completed"


def test_the_steps_domain_error_is_the_rows_code(batches: BatchHarness) -> None:
    class Missing:
        def reset_one(self, item: object) -> ItemOutcome:
            raise UserNotFound("No such user in the customer's tenant.")

    batches.harness.monkeypatch.setattr("composition.batch_reset_step", lambda reset: Missing())
    batches.harness.configure()
    batch_id = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none"}).json["batchId"]
    batches.deliver()
    assert item_of(batches, batch_id)["code"] == "user_not_found"


def test_throttling_raises_so_the_host_tries_again_and_the_caller_sees_why(
    batches: BatchHarness,
) -> None:
    batches.fake.answer(SAMPLE_USER_ID, THROTTLED)
    batch_id = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none"}).json["batchId"]
    with pytest.raises(RetryLater):
        batches.deliver(dequeue_count=1)
    row = item_of(batches, batch_id)
    assert (row["status"], row["code"]) == ("pending", "throttled")
    assert batches.status(batch_id).json["status"] == "running"


def test_after_the_last_dequeue_the_row_is_failed_and_the_message_poisoned(
    batches: BatchHarness,
) -> None:
    batches.fake.answer(SAMPLE_USER_ID, THROTTLED)
    batch_id = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none"}).json["batchId"]
    (message,) = batches.messages()
    host = batches.host()
    outcomes = [host.poll_once() for _ in range(MAX_DEQUEUE_COUNT)]
    assert outcomes == [["retried"]] * (MAX_DEQUEUE_COUNT - 1) + [["poisoned"]]
    assert batches.fake.resets_of(SAMPLE_USER_ID) == MAX_DEQUEUE_COUNT
    assert batches.queued() == 0 and batches.poisoned() == 1
    assert batches.messages() == [message]
    row = item_of(batches, batch_id)
    assert (row["status"], row["code"]) == ("failed", "throttled")
    assert batches.status(batch_id).json["status"] == "completed"


def test_the_last_attempt_raises_after_failing_the_row(batches: BatchHarness) -> None:
    batches.fake.answer(SAMPLE_USER_ID, ItemOutcome.failed("upstream_error", 502))
    batch_id = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none"}).json["batchId"]
    with pytest.raises(GaveUp):
        batches.deliver(dequeue_count=MAX_DEQUEUE_COUNT)
    assert item_of(batches, batch_id)["status"] == "failed"


def test_throttling_that_clears_before_the_last_try_ends_in_success(
    batches: BatchHarness,
) -> None:
    batches.fake.answer(SAMPLE_USER_ID, THROTTLED, THROTTLED, ItemOutcome.succeeded(SAMPLE_USER_ID))
    batch_id = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none"}).json["batchId"]
    host = batches.host()
    assert [host.poll_once() for _ in range(3)] == [["retried"], ["retried"], ["succeeded"]]
    row = item_of(batches, batch_id)
    assert (row["status"], row["code"]) == ("succeeded", None)
    assert batches.queued() == 0 and batches.poisoned() == 0


def test_a_message_delivered_again_after_a_success_resets_no_one(batches: BatchHarness) -> None:
    batch_id = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "link"}).json["batchId"]
    (message,) = batches.messages()
    batches.deliver()
    # The same message once more, as after a host crash between the run and the delete.
    batches.queue.send_message(base64.b64encode(json.dumps(message).encode()).decode())
    batches.deliver(dequeue_count=2)
    assert batches.fake.resets_of(SAMPLE_USER_ID) == 1
    assert item_of(batches, batch_id)["status"] == "succeeded"


def test_a_retried_message_makes_a_fresh_reset_until_one_succeeds(batches: BatchHarness) -> None:
    batches.fake.answer(SAMPLE_USER_ID, THROTTLED, ItemOutcome.succeeded(SAMPLE_USER_ID))
    batches.submit({"users": [SAMPLE_USER_ID], "delivery": "link"})
    host = batches.host()
    host.poll_once()
    host.poll_once()
    first, second = batches.fake.calls
    # Each attempt is a whole reset of the same item: the step makes its new password.
    assert (first.batch_id, first.index, first.link_id) == (second.batch_id, 0, second.link_id)


def test_an_unexpected_error_in_the_step_is_retried_as_an_internal_error(
    batches: BatchHarness,
) -> None:
    class Broken:
        def reset_one(self, item: object) -> ItemOutcome:
            raise RuntimeError("bug")

    batches.harness.monkeypatch.setattr("composition.batch_reset_step", lambda reset: Broken())
    batches.harness.configure()
    batch_id = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none"}).json["batchId"]
    with pytest.raises(RetryLater):
        batches.deliver()
    assert item_of(batches, batch_id)["code"] == "internal_error"


def test_a_message_this_function_never_wrote_ends_in_the_poison_queue(
    batches: BatchHarness,
) -> None:
    batches.queue.send_message(base64.b64encode(b'{"password": "x"}').decode())
    host = batches.host()
    outcomes = [host.poll_once() for _ in range(MAX_DEQUEUE_COUNT)]
    assert outcomes[-1] == ["poisoned"]
    assert batches.fake.calls == []


def test_the_worker_never_logs_a_links_key_or_the_message(batches: BatchHarness) -> None:
    body = batches.submit({"users": users(2), "delivery": "link"}).json
    keys = [item["secretLink"]["url"].split("#", 1)[1] for item in body["items"]]
    batches.fake.answer(body["items"][0]["user"], THROTTLED)
    host = batches.host()
    host.poll_once()
    logs = batches.log_text()
    for key in keys:
        assert key not in logs
    assert batches.stored_text().count("#") == 0
