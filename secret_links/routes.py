"""HTTP and timer functions of one-time links (contract 1c), built around the collaborators
the composition root hands in (this module never imports it).

- `GET /api/secrets/{linkId}` (anonymous): the page. It reads the link's state, never
  spends it: a link preview that fetches the page leaves the view for the person.
- `POST /api/secrets/{linkId}/reveal` (anonymous, body `{}`): spends the link and answers
  its sealed password once; a second reveal, an expired, unknown or malformed link all
  get the same 404 `secret_gone`. Each reveal writes a `password_link.revealed` audit
  record (logger `audit.password_link`): the link ID, who it was for, when; never the
  key or the ciphertext.
- A timer deletes expired rows.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import azure.functions as func

from secret_links.crypto import is_link_id
from secret_links.errors import SecretGone, SecretNotReady
from secret_links.page import HEADERS, View, render
from secret_links.store import RevealedLink, SecretLinkStore
from shared.context import Deadline, request_scope
from shared.errors import (
    DEPENDENCY_RETRY_AFTER,
    ConfigurationError,
    DependencyUnavailable,
    DomainError,
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from shared.http_edge import Edge
from shared.log import log_event
from shared.problems import (
    PROBLEM_TYPE_BASE,
    Problem,
    json_response,
    problem_for,
    problem_response,
)
from shared.query import query_parameters, shown_name, unknown_parameters
from shared.settings import SettingsError
from shared.unexpected import unexpected_error

logger = logging.getLogger("secret_links")
audit_logger = logging.getLogger("audit.password_link")

PURGE_SCHEDULE = "0 17 * * * *"  # hourly: an expired link is refused anyway, this is tidying
# Each request makes a read and at most a few writes to the table.
DEADLINE_SECONDS = 20.0
MAX_REVEAL_BODY_BYTES = 1024
REVEALED_EVENT = "password_link.revealed"

# The answers only these routes give, in the shape of shared/problems.py's.
LINK_PROBLEMS: Mapping[type[DomainError], Problem] = {
    SecretGone: Problem(404, "secret_gone", "This link was used already or has expired"),
    SecretNotReady: Problem(409, "secret_not_ready", "The password for this link is not set yet"),
}
# Answers to a link's URL say nothing to a search engine, a cache or a referrer.
_QUIET_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True)
class SecretLinkDependencies:
    store: SecretLinkStore
    clock: Callable[[], float]


Dependencies = Callable[[], SecretLinkDependencies]


def secret_links_blueprint(dependencies: Dependencies) -> func.Blueprint:
    """The three functions; `dependencies()` raises SettingsError naming a bad setting."""
    bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions

    @bp.function_name("secret_link_page")
    @bp.route(route="secrets/{linkId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def secret_link_page(req: func.HttpRequest) -> func.HttpResponse:
        return serve_page(req, dependencies)

    @bp.function_name("secret_link_reveal")
    @bp.route(
        route="secrets/{linkId}/reveal", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS
    )
    def secret_link_reveal(req: func.HttpRequest) -> func.HttpResponse:
        return serve_reveal(req, dependencies)

    @bp.function_name("purge_secret_links")
    @bp.timer_trigger(
        arg_name="timer", schedule=PURGE_SCHEDULE, run_on_startup=False, use_monitor=True
    )
    def purge_secret_links(timer: func.TimerRequest) -> None:
        purge(dependencies)

    return bp


def serve_page(req: func.HttpRequest, dependencies: Dependencies) -> func.HttpResponse:
    return PAGE_EDGE.answer(req, lambda _correlation_id: _page(req, dependencies))


def _page(req: func.HttpRequest, dependencies: Dependencies) -> func.HttpResponse:
    """The page answers HTML whatever happens (a problem document would be shown raw to
    the person who opened the link), and says why in the log."""
    view, status = View.GONE, 404
    link_id = req.route_params.get("linkId", "")
    try:
        if is_link_id(link_id) and dependencies().store.status(link_id) is not None:
            view, status = View.READY, 200
    except SettingsError as exc:
        logger.error("secret link page: settings problem: %s", "; ".join(exc.problems))
        view, status = View.UNAVAILABLE, 500
    except DependencyUnavailable:
        view, status = View.UNAVAILABLE, 503
    except Exception as error:  # noqa: BLE001 - the page answers, and says why in the log
        unexpected_error(error, logger=logger, during="secret link page")
        view, status = View.UNAVAILABLE, 500
    headers = dict(HEADERS)
    if status == 503:
        headers["Retry-After"] = str(DEPENDENCY_RETRY_AFTER)
    return func.HttpResponse(
        body=render(view),
        status_code=status,
        headers=headers,
        mimetype="text/html",
        charset="utf-8",
    )


def serve_reveal(req: func.HttpRequest, dependencies: Dependencies) -> func.HttpResponse:
    return REVEAL_EDGE.answer(
        req, lambda correlation_id: _reveal(req, correlation_id, dependencies)
    )


def _reveal(
    req: func.HttpRequest, correlation_id: uuid.UUID, dependencies: Dependencies
) -> func.HttpResponse:
    check_reveal_request(req)
    link_id = req.route_params.get("linkId", "")
    # A malformed ID is simply a link that does not exist: the format stays private.
    if not is_link_id(link_id):
        raise SecretGone
    deps = _dependencies(dependencies)
    revealed = deps.store.reveal(link_id)
    audit_reveal(revealed, deps.clock(), str(correlation_id))
    response = json_response(revealed.sealed.to_json(), correlation_id=str(correlation_id))
    for name, value in _QUIET_HEADERS.items():
        response.headers[name] = value
    return response


def check_reveal_request(req: func.HttpRequest) -> None:
    """The reveal takes `{}` and nothing else: JSON (a missing Content-Type is read as
    JSON), an empty object, no query parameter besides the host's key."""
    declared = (req.headers.get("content-type") or "").strip()
    if declared and declared.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType("Send the body {} with 'Content-Type: application/json'.")
    unknown = unknown_parameters(query_parameters(req), frozenset())
    if unknown:
        names = ", ".join(dict.fromkeys(shown_name(name) for name in unknown))
        raise InvalidRequest(f"The reveal takes no query parameters: {names}.")
    body = req.get_body() or b""
    if len(body) > MAX_REVEAL_BODY_BYTES:
        raise PayloadTooLarge(f"The body must be {{}} ({MAX_REVEAL_BODY_BYTES} bytes at most).")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        value = None
    if value != {}:
        raise InvalidRequest("The body must be the empty JSON object {}.")


