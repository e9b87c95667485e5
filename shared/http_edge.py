"""The one edge every HTTP route answers through.

It takes the correlation ID from the caller's headers, opens the request scope with a
deadline, and gives every failure its HTTP meaning in one place: a domain error is its
problem answer, a bad app setting the `500 configuration_error` naming the settings,
anything else the `500 internal_error` of `shared.unexpected`. A route says what it
serves and, if it keeps a record of each request (an audit), what to do once answered;
the edge calls that inside the request scope, refused or not.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import azure.functions as func

from shared.context import Deadline, correlation_id_from, request_scope
from shared.errors import ConfigurationError, DomainError
from shared.log import quoted
from shared.problems import Problem, problem_for, problem_response
from shared.settings import SettingsError
from shared.unexpected import unexpected_error

# How a refusal is answered, and which problem an error is: the shared table's, unless a
# route has answers of its own (the one-time links' secret_gone, say).
ProblemAnswer = Callable[[DomainError, str], func.HttpResponse]
ProblemOf = Callable[[DomainError], Problem]

# Until a route reads its own settings, the contract's default.
DEFAULT_DEADLINE_SECONDS = 25.0


@dataclass(frozen=True)
class Answered:
    """What a route answered, and the problem when it refused."""

    correlation_id: uuid.UUID
    response: func.HttpResponse
    refusal: Problem | None


@dataclass(frozen=True)
class Edge:
    """One route's edge: where its refusals are logged, how their line starts ("reset
    failed"), and what an unexpected error interrupted ("reset")."""

    logger: logging.Logger
    refused: str
    during: str
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    problem_answer: ProblemAnswer = problem_response
    problem_of: ProblemOf = problem_for

    def answer(
        self,
        req: func.HttpRequest,
        serve: Callable[[uuid.UUID], func.HttpResponse],
        *,
        finish: Callable[[Answered], None] | None = None,
    ) -> func.HttpResponse:
        """`serve(correlation_id)`'s response, or the problem answer of what it raised."""
        correlation_id = correlation_id_from(req.headers)
        with request_scope(correlation_id, Deadline(self.deadline_seconds)):
            refusal = None
            try:
                response = serve(correlation_id)
            except Exception as exc:  # noqa: BLE001 - the last line of defence answers 500
                error = self._domain_error(exc)
                refusal = self._log_refusal(error)
                response = self.problem_answer(error, str(correlation_id))
            if finish is not None:
                finish(Answered(correlation_id, response, refusal))
            return response

    def _domain_error(self, exc: Exception) -> DomainError:
        if isinstance(exc, DomainError):
            return exc
        if isinstance(exc, SettingsError):
            return ConfigurationError(
                "The function's app settings are incomplete: " + "; ".join(exc.problems)
            )
        return unexpected_error(exc, logger=self.logger, during=self.during)

    def _log_refusal(self, error: DomainError) -> Problem:
        problem = self.problem_of(error)
        # `detail` may quote what the caller sent (a UPN, a caller's app ID): quoted, so
        # it stays one JSON string inside the line.
        self.logger.log(
            logging.WARNING if problem.status < 500 else logging.ERROR,
            "%s: %s %s: %s",
            self.refused,
            problem.status,
            problem.code,
            quoted(error.detail),
        )
        return problem
