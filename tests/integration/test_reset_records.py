"""One record per stage of a reset: the route values are read from the request once,
for the order and the audit alike; the service returns one outcome, refusals included,
and the answer and the audit record are both rendered from it. Every HTTP route answers
through the one shared edge."""

from __future__ import annotations

import uuid
from typing import Any

import azure.functions as func
import pytest
from azure.functions.decorators.http import HttpTrigger
from pydantic import SecretStr

import composition
from dev.emulators.samples import (
    SAMPLE_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
    SAMPLE_USER_UPN,
)
from reset_password.caller_policy import CustomerAccess
from reset_password.names import CustomerRef, UserRef
from reset_password.records import CallerPassword, ResetOrder, ResetOutcome
from shared.context import Deadline, request_scope
from shared.errors import UserNotFound
from shared.http_edge import Edge
from tests.integration.conftest import CANARY_PASSWORD, Harness
from tests.integration.helpers import audit_records


class CountingRequest(func.HttpRequest):
    """A request that counts how often its route values are read."""

    route_value_reads = 0

    @property
    def route_params(self) -> dict[str, str]:
        self.route_value_reads += 1
        params: dict[str, str] = super().route_params
        return params


def counted_reset(harness: Harness, body: bytes) -> CountingRequest:
    request = CountingRequest(
        method="POST",
        url=f"http://localhost:7071/api/customers/{SAMPLE_CUSTOMER_ID}/users/{SAMPLE_USER_ID}"
        "/resetpassword",
        headers={"Content-Type": "application/json"},
        route_params={"customer": SAMPLE_CUSTOMER_ID, "user": SAMPLE_USER_ID},
        body=body,
    )
    harness.registered["reset_password"].get_user_function()(request)
    return request


@pytest.mark.parametrize(
    "body", [b'{"password": "' + CANARY_PASSWORD.encode() + b'"}', b"not json"], ids=["ok", "bad"]
)
def test_the_route_values_are_read_once_for_the_order_and_the_audit(
    harness: Harness, body: bytes
) -> None:
    request = counted_reset(harness, body)

    assert request.route_value_reads == 1
    [record] = audit_records(harness)
    assert (record["customerRequested"], record["userRequested"]) == (
        SAMPLE_CUSTOMER_ID,
        SAMPLE_USER_ID,
    )


def order_for(user: UserRef) -> ResetOrder:
    return ResetOrder(
        customer=CustomerRef(tenant_id=SAMPLE_CUSTOMER_ID),
        user=user,
        source=CallerPassword(SecretStr(CANARY_PASSWORD)),
        force_change_password=True,
        ticket_id="INC7",
        idempotency_key=None,
        dry_run=False,
    )


def served(order: ResetOrder) -> ResetOutcome:
    service = composition.reset_dependencies().reset_service
    with request_scope(uuid.uuid4(), Deadline(10)):
        return service.reset(order, CustomerAccess("function-key", None))


def test_the_service_returns_a_refusal_as_its_outcome_with_what_it_learnt(
    harness: Harness,
) -> None:
    outcome = served(order_for(UserRef(upn="nobody@contoso.onmicrosoft.com")))

    assert isinstance(outcome.error, UserNotFound)
    assert (outcome.customer_id, outcome.user_id, outcome.status) == (
        SAMPLE_CUSTOMER_ID,
        None,
        None,
    )
    assert harness.stack.partner_center.applied_resets == []


def test_the_service_returns_a_reset_as_its_outcome(harness: Harness) -> None:
    outcome = served(order_for(UserRef(upn=SAMPLE_USER_UPN)))

    assert outcome.error is None
    assert (outcome.status, outcome.customer_id, outcome.user_id) == (
        "succeeded",
        SAMPLE_CUSTOMER_ID,
        SAMPLE_USER_ID,
    )
    assert outcome.user_principal_name == SAMPLE_USER_UPN
    assert outcome.request_id is not None and outcome.calls.attempts == 1
    assert CANARY_PASSWORD not in repr(outcome)


def test_the_answer_and_the_audit_record_agree_on_every_field_they_share(
    harness: Harness,
) -> None:
    body = {"password": CANARY_PASSWORD, "ticketId": "INC7", "revokeSessions": True}
    answer = harness.reset(body, customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN).json

    [record] = audit_records(harness)
    shared = [
        "customerTenantId",
        "userId",
        "userPrincipalName",
        "ticketId",
        "forceChangePassword",
        "sessionsRevoked",
        "correlationId",
    ]
    assert {field: record[field] for field in shared} == {field: answer[field] for field in shared}
    assert record["outcome"] == answer["status"] == "succeeded"


def http_routes(harness: Harness) -> list[tuple[str, HttpTrigger]]:
    found = []
    for name, function in harness.registered.items():
        trigger = function.get_trigger()
        if isinstance(trigger, HttpTrigger):
            found.append((name, trigger))
    return found


def test_every_http_route_answers_through_the_one_edge(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered: list[str] = []
    answer = Edge.answer

    def spy(self: Edge, req: func.HttpRequest, *args: Any, **kwargs: Any) -> func.HttpResponse:
        entered.append(req.url)
        return answer(self, req, *args, **kwargs)

    monkeypatch.setattr(Edge, "answer", spy)
    routes = http_routes(harness)
    values = {
        "customer": SAMPLE_CUSTOMER_ID,
        "user": SAMPLE_USER_UPN,
        "linkId": "unknown",
        "batchId": "unknown",
    }
    for name, trigger in routes:
        route = str(trigger.route)
        harness.call(
            name,
            method=str(next(iter(trigger.methods or ())).value),
            route=route.format(**values),
            route_params={key: value for key, value in values.items() if f"{{{key}}}" in route},
            body=b'{"password": "' + CANARY_PASSWORD.encode() + b'"}',
        )

    names = {name for name, _ in routes}
    assert names >= {"reset_password", "reset_password_by_upn", "health", "credentials_health"}
    assert len(entered) == len(routes)
