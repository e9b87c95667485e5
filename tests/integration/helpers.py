"""What many integration specs do the same way: read a problem answer or the audit, call
the UPN route or a timer, read the credentials records, hold a caller token, warm the
function up. One home, so a spec module imports helpers from here and never from another
spec module."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest
from azure.storage.queue import QueueClient

from dev.emulators.samples import SAMPLE_CUSTOMER_ID, SAMPLE_USER_UPN
from dev.localhost import decode_path
from reset_batches.queue import QUEUE_NAME
from tests.integration.conftest import CANARY_PASSWORD, Answer, Harness

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "correlationId"}
UPN_ROUTE = "users/{user}/resetpassword"


def assert_problem(answer: Answer, status: int, code: str) -> dict[str, Any]:
    assert answer.status == status
    assert answer.mimetype == "application/problem+json"
    body = answer.json
    assert set(body) >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["code"] == code
    assert answer.headers["x-correlation-id"] == body["correlationId"]
    return body


def without_correlation(answer: Answer) -> dict[str, Any]:
    """An answer's JSON without its correlation ID (which differs per request)."""
    body = answer.json
    body.pop("correlationId")
    return body


def audit_records(harness: Harness) -> list[dict[str, Any]]:
    """The reset's audit records so far, as their fields."""
    return [
        r.custom_dimensions  # type: ignore[attr-defined]
        for r in harness.caplog.records
        if r.name == "audit.password_reset"
    ]


def run_timer(harness: Harness) -> None:
    """One run of the rotation timer, as the host starts it."""
    harness.registered["rotate_refresh_token"].get_user_function()(TimerRequest())


def run_daily_checks(harness: Harness) -> None:
    """One run of the daily credentials checks timer, as the host starts it."""
    harness.registered["check_credentials_daily"].get_user_function()(TimerRequest())


HEALTH_LOGGER = "token_rotation"
HEALTH_EVENT = "credentials.health"


def health_records(harness: Harness) -> list[logging.LogRecord]:
    """The timers' `credentials.health` records, selected as the alert rule selects them:
    by their logger and event fields, never their text."""
    return [
        record
        for record in harness.caplog.records
        if getattr(record, "logger", None) == HEALTH_LOGGER
        and getattr(record, "event", None) == HEALTH_EVENT
    ]


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """A structured record's fields, as they are exported."""
    value: dict[str, Any] = record.custom_dimensions  # type: ignore[attr-defined]
    return value


def health_statuses(harness: Harness) -> dict[str, str]:
    """Each recorded check's status, by check (the last record of each)."""
    return {record_fields(r)["check"]: record_fields(r)["status"] for r in health_records(harness)}


def bearer(harness: Harness, claims: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, str]:
    """The Authorization header of a caller token the emulator signed."""
    token = harness.stack.identity.mint_caller_token(claims, **kwargs)
    harness.extra_secrets.append(token)
    return {"Authorization": f"Bearer {token}"}


def reset_by_upn(
    harness: Harness,
    user_as_sent: str = SAMPLE_USER_UPN,
    body: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> Answer:
    """The UPN-only route, `user_as_sent` as it stands in the URL (percent-encoded); the
    function gets it decoded once, as the Functions host hands it over."""
    raw = json.dumps(body if body is not None else {"password": CANARY_PASSWORD}).encode()
    return harness.call(
        "reset_password_by_upn",
        method="POST",
        route=UPN_ROUTE.format(user=user_as_sent),
        route_params={"user": decode_path(user_as_sent)},
        body=raw,
        headers={"Content-Type": "application/json", **(headers or {})},
        params=params,
    )


def discoveries(harness: Harness, domain: str | None = None) -> list[str]:
    """The domains (or tenant IDs) whose OpenID discovery document was read, in order."""
    found = harness.stack.identity.requests_to("GET", r"/v2\.0/\.well-known/openid-configuration$")
    names = [r.path.split("/")[1] for r in found]
    return names if domain is None else [n for n in names if n == domain]


def add_user(harness: Harness, tenant_id: str, upn: str) -> str:
    return harness.stack.partner_center.add_user(
        tenant_id, user_principal_name=upn, first_name="Test", last_name="User"
    ).id


def start_warm(harness: Harness) -> None:
    """Forget what the first reset sent, once its background token write has landed."""
    harness.wait_for_refresh_token_write()
    for server in harness.stack.servers:
        server.clear_requests()


def reset_patches(harness: Harness) -> int:
    """How many PATCHes of the reset call (PARTNER_CENTER_RESET_CALL=resetpassword)
    Partner Center saw."""
    return len(harness.stack.partner_center.requests_to("PATCH", r"/resetpassword$"))


def patched_paths(harness: Harness) -> list[str]:
    """The path of each PATCH Partner Center saw, in order, whichever the reset call."""
    return [r.path for r in harness.stack.partner_center.requests if r.method == "PATCH"]


def partner_center_calls(harness: Harness) -> list[tuple[str, str]]:
    """Each request Partner Center saw, as (method, path), in order."""
    return [(r.method, r.path) for r in harness.stack.partner_center.requests]


def checks(answer: Answer) -> dict[str, dict[str, Any]]:
    """The credentials health answer's checks, by name."""
    return {check["name"]: check for check in answer.json["checks"]}


def run_batch(harness: Harness, connection_string: str, body: dict[str, Any]) -> Answer:
    """A batch of the sample customer accepted, then each of its users run by the queue
    function as the host hands a message over (its storage: `connection_string`, which
    AzureWebJobsStorage must name already). Other batches' messages are left alone."""
    answer = harness.call(
        "reset_password_batch",
        method="POST",
        route=f"customers/{SAMPLE_CUSTOMER_ID}/resetpasswords",
        route_params={"customer": SAMPLE_CUSTOMER_ID},
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 202, answer.json
    function = harness.registered["reset_batch_item"].get_user_function()
    with QueueClient.from_connection_string(connection_string, QUEUE_NAME) as queue:
        for message in queue.receive_messages(max_messages=32, visibility_timeout=60):
            text = base64.b64decode(message.content)
            if json.loads(text).get("batchId") != answer.json["batchId"]:
                continue
            function(
                message=QueueMessage(  # type: ignore[no-untyped-call]
                    id=message.id, body=text, dequeue_count=1, pop_receipt=message.pop_receipt
                )
            )
            queue.delete_message(message)
    return answer
