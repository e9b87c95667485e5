"""A link's table is bounded by the reset's deadline like every other upstream: storage
that hangs (it takes the request and never answers) cannot hold the reset past
RESET_DEADLINE_SECONDS. Hanging before the reset, the answer is 503
dependency_unavailable and nothing is reset; hanging after it, 503
secret_link_not_stored (the password was set but cannot be delivered)."""

from __future__ import annotations

import time

from shared.storage import SDK_RETRY_BACKOFF
from tests.integration.conftest import Harness, LinkTable
from tests.integration.helpers import assert_problem, audit_records

DEADLINE = 0.5
# What the answer may take past the deadline: the refusal's rendering and audit, on a
# busy machine. Without the bound, the table's own timeouts and retries (Timings'
# table_timeouts per attempt) hold a hanging reset for many seconds.
SLACK = 0.5
LINK = {"delivery": "link"}


def warm(harness: Harness) -> None:
    """The SDK's waits between its attempts as deployed (they must fit in the deadline
    too); secrets and tokens warm, then the short deadline: what it bounds is the table."""
    harness.timings(table_retry_backoff=SDK_RETRY_BACKOFF)
    assert harness.reset(LINK).status == 200
    harness.configure_route(RESET_DEADLINE_SECONDS=str(DEADLINE))


def test_storage_hanging_before_the_reset_answers_503_within_the_deadline(
    guard_off: Harness, link_table: LinkTable
) -> None:
    warm(guard_off)
    link_table.hang()
    resets = len(guard_off.stack.partner_center.applied_resets)

    started = time.monotonic()
    answer = guard_off.reset(LINK)
    took = time.monotonic() - started

    assert_problem(answer, 503, "dependency_unavailable")
    assert took < DEADLINE + SLACK
    assert len(guard_off.stack.partner_center.applied_resets) == resets
    assert audit_records(guard_off)[-1]["passwordSet"] is False


def test_storage_hanging_after_the_reset_answers_503_within_the_deadline(
    guard_off: Harness, link_table: LinkTable
) -> None:
    warm(guard_off)
    guard_off.stack.partner_center.on_reset = link_table.hang

    started = time.monotonic()
    answer = guard_off.reset(LINK)
    took = time.monotonic() - started

    assert_problem(answer, 503, "secret_link_not_stored")
    assert took < DEADLINE + SLACK
    assert audit_records(guard_off)[-1]["passwordSet"] is True
