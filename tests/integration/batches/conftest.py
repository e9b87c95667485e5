"""Batches against Azurite through the real azure-storage-queue and azure-data-tables
code: the registered functions called as the worker calls them, the queue trigger driven
by the local host stand-in (dev/queue_host.py) poll by poll. Two harnesses: `wired`
runs each item through the reset service against the emulators, as deployed; `batches`
swaps in a reset step the spec scripts, for the worker's own rules (retries, poison)."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient
from azure.functions.queue import QueueMessage
from azure.storage.queue import QueueClient

from dev.emulators.samples import SAMPLE_CUSTOMER_ID
from dev.link_client import open_sealed
from dev.queue_host import LocalQueueHost, Outcome, QueueOptions, queue_functions
from reset_batches.queue import POISON_QUEUE_NAME, QUEUE_NAME
from reset_batches.records import BatchItem, ItemOutcome
from secret_links.crypto import SealedPassword
from tests.integration.conftest import Answer, Harness

PUBLIC_BASE_URL = "http://localhost:7071"
RESOLVED_USER = "0b1ec7ed-0000-4000-8000-000000000001"


class FakeResetStep:
    """Answers each item as scripted by the user it names (the last answer repeats);
    unscripted users succeed, named by their object ID."""

    def __init__(self) -> None:
        self.calls: list[BatchItem] = []
        self.script: dict[str, list[ItemOutcome]] = {}

    def answer(self, user: str, *outcomes: ItemOutcome) -> None:
        self.script[user] = list(outcomes)

    def reset_one(self, item: BatchItem) -> ItemOutcome:
        self.calls.append(item)
        scripted = self.script.get(item.user.sent)
        if scripted:
            return scripted.pop(0) if len(scripted) > 1 else scripted[0]
        revoked = True if item.revoke_sessions else None
        return ItemOutcome.succeeded(
            item.user.ref.object_id or RESOLVED_USER, sessions_revoked=revoked
        )

    def resets_of(self, user: str) -> int:
        return sum(1 for item in self.calls if item.user.sent == user)


@dataclass
class BatchHarness:
    harness: Harness
    connection: str
    # The scripted step (`batches`); None where the reset service runs (`wired`).
    step: FakeResetStep | None
    # Raw text, as it lies in the queue (base64).
    queue: QueueClient
    poison: QueueClient
    # Rows the tables held when the spec began (Azurite lives for the whole run).
    baseline: tuple[int, int] = (0, 0)

    def submit(
        self,
        body: Mapping[str, Any] | bytes,
        *,
        customer: str = SAMPLE_CUSTOMER_ID,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.harness.call(
            "reset_password_batch",
            method="POST",
            route=f"customers/{customer}/resetpasswords",
            route_params={"customer": customer},
            body=raw,
            headers={"Content-Type": "application/json", **(headers or {})},
            params=params,
        )

    def status(
        self,
        batch_id: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        return self.harness.call(
            "batch_status",
            method="GET",
            route=f"batches/{batch_id}",
            route_params={"batchId": batch_id},
            headers=headers,
            params=params,
        )

    def queued(self) -> int:
        return self.queue.get_queue_properties().approximate_message_count or 0

    def poisoned(self) -> int:
        return self.poison.get_queue_properties().approximate_message_count or 0

    def message_texts(self) -> list[str]:
        """Every message in the queue and its poison queue, decoded (peeked: at most 32
        of each, which is all a spec here makes)."""
        texts = []
        for queue in (self.queue, self.poison):
            for message in queue.peek_messages(max_messages=32):
                texts.append(base64.b64decode(message.content).decode())
        return texts

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.message_texts() if text]

    def rows(self, table_name: str) -> list[dict[str, Any]]:
        table = TableClient.from_connection_string(self.connection, table_name)
        try:
            return [dict(row) for row in table.list_entities()]
        except Exception:  # noqa: BLE001 - a table not made yet has no rows
            return []
        finally:
            table.close()

    def row_counts(self) -> tuple[int, int]:
        return len(self.rows("batches")), len(self.rows("secretlinks"))

    def assert_nothing_stored(self) -> None:
        """No message queued and no row written since the spec began."""
        assert self.queued() == 0
        assert self.row_counts() == self.baseline

    def stored_text(self) -> str:
        """Everything the queue, its poison queue and both tables hold, as one text."""
        rows = self.rows("batches") + self.rows("secretlinks")
        return "\n".join([*self.message_texts(), json.dumps(rows, default=str)])

    def log_text(self) -> str:
        """Every captured log line, its exception and its structured fields."""
        lines = []
        for phase in ("setup", "call", "teardown"):
            for record in self.harness.caplog.get_records(phase):
                lines.append(record.getMessage())
                if record.exc_info:
                    lines.append(logging.Formatter().formatException(record.exc_info))
                lines.append(json.dumps(getattr(record, "custom_dimensions", None), default=str))
        return "\n".join(lines)

    @property
    def fake(self) -> FakeResetStep:
        assert self.step is not None, "the `batches` harness scripts its step"
        return self.step

    def run_all(self, **changes: Any) -> list[Outcome]:
        """The local host stand-in polls until the queue is empty (retries come back at
        once): what became of each message it took, in order."""
        host = self.host(**changes)
        outcomes: list[Outcome] = []
        for _ in range(100):
            taken = host.poll_once()
            if not taken and self.queued() == 0:
                return outcomes
            outcomes += taken
        raise AssertionError("the queue did not drain")

    def reveal(self, url: str) -> Answer:
        """A link's one reveal, through the registered function as the page calls it."""
        link_id = url.split("#", 1)[0].rpartition("/")[2]
        return self.harness.call(
            "secret_link_reveal",
            method="POST",
            route=f"secrets/{link_id}/reveal",
            route_params={"linkId": link_id},
            body=b"{}",
            headers={"Content-Type": "application/json"},
        )

    def open_link(self, url: str) -> str:
        """The password a link opens (its one view spent), decrypted as a browser would."""
        revealed = self.reveal(url)
        assert revealed.status == 200, revealed.json
        link_id = url.split("#", 1)[0].rpartition("/")[2]
        key = url.split("#", 1)[1]
        return open_sealed(SealedPassword.from_json(revealed.json), link_id=link_id, key_text=key)

    def resets_of(self, user_id: str) -> int:
        """How many resets of the user Partner Center's emulator applied."""
        applied = self.harness.stack.partner_center.applied_resets
        return sum(1 for reset in applied if reset.user_id.lower() == user_id.lower())

    def host(self, **changes: Any) -> LocalQueueHost:
        """The local host stand-in on the batch queue: host.json's options, with retries
        visible again at once (visibilityTimeout 0) unless a spec says otherwise."""
        options = replace(QueueOptions.from_host_json(), visibility_timeout=0.0, **changes)
        function = next(
            f
            for f in queue_functions(self.harness.registered.values())
            if f.queue_name == QUEUE_NAME
        )
        return LocalQueueHost(function, self.connection, options, log=None)

    def deliver(self, dequeue_count: int = 1) -> list[QueueMessage]:
        """Receives every queued message (hidden for a minute) and hands each to the
        registered function as the worker does, with the given dequeue count; the
        messages it was handed."""
        handed = []
        function = self.harness.registered["reset_batch_item"].get_user_function()
        for message in self.queue.receive_messages(max_messages=32, visibility_timeout=60):
            received = QueueMessage(  # type: ignore[no-untyped-call]
                id=message.id,
                body=base64.b64decode(message.content),
                dequeue_count=dequeue_count,
                pop_receipt=message.pop_receipt,
            )
            handed.append(received)
            function(message=received)
        return handed


