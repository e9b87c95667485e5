"""The one way to call upstream (shared/upstream.py), against a loopback server: a fresh
token after one 401, the retry budget, Retry-After within its cap, no redirect followed,
timeouts clipped to the deadline, and every failure naming the dependency."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from dev.emulators.base import EmulatorServer
from dev.emulators.faults import Delay, Disconnect, Hang, Status
from dev.emulators.messages import RecordedRequest, Response, json_response
from shared.context import Deadline, request_scope
from shared.errors import PartnerCredentialsInvalid, Throttled, UpstreamError, UpstreamTimeout
from shared.retry import RetryPolicy, TryAgain
from shared.upstream import Bearer, Request, Upstream, UpstreamFailed
from worker.http import build_session

NAME = "the example service"


class Service(EmulatorServer):
    """Answers 200 with a JSON object unless a fault says otherwise; records requests."""

    def handle(self, request: RecordedRequest) -> Response:
        del request
        return json_response(200, {"ok": True})


@pytest.fixture
def service() -> Iterator[Service]:
    with Service() as running:
        yield running


@dataclass
class Clock:
    """The deadline's time: real time plus every retry wait, which costs nothing."""

    slept: list[float] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() + sum(self.slept)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@dataclass
class Tokens:
    issued: int = 0
    invalidated: list[str] = field(default_factory=list)

    def token(self) -> SecretStr:
        self.issued += 1
        return SecretStr(f"token-{self.issued}")

    def invalidate(self, rejected: SecretStr) -> None:
        self.invalidated.append(rejected.get_secret_value())

    def bearer(self) -> Bearer:
        return Bearer(self.token, self.invalidate)


@dataclass
class Sent:
    attempts: int = 0


def upstream(
    clock: Clock, *, timeouts: tuple[float, float] = (3.0, 5.0), **policy: Any
) -> Upstream:
    return Upstream(NAME, build_session(), timeouts, RetryPolicy(**policy), clock.sleep)


def status(response: requests.Response) -> int:
    return response.status_code


def call(
    api: Upstream,
    request: Request,
    clock: Clock,
    *,
    seconds: float = 30.0,
    judge: Callable[[requests.Response], Any] = status,
    sends: Sent | None = None,
) -> Any:
    with request_scope(uuid.uuid4(), Deadline(seconds, clock=clock.now)):
        return api.call(request, judge, sends=sends)


def failure(api: Upstream, request: Request, clock: Clock, **kwargs: Any) -> UpstreamFailed:
    with pytest.raises(UpstreamFailed) as failed:
        call(api, request, clock, **kwargs)
    return failed.value


def get(service: Service, bearer: Bearer | None = None) -> Request:
    return Request("GET", f"{service.url}/things", bearer=bearer)


# --- the token -------------------------------------------------------------------------


def test_a_401_is_resent_once_with_a_fresh_token(service: Service) -> None:
    service.inject(Status(401))
    tokens, clock = Tokens(), Clock()

    assert call(upstream(clock), get(service, tokens.bearer()), clock) == 200

    assert [r.bearer_token() for r in service.requests] == ["token-1", "token-2"]
    assert tokens.invalidated == ["token-1"]
    assert clock.slept == []


def test_a_second_401_is_the_clients_to_judge_not_retried(service: Service) -> None:
    service.inject(Status(401), times=None)
    tokens, clock = Tokens(), Clock()

    assert call(upstream(clock), get(service, tokens.bearer()), clock) == 401

    assert len(service.requests) == 2
    assert tokens.invalidated == ["token-1"]


def test_every_request_sent_is_counted_the_resend_included(service: Service) -> None:
    service.inject(Status(401))
    sent, clock = Sent(), Clock()

    call(upstream(clock), get(service, Tokens().bearer()), clock, sends=sent)

    assert sent.attempts == 2


def test_a_refused_token_source_passes_through_and_nothing_is_sent(service: Service) -> None:
    def refused() -> SecretStr:
        raise PartnerCredentialsInvalid("refused", aadsts=700082)

    clock = Clock()
    with pytest.raises(PartnerCredentialsInvalid):
        call(upstream(clock), get(service, Bearer(refused, lambda _token: None)), clock)

    assert service.requests == []


def test_a_form_goes_as_a_form_and_without_a_token_when_none_is_asked_for(
    service: Service,
) -> None:
    clock = Clock()
    form = {"grant_type": "refresh_token", "scope": "x/.default"}

    call(upstream(clock), Request("POST", f"{service.url}/token", body=form), clock)

    [sent] = service.requests
    assert sent.form() == form
    assert sent.header("content-type") == "application/x-www-form-urlencoded"
    assert sent.bearer_token() is None


