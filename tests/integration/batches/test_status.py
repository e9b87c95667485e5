"""GET /api/batches/{batchId} (contract 1d): the creating caller alone sees its batch
(another caller's and an unknown ID read the same 404); counts; 200 items a page, the
next one named by `nextLink`, whose page number is checked like any input."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from dev.emulators.samples import SAMPLE_USER_ID
from tests.integration.batches.conftest import PUBLIC_BASE_URL, BatchHarness, users
from tests.integration.helpers import assert_problem, bearer, without_correlation

OTHER_APP_ID = "0e0e0e0e-0000-4000-8000-0000000000e0"


def test_a_new_batch_is_running_with_every_user_pending(batches: BatchHarness) -> None:
    sent = users(3)
    batch_id = batches.submit({"users": sent, "delivery": "none"}).json["batchId"]
    answer = batches.status(batch_id)
    assert answer.status == 200
    assert answer.json == {
        "batchId": batch_id,
        "status": "running",
        "total": 3,
        "succeeded": 0,
        "failed": 0,
        "pending": 3,
        "items": [
            {
                "index": index,
                "user": user,
                "userId": None,
                "status": "pending",
                "code": None,
                "sessionsRevoked": None,
            }
            for index, user in enumerate(sent)
        ],
    }
    assert answer.headers["cache-control"] == "no-store"


def test_another_callers_batch_reads_as_one_that_does_not_exist(batches: BatchHarness) -> None:
    harness = batches.harness
    harness.configure(**harness.stack.settings(caller_auth=True))
    batch_id = batches.submit(
        {"users": [SAMPLE_USER_ID], "delivery": "none"}, headers=bearer(harness)
    ).json["batchId"]
    assert batches.status(batch_id, headers=bearer(harness)).status == 200

    other = bearer(harness, {"azp": OTHER_APP_ID, "oid": OTHER_APP_ID})
    theirs = batches.status(batch_id, headers=other)
    unknown = batches.status("6f1c2d3e-0000-4000-8000-000000000000", headers=other)
    malformed = batches.status("not-a-batch", headers=other)
    for answer in (theirs, unknown, malformed):
        assert_problem(answer, 404, "batch_not_found")
    assert without_correlation(theirs) == without_correlation(unknown)
    assert without_correlation(theirs) == without_correlation(malformed)


def test_without_a_token_the_status_is_401(batches: BatchHarness) -> None:
    harness = batches.harness
    harness.configure(**harness.stack.settings(caller_auth=True))
    batch_id = batches.submit(
        {"users": [SAMPLE_USER_ID], "delivery": "none"}, headers=bearer(harness)
    ).json["batchId"]
    assert_problem(batches.status(batch_id), 401, "unauthenticated")


def test_the_id_is_read_in_any_letter_case(batches: BatchHarness) -> None:
    batch_id = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none"}).json["batchId"]
    assert batches.status(batch_id.upper()).json["batchId"] == batch_id


def test_items_come_200_a_page_and_next_link_names_the_next(batches: BatchHarness) -> None:
    sent = users(201)
    batch_id = batches.submit({"users": sent, "delivery": "none"}).json["batchId"]
    first = batches.status(batch_id).json
    assert [item["index"] for item in first["items"]] == list(range(200))
    assert first["total"] == 201 and first["pending"] == 201
    link = urlsplit(first["nextLink"])
    assert f"{link.scheme}://{link.netloc}" == PUBLIC_BASE_URL
    assert link.path == f"/api/batches/{batch_id}"
    query = {name: values[0] for name, values in parse_qs(link.query).items()}
    second = batches.status(batch_id, params=query).json
    assert second["items"] == [
        {
            "index": 200,
            "user": sent[200],
            "userId": None,
            "status": "pending",
            "code": None,
            "sessionsRevoked": None,
        }
    ]
    assert "nextLink" not in second
    assert second["pending"] == 201


FORGED_PAGES = ["3", "0", "-1", "01", "two", "", "2,2", " 2", "99999"]


def test_a_page_the_batch_does_not_have_is_refused_never_read_as_the_first(
    batches: BatchHarness,
) -> None:
    batch_id = batches.submit({"users": users(201), "delivery": "none"}).json["batchId"]
    for page in FORGED_PAGES:
        answer = batches.status(batch_id, params={"page": page})
        body = assert_problem(answer, 400, "invalid_request")
        assert [error["field"] for error in body["errors"]] == ["page"], page


def test_an_unknown_query_parameter_is_refused(batches: BatchHarness) -> None:
    batch_id = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none"}).json["batchId"]
    body = assert_problem(batches.status(batch_id, params={"skip": "200"}), 400, "invalid_request")
    assert [error["field"] for error in body["errors"]] == ["skip"]