def _clear(queue: QueueClient) -> None:
    try:
        queue.create_queue()
    except ResourceExistsError:
        queue.clear_messages()


@pytest.fixture
def batches(
    harness: Harness, azurite_connection_string: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BatchHarness]:
    """Batches whose items a scripted step answers."""
    step = FakeResetStep()
    monkeypatch.setattr("composition.batch_reset_step", lambda reset: step)
    yield from _batch_storage(harness, azurite_connection_string, step)


@pytest.fixture
def wired(harness: Harness, azurite_connection_string: str) -> Iterator[BatchHarness]:
    """Batches whose items the reset service runs, against the emulators."""
    yield from _batch_storage(harness, azurite_connection_string, None)


def _batch_storage(
    harness: Harness, azurite_connection_string: str, step: FakeResetStep | None
) -> Iterator[BatchHarness]:
    harness.configure(
        AzureWebJobsStorage=azurite_connection_string, PUBLIC_BASE_URL=PUBLIC_BASE_URL
    )
    harness.timings(table_retry_backoff=0.01, queue_retry_backoff=0.01)
    queue = QueueClient.from_connection_string(azurite_connection_string, QUEUE_NAME)
    poison = QueueClient.from_connection_string(azurite_connection_string, POISON_QUEUE_NAME)
    for each in (queue, poison):
        _clear(each)
    running = BatchHarness(harness, azurite_connection_string, step, queue, poison)
    running.baseline = running.row_counts()
    yield running
    queue.close()
    poison.close()


def users(count: int) -> list[str]:
    """`count` distinct object IDs."""
    return [str(uuid.UUID(int=index + 1, version=4)) for index in range(count)]