def audit_reveal(revealed: RevealedLink, now: float, correlation_id: str) -> None:
    log_event(
        audit_logger,
        logging.INFO,
        REVEALED_EVENT,
        {
            "linkId": revealed.link_id,
            "customerTenantId": revealed.customer_id,
            "userId": revealed.user_id,
            "revealedAt": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "correlationId": correlation_id,
        },
    )


def purge(dependencies: Dependencies) -> int:
    """One purge run; the number of rows removed (0 when it could not run)."""
    with request_scope(uuid.uuid4(), Deadline(DEADLINE_SECONDS * 10)):
        try:
            removed = dependencies().store.purge_expired()
        except SettingsError as exc:
            logger.error("secret link purge skipped: %s", "; ".join(exc.problems))
            return 0
        except DomainError as error:
            logger.error("secret link purge failed: %s", error.detail)
            return 0
        logger.info("secret link purge removed %d expired rows", removed)
        return removed


def _dependencies(dependencies: Dependencies) -> SecretLinkDependencies:
    try:
        return dependencies()
    except SettingsError as exc:
        logger.error("secret links: settings problem: %s", "; ".join(exc.problems))
        raise ConfigurationError(
            "The function's one-time link settings are not valid: " + "; ".join(exc.problems)
        ) from None


def _link_problem(error: DomainError) -> Problem:
    return LINK_PROBLEMS.get(type(error)) or problem_for(error)


def _problem(error: DomainError, correlation_id: str) -> func.HttpResponse:
    problem = LINK_PROBLEMS.get(type(error))
    if problem is None:
        response = problem_response(error, correlation_id)
    else:
        body = {
            "type": PROBLEM_TYPE_BASE + problem.code,
            "title": problem.title,
            "status": problem.status,
            "detail": error.detail,
            "code": problem.code,
            "correlationId": correlation_id,
        }
        headers = {"x-correlation-id": correlation_id, "Cache-Control": "no-store"}
        if error.retry_after is not None:
            headers["Retry-After"] = str(error.retry_after)
        response = func.HttpResponse(
            body=json.dumps(body, separators=(",", ":")),
            status_code=problem.status,
            headers=headers,
            mimetype="application/problem+json",
            charset="utf-8",
        )
    for name, value in _QUIET_HEADERS.items():
        response.headers[name] = value
    return response


PAGE_EDGE = Edge(logger, "secret link page refused", "secret link page", DEADLINE_SECONDS)
REVEAL_EDGE = Edge(
    logger,
    "secret link reveal refused",
    "secret link reveal",
    DEADLINE_SECONDS,
    problem_answer=_problem,
    problem_of=_link_problem,
)
