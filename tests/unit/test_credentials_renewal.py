"""An exchange made for the rotation timer or a probe, then its write-back awaited: what
each way it can end is reported as."""

from __future__ import annotations

from concurrent.futures import Future

from pydantic import SecretStr

from credentials.access_token import AccessToken
from credentials.exchange import Exchange
from credentials.renewal import StoreLate, renew
from shared.context import Deadline
from shared.errors import DependencyUnavailable, PartnerCredentialsInvalid

TOKEN = AccessToken(SecretStr("access"), expires_at=3600.0, refresh_at=3300.0)


class _Tokens:
    def __init__(self, outcome: Exchange | Exception) -> None:
        self.outcome = outcome
        self.exchanges = 0

    def exchange(self) -> Exchange:
        self.exchanges += 1
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def written(result: str | Exception | None) -> Future[str | None]:
    future: Future[str | None] = Future()
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
    return future


def test_a_refused_exchange_is_its_failure_and_nothing_is_awaited() -> None:
    refused = PartnerCredentialsInvalid("Token exchange failed (invalid_grant, AADSTS700082).")
    renewal = renew(_Tokens(refused), Deadline(5))
    assert renewal.failure is refused
    assert (renewal.rotated, renewal.written, renewal.store_failure) == (False, False, None)


def test_an_unexpected_exchange_failure_is_reported_not_raised() -> None:
    renewal = renew(_Tokens(RuntimeError("boom")), Deadline(5))
    assert isinstance(renewal.failure, RuntimeError)


def test_an_exchange_without_a_new_refresh_token_writes_nothing() -> None:
    renewal = renew(_Tokens(Exchange(TOKEN, refresh_token_rotated=False, stored=None)), Deadline(5))
    assert (renewal.failure, renewal.rotated, renewal.written) == (None, False, False)


def test_a_rotated_token_kept_in_memory_alone_is_not_written() -> None:
    renewal = renew(_Tokens(Exchange(TOKEN, refresh_token_rotated=True, stored=None)), Deadline(5))
    assert (renewal.rotated, renewal.written, renewal.store_failure) == (True, False, None)


def test_a_stored_refresh_token_is_a_clean_renewal() -> None:
    exchange = Exchange(TOKEN, refresh_token_rotated=True, stored=written("v2"))
    renewal = renew(_Tokens(exchange), Deadline(5))
    assert (renewal.rotated, renewal.written, renewal.store_failure) == (True, True, None)


def test_a_refused_write_back_is_the_store_failure() -> None:
    refused = DependencyUnavailable("Could not write Key Vault secret 'rt'.")
    exchange = Exchange(TOKEN, refresh_token_rotated=True, stored=written(refused))
    assert renew(_Tokens(exchange), Deadline(5)).store_failure is refused


def test_a_write_back_still_under_way_when_the_deadline_is_spent_is_late() -> None:
    under_way: Future[str | None] = Future()
    exchange = Exchange(TOKEN, refresh_token_rotated=True, stored=under_way)
    renewal = renew(_Tokens(exchange), Deadline(0))
    assert isinstance(renewal.store_failure, StoreLate)
    assert renewal.written
