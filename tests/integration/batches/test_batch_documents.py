"""The batch routes as the three API documents describe them (issue 23): every answer the
routes give is one each document declares (status, media type, body, headers), and every
answer a document declares is one the routes really give. Each declared status and code
is provoked here through the registered functions, against Azurite."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from dev import api_models, openapi
from dev.emulators.samples import SAMPLE_USER_ID, SAMPLE_USER_UPN
from tests.integration.batches.conftest import BatchHarness
from tests.integration.conftest import Answer
from tests.integration.helpers import bearer
from tests.unit.helpers import both_documents, check_instance

ACCEPT = openapi.path_of("reset_password_batch")
STATUS = openapi.path_of("batch_status")
VALID = {"users": [SAMPLE_USER_ID, SAMPLE_USER_UPN], "delivery": "link", "ticketId": "INC1"}
# Azurite's well-known development account, at a loopback port nothing listens on.
UNREACHABLE_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:9/devstoreaccount1"
)

Scenario = Callable[[BatchHarness, pytest.MonkeyPatch], Answer]
Key = tuple[int, str | None]
ACCEPT_SCENARIOS: dict[Key, Scenario] = {}
STATUS_SCENARIOS: dict[Key, Scenario] = {}


def provokes(
    table: dict[Key, Scenario], status: int, code: str | None = None
) -> Callable[[Scenario], Scenario]:
    """Files the scenario as the one that provokes `status` and `code`."""

    def register(scenario: Scenario) -> Scenario:
        table[(status, code)] = scenario
        return scenario

    return register


def _explode(*_: object, **__: object) -> None:
    raise RuntimeError("a bug, not a refusal")


def _tokens_on(batches: BatchHarness) -> None:
    batches.harness.configure(**batches.harness.stack.settings(caller_auth=True))


def _made(batches: BatchHarness) -> str:
    answer = batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none"})
    assert answer.status == 202, answer.json
    batch_id = answer.json["batchId"]
    assert isinstance(batch_id, str)
    return batch_id


# --- POST /customers/{customer}/resetpasswords -----------------------------------------


@provokes(ACCEPT_SCENARIOS, 202)
def a_valid_batch(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    return batches.submit(VALID)


@provokes(ACCEPT_SCENARIOS, 400, "invalid_request")
def no_users(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    return batches.submit({"users": [], "delivery": "none"})


@provokes(ACCEPT_SCENARIOS, 401, "unauthenticated")
def no_caller_token(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    _tokens_on(batches)
    return batches.submit(VALID)


@provokes(ACCEPT_SCENARIOS, 403, "forbidden")
def a_customer_outside_the_policy(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    batches.harness.configure(CALLER_POLICY=json.dumps({"function-key": [str(uuid.uuid4())]}))
    return batches.submit(VALID)


@provokes(ACCEPT_SCENARIOS, 413, "payload_too_large")
def a_body_over_512_kib(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    return batches.submit({"users": [SAMPLE_USER_ID], "delivery": "none", "x": "x" * 600_000})


@provokes(ACCEPT_SCENARIOS, 415, "unsupported_media_type")
def not_json(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    return batches.submit(b"users", headers={"Content-Type": "text/plain"})


@provokes(ACCEPT_SCENARIOS, 500, "configuration_error")
def no_storage_setting(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    batches.harness.configure(AzureWebJobsStorage=None)
    return batches.submit(VALID)


@provokes(ACCEPT_SCENARIOS, 500, "internal_error")
def a_bug_while_accepting(batches: BatchHarness, monkeypatch: pytest.MonkeyPatch) -> Answer:
    monkeypatch.setattr("reset_batches.accept.BatchAcceptance.accept", _explode)
    return batches.submit(VALID)


@provokes(ACCEPT_SCENARIOS, 503, "dependency_unavailable")
def storage_out_of_reach(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    batches.harness.configure(AzureWebJobsStorage=UNREACHABLE_STORAGE)
    return batches.submit(VALID)


# --- GET /batches/{batchId} ---------------------------------------------------------------


@provokes(STATUS_SCENARIOS, 200)
def a_batch_of_the_caller(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    return batches.status(_made(batches))


@provokes(STATUS_SCENARIOS, 400, "invalid_request")
def a_page_the_batch_lacks(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    return batches.status(_made(batches), params={"page": "2"})


@provokes(STATUS_SCENARIOS, 401, "unauthenticated")
def status_without_a_token(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    _tokens_on(batches)
    return batches.status(str(uuid.uuid4()))


@provokes(STATUS_SCENARIOS, 403, "forbidden")
def a_token_without_the_role(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    _tokens_on(batches)
    token = bearer(batches.harness, {"roles": ["Directory.Read"]})
    return batches.status(str(uuid.uuid4()), headers=token)


@provokes(STATUS_SCENARIOS, 404, "batch_not_found")
def an_unknown_batch(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    return batches.status(str(uuid.uuid4()))


@provokes(STATUS_SCENARIOS, 500, "configuration_error")
def status_without_a_storage_setting(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    batches.harness.configure(AzureWebJobsStorage=None)
    return batches.status(str(uuid.uuid4()))


@provokes(STATUS_SCENARIOS, 500, "internal_error")
def a_bug_while_reading(batches: BatchHarness, monkeypatch: pytest.MonkeyPatch) -> Answer:
    monkeypatch.setattr("reset_batches.store.BatchStore.batch", _explode)
    return batches.status(str(uuid.uuid4()))


@provokes(STATUS_SCENARIOS, 503, "dependency_unavailable")
def status_storage_out_of_reach(batches: BatchHarness, _: pytest.MonkeyPatch) -> Answer:
    batches.harness.configure(AzureWebJobsStorage=UNREACHABLE_STORAGE)
    return batches.status(str(uuid.uuid4()))


SCENARIOS = {ACCEPT: ACCEPT_SCENARIOS, STATUS: STATUS_SCENARIOS}
# What each route answers as a problem, as the generator declares it.
DECLARED_PROBLEMS = {
    ACCEPT: api_models.BATCH_ACCEPT_PROBLEMS,
    STATUS: api_models.BATCH_STATUS_PROBLEMS,
}
SUCCESS = {ACCEPT: 202, STATUS: 200}


def declared(document: dict[str, Any], path: str, status: int) -> dict[str, Any]:
    """A document's response for a status of the path's one operation, with its media
    types ('produces' in Swagger 2.0, the content's keys in OpenAPI 3) and schema name."""
    (operation,) = document["paths"][path].values()
    response: dict[str, Any] = operation["responses"][str(status)]
    if "swagger" in document:
        schema, media_types = response["schema"], operation["produces"]
    else:
        (media_type, content), *_ = response["content"].items()
        schema, media_types = content["schema"], list(response["content"])
        assert len(response["content"]) == 1, media_type
    return {
        "media_types": media_types,
        "definition": schema["$ref"].rsplit("/", 1)[1],
        "headers": set(response.get("headers", {})),
    }


CASES = [
    pytest.param(path, status, code, id=f"{path}-{status}-{code}")
    for path, scenarios in SCENARIOS.items()
    for status, code in scenarios
]


@pytest.mark.parametrize(("path", "status", "code"), CASES)
def test_each_batch_answer_is_one_every_document_declares(
    batches: BatchHarness,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    status: int,
    code: str | None,
) -> None:
    answer = SCENARIOS[path][(status, code)](batches, monkeypatch)
    assert answer.status == status, answer.raw
    body = answer.json
    assert body.get("code") == code
    for document in both_documents():
        response = declared(document, path, status)
        assert answer.mimetype in response["media_types"]
        check_instance(body, document, response["definition"])
        sent = {name.lower() for name in answer.headers}
        for header in response["headers"] - {"Retry-After", "WWW-Authenticate"}:
            assert header.lower() in sent, header
        if status == 401:
            assert "www-authenticate" in sent
        if status == 503:
            assert "retry-after" in sent
    if status == 202:
        assert answer.headers["location"] == f"/api/batches/{body['batchId']}"


@pytest.mark.parametrize("path", [ACCEPT, STATUS])
def test_every_answer_a_document_declares_is_one_the_route_gives(path: str) -> None:
    given = set(SCENARIOS[path])
    declared_codes = api_models.problem_codes_by_status(DECLARED_PROBLEMS[path])
    expected = {(SUCCESS[path], None)} | {
        (status, code) for status, codes in declared_codes.items() for code in codes
    }
    # The scenarios above provoke each of them; none is declared without one.
    assert given == expected
    for document in both_documents():
        (operation,) = document["paths"][path].values()
        assert set(operation["responses"]) == {str(status) for status, _ in given}
        for status, code in given:
            if code is not None:
                assert code in operation["responses"][str(status)]["description"]
