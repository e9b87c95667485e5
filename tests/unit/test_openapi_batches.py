"""The two batch operations in the connector and both OpenAPI documents (contract 1d,
issue 23): what a request may hold, what the answers hold (the routes' real answers
validate), the names a flow maker reads, and a body the documents call valid is one the
function accepts."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dev import api_patterns, openapi
from reset_batches.accept import AcceptedBatch, AcceptedItem
from reset_batches.errors import BatchNotFound, batch_problem_response
from reset_batches.request import BatchOptions, parse_batch_order
from reset_batches.routes import _accepted_answer
from reset_batches.status import render_status
from reset_batches.store import BatchCounts, BatchRecord, ItemRecord
from reset_password.records import IssuedLink
from secret_links.crypto import new_link
from tests.unit.helpers import CORRELATION_ID, both_documents, check_instance, load, schema_of

ACCEPT = openapi.path_of("reset_password_batch")
STATUS = openapi.path_of("batch_status")
BASE_URL = "https://reset.contoso.com"
BATCH_ID = "5b0e4a52-7a7e-4c3e-9a5c-4b3f0c1d2e3f"
CUSTOMER = "6f1c4e8a-0b2d-4c3e-9f1a-2b3c4d5e6f70"
CONNECTOR = [load(openapi.OUTPUT_FILES[name]) for name in openapi.VARIANTS]
DOCUMENT_IDS = list(openapi.DOCUMENTS)


def operation(document: dict[str, Any], path: str) -> dict[str, Any]:
    (found,) = document["paths"][path].values()
    assert isinstance(found, dict)
    return found


def parameters(document: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    """Each parameter's schema, whichever the format (Swagger 2.0 inlines it)."""
    return {
        p["name"]: p.get("schema", p)
        for p in operation(document, path)["parameters"]
        if p["in"] != "body"
    }


# --- names a flow maker reads -------------------------------------------------------------


@pytest.mark.parametrize("document", both_documents(), ids=DOCUMENT_IDS)
def test_the_batch_operations_are_named_for_what_they_do(document: dict[str, Any]) -> None:
    accept, status = operation(document, ACCEPT), operation(document, STATUS)
    assert accept["operationId"] == "ResetPasswordsBatch"
    assert status["operationId"] == "GetBatchStatus"
    assert "users" in accept["summary"].lower() or "batch" in accept["summary"].lower()
    assert "status" in status["summary"].lower()


@pytest.mark.parametrize("document", CONNECTOR, ids=list(openapi.VARIANTS))
def test_the_connector_shows_the_batch_operations_after_the_single_reset(
    document: dict[str, Any],
) -> None:
    visibility = {
        op["operationId"]: op["x-ms-visibility"]
        for path in document["paths"].values()
        for op in path.values()
    }
    assert [name for name, v in visibility.items() if v == "important"] == ["ResetPassword"]
    assert visibility["ResetPasswordsBatch"] == "none"
    assert visibility["GetBatchStatus"] == "none"


@pytest.mark.parametrize("document", CONNECTOR, ids=list(openapi.VARIANTS))
def test_the_connector_tells_the_maker_to_keep_the_links_out_of_run_history(
    document: dict[str, Any],
) -> None:
    description = operation(document, ACCEPT)["description"]
    assert "Secure outputs" in description
    # The links exist in the 202's body alone: a flow that polled Location would lose them.
    assert "Asynchronous pattern" in description


# --- the request ------------------------------------------------------------------------


@pytest.mark.parametrize("document", both_documents(), ids=DOCUMENT_IDS)
def test_a_batch_takes_1_to_1000_distinct_users_and_a_required_delivery(
    document: dict[str, Any],
) -> None:
    body = schema_of(document, "ResetPasswordsBatchBody")
    assert set(body["properties"]) == {"users"} | {
        field.alias or name for name, field in BatchOptions.model_fields.items()
    }
    assert "password" not in body["properties"]
    assert body["additionalProperties"] is False
    assert set(body["required"]) == {"users", "delivery"}
    users = body["properties"]["users"]
    assert (users["type"], users["minItems"], users["maxItems"]) == ("array", 1, 1000)
    assert users["uniqueItems"] is True
    single_user = parameters(document, openapi.path_of("reset_password"))["user"]
    assert users["items"]["pattern"] == single_user["pattern"]
    assert users["items"]["maxLength"] == single_user["maxLength"]
    assert body["properties"]["delivery"]["enum"] == ["none", "link"]


