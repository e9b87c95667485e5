"""One way to call an upstream service over HTTP.

Each client (Partner Center, Microsoft Graph, the identity platform's public documents)
keeps what is its own: the requests it makes, which bearer token they carry (none for a
public document), how an answer maps to its domain and what its messages say. What every
call shares is written here once:

- (connect, read) timeouts per dependency, from `composition.Timings`, each clipped to
  what is left of the request's deadline;
- redirects are never followed: a bearer token or a form of secrets would go wherever a
  Location pointed. A 3xx is the answer, for the client to judge;
- a 401 forgets the token and the request goes once more with a fresh one (a token may
  be revoked before it expires);
- 408, 429 and 5xx answers, dropped connections and timeouts are retried with backoff
  (a 429 waits its Retry-After, within the policy's cap) by `shared.retry.with_retries`;
- a call that gets no answer worth judging fails naming the dependency: `UpstreamFailed`,
  which says whether the deadline ran out, the retries were spent, or the service kept
  throttling (and for how long, for the caller's Retry-After).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import requests
from pydantic import SecretStr

from shared.context import current_deadline
from shared.errors import (
    DomainError,
    Throttled,
    UpstreamError,
    UpstreamTimeout,
    deadline_ran_out,
)
from shared.retry import RETRYABLE_STATUSES, RetryPolicy, TryAgain, parse_retry_after, with_retries

_T = TypeVar("_T")


@dataclass(frozen=True)
class Bearer:
    """Where a request's access token comes from, and how a refused one is forgotten."""

    token: Callable[[], SecretStr]
    invalidate: Callable[[SecretStr], None]


@dataclass(frozen=True)
class Request:
    """One request, the same on every attempt (Partner Center's MS-RequestId included)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] | None = None
    # Bytes go as they are; a mapping goes as a form (application/x-www-form-urlencoded).
    body: bytes | Mapping[str, str] | None = None
    bearer: Bearer | None = None
    # What the retry log line calls the call (default: the dependency and the method).
    label: str | None = None


class Sends(Protocol):
    """Where a call counts the requests it sent (a reset's audit reports them)."""

    attempts: int


class UpstreamFailed(Exception):
    """No answer worth judging: the deadline ran out, or the retries were spent.

    `reason` is a clause for a client's own message: it names the dependency and quotes
    nothing the service said. `error` says the same as a domain error, for a client that
    has no message of its own: 429 throttled, 504 upstream_timeout or 502 upstream_error.
    """

    def __init__(self, reason: str, error: DomainError) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


@dataclass(frozen=True)
class Upstream:
    """A dependency reached over HTTP, and how long and how often to wait for it."""

    # Named in every failure: "Partner Center", "Microsoft Graph", "the identity platform".
    name: str
    session: requests.Session
    timeouts: tuple[float, float]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep

    def call(
        self,
        request: Request,
        judge: Callable[[requests.Response], _T | TryAgain],
        *,
        sends: Sends | None = None,
    ) -> _T:
        """Send `request` until an answer is final, and return what `judge` makes of it.

        `judge` sees every answer that is not retried here (2xx, 3xx, 4xx other than 408
        and 429, the 401 that followed a fresh token); it returns a value, a TryAgain for
        a failure of its own worth retrying, or raises. What `judge` and the bearer's
        token source raise passes through; the rest fails as UpstreamFailed.
        """
        attempts = _Attempts(self, request, judge, sends)
        return with_retries(
            attempts.one,
            policy=self.retry,
            sleep=self.sleep,
            give_up=attempts.gave_up,
            label=request.label or f"{self.name} {request.method}",
        )

    def send(self, request: Request, sends: Sends | None = None) -> requests.Response:
        """One exchange, not retried: the token, the request, and after a 401 the same
        request with a fresh token. Raises UpstreamTimeout naming this dependency when
        the deadline has run out, and requests' own errors as they come."""
        if request.bearer is None:
            return self._send(request, None, sends)
        token = request.bearer.token()
        response = self._send(request, token, sends)
        if response.status_code != 401:
            return response
        request.bearer.invalidate(token)
        return self._send(request, request.bearer.token(), sends)

    def _send(
        self, request: Request, token: SecretStr | None, sends: Sends | None
    ) -> requests.Response:
        if sends is not None:
            sends.attempts += 1
        deadline = current_deadline()
        connect, read = self.timeouts
        timeout = (
            deadline.timeout(connect, dependency=self.name),
            deadline.timeout(read, dependency=self.name),
        )
        headers = dict(request.headers)
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        return self.session.request(
            request.method,
            request.url,
            params=request.params,
            data=request.body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
        )


@dataclass
class _Attempts(Generic[_T]):
    """One call's attempts, and what the latest one saw."""

    upstream: Upstream
    request: Request
    judge: Callable[[requests.Response], _T | TryAgain]
    sends: Sends | None
    made: int = 0
    # Seconds the latest answer, a 429, asked us to wait: what a final "throttled" says.
    throttled_for: float | None = None

    def one(self) -> _T | TryAgain:
        self.made += 1
        try:
            response = self.upstream.send(self.request, self.sends)
        except UpstreamTimeout:
            # Throttled on the attempt before: the caller hears how long to wait.
            raise self.out_of_time() from None
        except requests.Timeout:
            if current_deadline().expired():
                raise self.out_of_time() from None
            return self.again(None)
        except requests.RequestException as exc:
            return self.again(f"{self.upstream.name} could not be reached ({type(exc).__name__})")
        status = response.status_code
        if status not in RETRYABLE_STATUSES:
            return self.again_if(self.judge(response))
        if status != 429:
            return self.again(f"{self.upstream.name} answered HTTP {status}")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        self.throttled_for = retry_after or 1.0
        return TryAgain(
            f"{self.upstream.name} answered HTTP 429", retry_after=retry_after, throttled=True
        )

    def again(self, failure: str | None) -> TryAgain:
        self.throttled_for = None
        return TryAgain(failure)

    def again_if(self, judged: _T | TryAgain) -> _T | TryAgain:
        if isinstance(judged, TryAgain):
            self.throttled_for = None
        return judged

    def out_of_time(self) -> UpstreamFailed:
        name = self.upstream.name
        if self.throttled_for is not None:
            reason = f"{name} kept throttling until the reset's deadline ran out"
            throttled = Throttled(_sentence(reason), retry_after=max(1, round(self.throttled_for)))
            return UpstreamFailed(reason, throttled)
        return UpstreamFailed(
            f"the reset's deadline ran out before {name} answered", deadline_ran_out(name)
        )

    def gave_up(self, last: TryAgain, next_delay: float) -> UpstreamFailed:
        """`last.failure` None: the last attempt got no answer in time."""
        name = self.upstream.name
        failure = last.failure or f"{name} did not answer in time"
        if next_delay >= current_deadline().remaining():
            reason = f"{failure}, and the reset's deadline ran out before a retry"
        else:
            reason = f"{failure}; gave up after {self.made} attempts"
        error: DomainError
        if self.throttled_for is not None:
            wait = max(self.throttled_for, next_delay)
            error = Throttled(
                _sentence(f"{name} kept throttling past the retry budget"),
                retry_after=max(1, round(wait)),
            )
        elif last.failure is None:
            error = UpstreamTimeout(_sentence(f"{name} did not answer within the reset's deadline"))
        else:
            error = UpstreamError(_sentence(f"{last.failure}; gave up after retrying"))
        return UpstreamFailed(reason, error)


def _sentence(clause: str) -> str:
    return f"{clause[:1].upper()}{clause[1:]}."
