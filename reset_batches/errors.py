"""The answers only the batch routes give, in the shape of shared/problems.py's."""

from __future__ import annotations

import json
from collections.abc import Mapping

import azure.functions as func

from secret_links.errors import SecretGone
from shared.errors import DomainError
from shared.problems import PROBLEM_TYPE_BASE, Problem, problem_for, problem_response


class BatchNotFound(DomainError):
    """No batch by that ID that this caller made: unknown, malformed, or another's."""

    def __init__(self) -> None:
        super().__init__("No batch with this ID was made by this caller.")


BATCH_PROBLEMS: Mapping[type[DomainError], Problem] = {
    BatchNotFound: Problem(404, "batch_not_found", "Batch not found"),
    # A user's link made when the batch was accepted that expired before the user's turn:
    # contract 1c's code for a link that opens nothing. The user is not reset.
    SecretGone: Problem(404, "secret_gone", "The user's one-time link is gone"),
}


def batch_problem(error: DomainError) -> Problem:
    return BATCH_PROBLEMS.get(type(error)) or problem_for(error)


def batch_problem_response(error: DomainError, correlation_id: str) -> func.HttpResponse:
    problem = BATCH_PROBLEMS.get(type(error))
    if problem is None:
        return problem_response(error, correlation_id)
    body = {
        "type": PROBLEM_TYPE_BASE + problem.code,
        "title": problem.title,
        "status": problem.status,
        "detail": error.detail,
        "code": problem.code,
        "correlationId": correlation_id,
    }
    return func.HttpResponse(
        body=json.dumps(body, separators=(",", ":")),
        status_code=problem.status,
        headers={"x-correlation-id": correlation_id, "Cache-Control": "no-store"},
        mimetype="application/problem+json",
        charset="utf-8",
    )