# --- retries ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", [408, 500, 502, 503, 504])
def test_a_retryable_status_is_retried_to_the_budget_and_named(service: Service, code: int) -> None:
    service.inject(Status(code, b"UPSTREAM-SAYS"), times=None)
    clock = Clock()

    failed = failure(upstream(clock, max_attempts=3), get(service), clock)

    assert len(service.requests) == 3
    assert failed.reason == f"{NAME} answered HTTP {code}; gave up after 3 attempts"
    assert isinstance(failed.error, UpstreamError)
    assert "UPSTREAM-SAYS" not in failed.reason + failed.error.detail


def test_a_retry_then_an_answer_returns_the_answer(service: Service) -> None:
    service.inject(Status(503), times=2)
    clock = Clock()

    assert call(upstream(clock), get(service), clock) == 200
    assert len(clock.slept) == 2


def test_the_judge_may_ask_for_another_attempt(service: Service) -> None:
    verdicts: list[int | TryAgain] = [TryAgain("not yet"), 200]
    clock = Clock()

    answer = call(upstream(clock), get(service), clock, judge=lambda _response: verdicts.pop(0))

    assert answer == 200
    assert len(service.requests) == 2


def test_a_dropped_connection_is_retried(service: Service) -> None:
    service.inject(Disconnect())
    clock = Clock()

    assert call(upstream(clock), get(service), clock) == 200
    assert len(service.requests) == 2


def test_an_unreachable_service_is_named(service: Service) -> None:
    service.inject(Disconnect(), times=None)
    clock = Clock()

    failed = failure(upstream(clock, max_attempts=2), get(service), clock)

    assert failed.reason.startswith(f"{NAME} could not be reached (")


def test_retry_after_is_waited_within_the_policys_cap(service: Service) -> None:
    service.inject(Status(429, None, {"Retry-After": "1000"}))
    clock = Clock()

    assert call(upstream(clock, max_retry_after=2.0), get(service), clock) == 200
    assert clock.slept == [2.0]


def test_a_final_429_says_how_long_to_wait(service: Service) -> None:
    service.inject(Status(429, None, {"Retry-After": "7"}), times=None)
    clock = Clock()

    failed = failure(upstream(clock, max_attempts=2, jitter=0), get(service), clock)

    assert isinstance(failed.error, Throttled)
    assert failed.error.retry_after is not None and failed.error.retry_after >= 7
    assert failed.error.detail == "The example service kept throttling past the retry budget."


def test_a_wait_the_deadline_cannot_hold_is_not_begun(service: Service) -> None:
    service.inject(Status(429, None, {"Retry-After": "5"}), times=None)
    clock = Clock()

    failed = failure(upstream(clock, jitter=0), get(service), clock, seconds=12.0)

    assert clock.slept == [5.0, 5.5]  # the third wait, 6.5 s, would outlast the deadline
    assert isinstance(failed.error, Throttled)
    assert failed.error.retry_after is not None and failed.error.retry_after >= 5
    assert failed.reason == (
        f"{NAME} answered HTTP 429, and the reset's deadline ran out before a retry"
    )


# --- redirects -------------------------------------------------------------------------


def test_a_redirect_is_never_followed(service: Service) -> None:
    with Service() as elsewhere:
        service.inject(Status(302, None, {"Location": f"{elsewhere.url}/collect"}))
        clock = Clock()

        answer = call(upstream(clock), get(service, Tokens().bearer()), clock)

        assert answer == 302
        assert elsewhere.requests == []
        assert len(service.requests) == 1


# --- timeouts and the deadline ---------------------------------------------------------


def test_a_spent_deadline_names_the_dependency_and_sends_nothing(service: Service) -> None:
    clock = Clock()

    failed = failure(upstream(clock), get(service), clock, seconds=0.0)

    assert isinstance(failed.error, UpstreamTimeout)
    assert failed.error.detail == f"The reset's deadline ran out before {NAME} answered."
    assert failed.reason == f"the reset's deadline ran out before {NAME} answered"
    assert service.requests == []


def test_a_hang_is_cut_at_the_deadline_naming_the_dependency(service: Service) -> None:
    service.inject(Hang(5), times=None)
    clock = Clock()
    started = time.monotonic()

    failed = failure(upstream(clock, timeouts=(3.0, 20.0)), get(service), clock, seconds=0.2)

    assert time.monotonic() - started < 1.0
    assert isinstance(failed.error, UpstreamTimeout)
    assert NAME in failed.error.detail


def test_the_read_timeout_is_the_upstreams_and_a_slow_answer_is_retried(
    service: Service,
) -> None:
    service.inject(Delay(0.3))
    clock = Clock()

    assert call(upstream(clock, timeouts=(3.0, 0.05)), get(service), clock) == 200
    assert len(service.requests) == 2


def test_a_deadline_error_outside_a_call_names_its_dependency() -> None:
    with pytest.raises(UpstreamTimeout) as ran_out:
        Deadline(0).timeout(3.0, dependency="Microsoft Graph")

    assert ran_out.value.detail == "The reset's deadline ran out before Microsoft Graph answered."
