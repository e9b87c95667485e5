"""The batch queue and the batch table are bounded by the deadline of the request under
way, as the link table is: storage that takes a request and never answers cannot hold a
batch's acceptance or a worker's message past it (the clients' own timeouts and retries,
Timings' queue_timeouts and table_timeouts per attempt, would take many seconds). The
clients are the ones the composition root builds from the app settings, with Azurite
reached through a proxy the spec makes hang."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator

import azure.functions as func
import pytest

import composition
from reset_batches.request import parse_batch_order
from shared.caller_auth import Caller
from shared.context import Deadline, request_scope
from shared.errors import DependencyUnavailable
from shared.storage import SDK_RETRY_BACKOFF
from tests.integration.batches.conftest import BatchHarness, users
from tests.loopback_proxy import LoopbackProxy

DEADLINE = 0.3
# What a refusal may take past the deadline on a busy machine.
SLACK = 0.4


def through_hanging_proxy(batches: BatchHarness, endpoint: str) -> Iterator[LoopbackProxy]:
    """The app's `endpoint` (QueueEndpoint or TableEndpoint) through a proxy that hangs;
    the SDK's waits between attempts as deployed (they must fit in the deadline too)."""
    found = re.search(rf"{endpoint}=http://127\.0\.0\.1:(\d+)/", batches.connection)
    assert found is not None, f"Azurite's connection string names its {endpoint}"
    with LoopbackProxy(int(found.group(1))) as proxy:
        batches.harness.timings(
            table_retry_backoff=SDK_RETRY_BACKOFF, queue_retry_backoff=SDK_RETRY_BACKOFF
        )
        batches.harness.configure(
            AzureWebJobsStorage=batches.connection.replace(
                found.group(0), f"{endpoint}=http://127.0.0.1:{proxy.port}/"
            )
        )
        proxy.hang()
        yield proxy


@pytest.fixture
def hanging_queue(batches: BatchHarness) -> Iterator[LoopbackProxy]:
    yield from through_hanging_proxy(batches, "QueueEndpoint")


@pytest.fixture
def hanging_table(batches: BatchHarness) -> Iterator[LoopbackProxy]:
    yield from through_hanging_proxy(batches, "TableEndpoint")


def batch_request(count: int) -> func.HttpRequest:
    customer = "c0a1b2c3-d4e5-4f60-8a71-b2c3d4e5f601"
    return func.HttpRequest(
        method="POST",
        url=f"http://localhost:7071/api/customers/{customer}/resetpasswords",
        headers={"Content-Type": "application/json"},
        params={},
        route_params={"customer": customer},
        body=json.dumps({"users": users(count), "delivery": "none"}).encode(),
    )


def test_a_hanging_queue_is_cut_at_the_acceptances_deadline(
    batches: BatchHarness, hanging_queue: LoopbackProxy
) -> None:
    acceptance = composition.batches().acceptance
    order = parse_batch_order(batch_request(1))

    started = time.monotonic()
    with request_scope(uuid.uuid4(), Deadline(DEADLINE)), pytest.raises(DependencyUnavailable):
        acceptance.accept(order, Caller(), uuid.uuid4())
    took = time.monotonic() - started

    assert took < DEADLINE + SLACK


def test_a_hanging_batch_table_is_cut_at_the_workers_deadline(
    batches: BatchHarness, hanging_table: LoopbackProxy
) -> None:
    store = composition.batches().store

    started = time.monotonic()
    with request_scope(uuid.uuid4(), Deadline(DEADLINE)), pytest.raises(DependencyUnavailable):
        store.item(str(uuid.uuid4()), 0)
    took = time.monotonic() - started

    assert took < DEADLINE + SLACK
