"""The one HTTP error edge: the correlation ID from the caller's headers, a request
scope, and every failure given its HTTP meaning in one place."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import azure.functions as func
import pytest

from shared.context import current_correlation_id, current_deadline
from shared.errors import Forbidden
from shared.http_edge import Answered, Edge
from shared.problems import json_response
from shared.settings import SettingsError

CORRELATION_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SECRET = "Canary#Pw-7f3a9c"
EDGE = Edge(logging.getLogger("tests.edge"), refused="spec refused", during="spec")


def request() -> func.HttpRequest:
    return func.HttpRequest(
        method="GET", url="/api/spec", headers={"x-correlation-id": CORRELATION_ID}, body=b""
    )


def problem(response: func.HttpResponse) -> dict[str, Any]:
    assert response.mimetype == "application/problem+json"
    assert response.headers["x-correlation-id"] == CORRELATION_ID
    body: dict[str, Any] = json.loads(response.get_body())
    assert body["correlationId"] == CORRELATION_ID
    return body


def test_a_route_is_served_in_a_scope_with_the_callers_correlation_id() -> None:
    seen: list[object] = []

    def serve(correlation_id: uuid.UUID) -> func.HttpResponse:
        seen.extend([correlation_id, current_correlation_id(), current_deadline().remaining()])
        return json_response({"ok": True})

    assert EDGE.answer(request(), serve).status_code == 200
    assert seen[:2] == [uuid.UUID(CORRELATION_ID), CORRELATION_ID]
    assert isinstance(seen[2], float) and 0 < seen[2] <= EDGE.deadline_seconds


def test_a_domain_error_is_its_problem_answer() -> None:
    def serve(_: uuid.UUID) -> func.HttpResponse:
        raise Forbidden("No.")

    response = EDGE.answer(request(), serve)
    assert response.status_code == 403
    assert problem(response)["code"] == "forbidden"


def test_a_bad_setting_is_the_500_configuration_error_naming_it() -> None:
    def serve(_: uuid.UUID) -> func.HttpResponse:
        raise SettingsError(["KEY_VAULT_URL is required"])

    body = problem(EDGE.answer(request(), serve))
    assert (body["status"], body["code"]) == (500, "configuration_error")
    assert "KEY_VAULT_URL" in body["detail"]


def test_anything_else_is_the_500_internal_error_without_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def serve(_: uuid.UUID) -> func.HttpResponse:
        raise RuntimeError(SECRET)

    response = EDGE.answer(request(), serve)
    body = problem(response)
    assert (body["status"], body["code"]) == (500, "internal_error")
    assert SECRET not in response.get_body().decode()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged
    assert SECRET not in logged


def test_the_finish_sees_the_answer_and_the_refusal_inside_the_scope() -> None:
    finished: list[tuple[Answered, str | None]] = []

    def serve(_: uuid.UUID) -> func.HttpResponse:
        raise Forbidden("No.")

    def finish(answered: Answered) -> None:
        finished.append((answered, current_correlation_id()))

    response = EDGE.answer(request(), serve, finish=finish)
    [(answered, correlation_id)] = finished
    assert correlation_id == CORRELATION_ID
    assert answered.response is response
    assert answered.correlation_id == uuid.UUID(CORRELATION_ID)
    assert answered.refusal is not None and answered.refusal.code == "forbidden"


def test_a_served_answer_finishes_with_no_refusal() -> None:
    finished: list[Answered] = []
    EDGE.answer(request(), lambda _: json_response({}), finish=finished.append)
    assert [answered.refusal for answered in finished] == [None]