@pytest.mark.parametrize("document", both_documents(), ids=DOCUMENT_IDS)
def test_a_batch_states_its_customer_and_no_query_parameter(document: dict[str, Any]) -> None:
    accept = parameters(document, ACCEPT)
    single = parameters(document, openapi.path_of("reset_password"))
    assert accept["customer"] == single["customer"]
    assert set(accept) == {"customer", "x-correlation-id"}
    status = parameters(document, STATUS)
    assert set(status) == {"batchId", "page", "x-correlation-id"}
    assert status["page"]["type"] == "integer"
    assert status["page"]["minimum"] == 1


@pytest.mark.parametrize("document", both_documents(), ids=DOCUMENT_IDS)
def test_the_batch_answers_are_declared_with_their_headers(document: dict[str, Any]) -> None:
    accepted = operation(document, ACCEPT)["responses"]
    assert set(accepted) == {"202", "400", "401", "403", "413", "415", "500", "503"}
    assert {"Location", "x-correlation-id"} <= set(accepted["202"]["headers"])
    status = operation(document, STATUS)["responses"]
    assert set(status) == {"200", "400", "401", "403", "404", "500", "503"}
    assert "batch_not_found" in status["404"]["description"]
    for responses in (accepted, status):
        assert "WWW-Authenticate" in responses["401"]["headers"]
        assert "Retry-After" in responses["503"]["headers"]


_ENTRY = st.from_regex(api_patterns.user_pattern(), fullmatch=True).filter(
    lambda user: len(user) <= api_patterns.MAX_USER_LENGTH
)
_TICKET = st.from_regex(api_patterns.ticket_id_pattern(), fullmatch=True).filter(
    lambda text: 1 <= len(text) <= 64
)


@given(
    users=st.lists(_ENTRY, min_size=1, max_size=4, unique_by=str.lower),
    delivery=st.sampled_from(["none", "link"]),
    options=st.fixed_dictionaries(
        {}, optional={"revokeSessions": st.booleans(), "ticketId": _TICKET}
    ),
)
def test_a_batch_body_the_documents_call_valid_is_accepted(
    users: list[str], delivery: str, options: dict[str, Any]
) -> None:
    body = {"users": users, "delivery": delivery, **options}
    for document in both_documents():
        check_instance(body, document, "ResetPasswordsBatchBody")
    request = func.HttpRequest(
        method="POST",
        url=f"http://localhost/api/customers/{CUSTOMER}/resetpasswords",
        headers={"Content-Type": "application/json"},
        route_params={"customer": CUSTOMER},
        body=json.dumps(body).encode(),
    )
    assert [user.sent for user in parse_batch_order(request).users] == users


# --- the answers ------------------------------------------------------------------------


def link() -> IssuedLink:
    key = new_link()
    return IssuedLink(key.link_id, key.url(BASE_URL), datetime(2026, 11, 22, 10, tzinfo=UTC))


@pytest.mark.parametrize("document", both_documents(), ids=DOCUMENT_IDS)
def test_the_real_accepted_answer_validates_with_and_without_links(
    document: dict[str, Any],
) -> None:
    accepted = AcceptedBatch(
        BATCH_ID,
        datetime(2026, 11, 21, 10, tzinfo=UTC),
        (
            AcceptedItem(0, "ada@contoso.com", link(), queued=True),
            AcceptedItem(1, str(uuid.uuid4()), None, queued=True),
            AcceptedItem(2, "grace@contoso.com", None, queued=False),
        ),
    )
    check_instance(_accepted_answer(accepted, BASE_URL), document, "BatchAccepted")


@pytest.mark.parametrize("document", both_documents(), ids=DOCUMENT_IDS)
@pytest.mark.parametrize("total", [3, 450])
def test_the_real_status_answer_validates_with_and_without_a_next_page(
    document: dict[str, Any], total: int
) -> None:
    record = BatchRecord(
        BATCH_ID, "caller", CUSTOMER, total, datetime(2026, 11, 21, 10, tzinfo=UTC), "link"
    )
    items = [
        ItemRecord(0, "ada@contoso.com", None, "pending", None, None),
        ItemRecord(1, "grace@contoso.com", str(uuid.uuid4()), "succeeded", None, True),
        ItemRecord(2, str(uuid.uuid4()), None, "failed", "protected_user", None),
        ItemRecord(3, "alan@contoso.com", str(uuid.uuid4()), "succeeded", "sessions_not_revoked",
                   False),
    ]  # fmt: skip
    answer = render_status(record, BatchCounts(2, 1, total - 3), items, 1, BASE_URL)
    assert ("nextLink" in answer) == (total > 200)
    check_instance(answer, document, "BatchStatus")


@pytest.mark.parametrize("document", both_documents(), ids=DOCUMENT_IDS)
def test_the_real_batch_not_found_answer_validates(document: dict[str, Any]) -> None:
    response = batch_problem_response(BatchNotFound(), CORRELATION_ID)
    check_instance(json.loads(response.get_body()), document, "BatchProblem")
