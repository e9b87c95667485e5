"""Every upstream call waits as composition.Timings says, and the identity platform's
public documents are called the one way every other upstream is (shared/upstream.py)."""

from __future__ import annotations

import re
import time
from email.utils import formatdate

from dev.emulators.faults import Delay, Hang, Status
from dev.emulators.samples import SAMPLE_CUSTOMER_DOMAIN
from tests.integration.conftest import Harness
from tests.integration.helpers import assert_problem, bearer

DISCOVERY = rf"^/{re.escape(SAMPLE_CUSTOMER_DOMAIN)}/v2\.0/\.well-known/openid-configuration$"


def discoveries(harness: Harness) -> int:
    return len(harness.stack.identity.requests_to("GET", DISCOVERY))


def test_tenant_discovery_reads_with_the_timings_read_timeout(harness: Harness) -> None:
    harness.timings(identity_documents_timeouts=(3.0, 0.2))
    harness.stack.identity.inject(Delay(0.5), path=DISCOVERY)

    assert harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN).status == 200
    assert discoveries(harness) == 2


def test_tenant_discovery_throttled_waits_its_retry_after(harness: Harness) -> None:
    harness.stack.identity.inject(Status(429, None, {"Retry-After": "3"}), path=DISCOVERY)

    assert harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN).status == 200
    assert harness.clock.slept >= 3
    assert discoveries(harness) == 2


def test_caller_signing_keys_are_read_with_the_timings_read_timeout(harness: Harness) -> None:
    harness.configure(**harness.stack.settings(caller_auth=True))
    harness.timings(identity_documents_timeouts=(3.0, 0.2))
    harness.stack.identity.inject(Hang(3), times=None, path=r"/discovery/")

    started = time.monotonic()
    answer = harness.reset(headers=bearer(harness))

    assert_problem(answer, 503, "dependency_unavailable")
    assert time.monotonic() - started < 2.0


def test_the_managed_identity_endpoint_is_read_with_the_timings_read_timeout(
    harness: Harness,
) -> None:
    harness.timings(managed_identity_timeouts=(3.0, 0.2))
    harness.stack.managed_identity.inject(Hang(5), times=None)

    started = time.monotonic()
    assert_problem(harness.reset(), 503, "dependency_unavailable")
    assert time.monotonic() - started < 3.0
    harness.stack.managed_identity.clear_faults()


TOKEN_ENDPOINT = r"/oauth2/v2\.0/token$"


def test_the_token_endpoint_is_read_with_the_timings_read_timeout(harness: Harness) -> None:
    harness.timings(token_endpoint_timeouts=(3.0, 0.2))
    harness.stack.identity.inject(Delay(0.5), path=TOKEN_ENDPOINT)

    assert harness.reset().status == 200
    assert len(harness.stack.identity.requests_to("POST", TOKEN_ENDPOINT)) == 2


def test_a_throttled_token_endpoint_waits_its_retry_after_as_every_upstream_does(
    harness: Harness,
) -> None:
    # An HTTP date, as Partner Center's and Graph's are read (shared/upstream.py).
    when = formatdate(time.time() + 3, usegmt=True)
    harness.stack.identity.inject(
        Status(429, {"error": "temporarily_unavailable"}, {"Retry-After": when}),
        path=TOKEN_ENDPOINT,
    )

    assert harness.reset().status == 200
    assert harness.clock.slept >= 1.5


def test_key_vault_is_read_with_the_timings_read_timeout(harness: Harness) -> None:
    harness.timings(key_vault_timeouts=(3.0, 0.2))
    harness.stack.key_vault.inject(Hang(5), times=None, path="/secrets/")

    started = time.monotonic()
    assert_problem(harness.reset(), 503, "dependency_unavailable")
    assert time.monotonic() - started < 3.0
    harness.stack.key_vault.clear_faults()
