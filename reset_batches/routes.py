"""The batch functions (contract 1d), built around the provider the composition root
hands in (this module never imports it):

- `POST /api/customers/{customer}/resetpasswords`: the caller as for a single reset (the
  function key, a caller token, CALLER_POLICY), every entry validated, then the batch
  accepted (links, rows, one message per user) and answered `202` with its status URL and,
  for `link`, each user's link, once. An audit record (logger
  `audit.password_reset_batch`) says who asked for what and how it was answered; each
  user's reset has its own record when the worker runs it.
- `GET /api/batches/{batchId}`: the batch's counts and items, for the caller that made it
  alone; another caller's batch and an unknown ID get the same 404.
- the queue trigger on `reset-batch`: one user per message (reset_batches/worker.py).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from reset_batches.accept import AcceptedBatch
from reset_batches.dependencies import BatchProvider
from reset_batches.errors import BatchNotFound, batch_problem, batch_problem_response
from reset_batches.queue import CONNECTION, QUEUE_NAME
from reset_batches.records import BatchOrder
from reset_batches.request import customer_value, parse_batch_order
from reset_batches.status import (
    KNOWN_QUERY_PARAMETERS,
    PAGE_SIZE,
    batch_path,
    page_number,
    parse_batch_id,
    render_status,
)
from reset_password.request import MAX_AUDITED_PATH_VALUE
from shared.caller_auth import Caller
from shared.errors import InvalidRequest
from shared.http_edge import Answered, Edge
from shared.log import log_event
from shared.problems import json_response
from shared.query import query_parameters, shown_name, unknown_parameters
from shared.settings import SettingsError

logger = logging.getLogger("reset_batches")
audit_logger = logging.getLogger("audit.password_reset_batch")
ACCEPTED_EVENT = "password_reset_batch.accepted"
# A thousand links, rows and messages fit well inside host.json's functionTimeout.
ACCEPT_SECONDS = 50.0

ACCEPT_EDGE = Edge(logger, "batch refused", "batch", ACCEPT_SECONDS)
STATUS_EDGE = Edge(
    logger,
    "batch status refused",
    "batch status",
    problem_answer=batch_problem_response,
    problem_of=batch_problem,
)


def blueprint(dependencies: BatchProvider) -> func.Blueprint:
    bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions

    @bp.function_name("reset_password_batch")
    @bp.route(
        route="customers/{customer}/resetpasswords",
        methods=["POST"],
        auth_level=func.AuthLevel.FUNCTION,
    )
    def reset_password_batch(req: func.HttpRequest) -> func.HttpResponse:
        trail = BatchTrail(customer_value(req))
        return ACCEPT_EDGE.answer(
            req,
            lambda correlation_id: _accept(req, correlation_id, dependencies, trail),
            finish=trail.emit,
        )

    @bp.function_name("batch_status")
    @bp.route(route="batches/{batchId}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
    def batch_status(req: func.HttpRequest) -> func.HttpResponse:
        return STATUS_EDGE.answer(
            req, lambda correlation_id: _status(req, correlation_id, dependencies)
        )

    @bp.function_name("reset_batch_item")
    @bp.queue_trigger(arg_name="message", queue_name=QUEUE_NAME, connection=CONNECTION)
    def reset_batch_item(message: func.QueueMessage) -> None:
        try:
            worker = dependencies().worker
        except SettingsError as exc:
            # Raised again: the host tries the message later, and poisons it at the end.
            logger.error("batch item not run: settings problem: %s", "; ".join(exc.problems))
            raise
        worker.handle(message)

    return bp


def _accept(
    req: func.HttpRequest,
    correlation_id: uuid.UUID,
    dependencies: BatchProvider,
    trail: BatchTrail,
) -> func.HttpResponse:
    deps = dependencies()
    # Who calls is settled before anything about the request is revealed.
    if deps.caller_tokens is not None:
        trail.caller = deps.caller_tokens.authenticate(req.headers)
    access = deps.customer_policy.access_for(trail.caller)
    trail.order = order = parse_batch_order(req)
    # A tenant ID is held to the caller's list at once; a domain is, user by user, once
    # the worker's lookups have named its tenant (as a single reset does).
    if order.customer.tenant_id is not None:
        access.check(order.customer.tenant_id)
    trail.accepted = accepted = deps.acceptance.accept(order, trail.caller, correlation_id)
    response = json_response(
        _accepted_answer(accepted, deps.base_url),
        status=202,
        correlation_id=str(correlation_id),
    )
    response.headers["Location"] = batch_path(accepted.batch_id)
    return response


def _accepted_answer(accepted: AcceptedBatch, base_url: str) -> dict[str, Any]:
    return {
        "batchId": accepted.batch_id,
        "statusUrl": base_url + batch_path(accepted.batch_id),
        "total": len(accepted.items),
        "acceptedAt": accepted.accepted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "items": [
            {
                "index": item.index,
                "user": item.user,
                # The only place a link's key ever goes: this answer, once.
                "secretLink": None
                if item.link is None
                else {
                    "url": item.link.url,
                    "expiresAt": item.link.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "maxViews": 1,
                },
            }
            for item in accepted.items
        ],
    }


def _status(
    req: func.HttpRequest, correlation_id: uuid.UUID, dependencies: BatchProvider
) -> func.HttpResponse:
    deps = dependencies()
    caller = Caller()
    if deps.caller_tokens is not None:
        caller = deps.caller_tokens.authenticate(req.headers)
    query = query_parameters(req)
    unknown = unknown_parameters(query, KNOWN_QUERY_PARAMETERS)
    if unknown:
        errors = [
            {"field": shown_name(name), "message": "is not a known query parameter (known: page)"}
            for name in unknown
        ]
        raise InvalidRequest("The request has unknown query parameters.", errors=errors)
    batch_id = parse_batch_id((req.route_params or {}).get("batchId"))
    record = None if batch_id is None else deps.store.batch(batch_id)
    # Another caller's batch reads exactly as one that does not exist.
    if record is None or record.caller_key != caller.key:
        raise BatchNotFound
    page = page_number(query, record.total)
    counts = deps.store.counts(record.batch_id)
    items = deps.store.items(record.batch_id, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    return json_response(
        render_status(record, counts, items, page, deps.base_url),
        correlation_id=str(correlation_id),
    )


@dataclass
class BatchTrail:
    """How far one batch request got, for its audit record (written once answered)."""

    customer_sent: str | None
    started: float = field(default_factory=time.monotonic)
    caller: Caller = field(default_factory=Caller)
    order: BatchOrder | None = None
    accepted: AcceptedBatch | None = None

    def emit(self, answered: Answered) -> None:
        order, accepted, refusal = self.order, self.accepted, answered.refusal
        customer = (
            None if self.customer_sent is None else self.customer_sent[:MAX_AUDITED_PATH_VALUE]
        )
        fields = {
            "caller": self.caller.audit_fields(),
            "customerRequested": customer,
            "batchId": accepted.batch_id if accepted else None,
            "users": len(order.users) if order else None,
            "queued": accepted.queued if accepted else None,
            "delivery": order.delivery if order else None,
            "revokeSessions": order.revoke_sessions if order else None,
            "ticketId": order.ticket_id if order else None,
            "requestedBy": order.requested_by if order else None,
            "outcome": refusal.code if refusal is not None else "accepted",
            "httpStatus": answered.response.status_code,
            "correlationId": str(answered.correlation_id),
            "durationMs": round((time.monotonic() - self.started) * 1000, 1),
        }
        level = logging.INFO if refusal is None else logging.WARNING
        log_event(audit_logger, level, ACCEPTED_EVENT, fields)
