"""dev/queue_host.py drives a queue trigger against Azurite as the Functions host's queue
extension does: host.json's options, the decoded body in a `func.QueueMessage` with the
host's fields, delete on success, visible again after a failure, the poison queue after
the last failed dequeue (real dequeue counts), and polling that backs off while empty."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import azure.functions as func
import pytest
from azure.storage.queue import QueueClient

from dev.queue_host import (
    POISON_SUFFIX,
    LocalQueueHost,
    QueueFunction,
    QueueOptions,
    queue_functions,
    timespan_seconds,
)
from reset_batches.worker import MAX_DEQUEUE_COUNT

IMMEDIATE = QueueOptions(visibility_timeout=0.0, max_polling_interval=2.0, batch_size=4)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[func.QueueMessage] = []
        self.fail = False

    def __call__(self, message: func.QueueMessage) -> None:
        self.seen.append(message)
        if self.fail:
            raise RuntimeError("this attempt fails")


@pytest.fixture
def queue_name() -> str:
    return f"q-{uuid.uuid4().hex[:20]}"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def queues(
    azurite_connection_string: str, queue_name: str
) -> Iterator[tuple[QueueClient, QueueClient]]:
    queue = QueueClient.from_connection_string(azurite_connection_string, queue_name)
    poison = QueueClient.from_connection_string(
        azurite_connection_string, queue_name + POISON_SUFFIX
    )
    queue.create_queue()
    yield queue, poison
    queue.close()
    poison.close()


def host_for(
    recorder: Recorder,
    queue_name: str,
    connection: str,
    options: QueueOptions = IMMEDIATE,
    **kwargs: Any,
) -> LocalQueueHost:
    function = QueueFunction("tiny", queue_name, "AzureWebJobsStorage", "message", recorder)
    return LocalQueueHost(function, connection, options, log=None, **kwargs)


def send(queue: QueueClient, text: str) -> None:
    queue.send_message(base64.b64encode(text.encode()).decode())


def count(queue: QueueClient) -> int:
    return queue.get_queue_properties().approximate_message_count or 0


# --- host.json ---------------------------------------------------------------------------


def test_the_options_are_host_jsons() -> None:
    assert QueueOptions.from_host_json() == QueueOptions(
        max_polling_interval=2.0,
        visibility_timeout=30.0,
        batch_size=4,
        new_batch_threshold=8,
        max_dequeue_count=MAX_DEQUEUE_COUNT,
        message_encoding="base64",
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00:30", 30.0), ("00:01:00", 60.0), ("1.02:03:04", 93784.0), ("00:00:00.5", 0.5)],
)
def test_timespans_are_read_as_dotnet_writes_them(text: str, seconds: float) -> None:
    assert timespan_seconds(text) == seconds


def test_without_host_json_settings_the_extensions_defaults_hold(tmp_path: Any) -> None:
    path = tmp_path / "host.json"
    path.write_text('{"version": "2.0"}')
    options = QueueOptions.from_host_json(path)
    assert (options.batch_size, options.threshold, options.max_dequeue_count) == (16, 8, 5)
    assert (options.visibility_timeout, options.max_polling_interval) == (0.0, 60.0)


def test_the_apps_queue_trigger_is_found(app_functions: list[Any]) -> None:
    (found,) = queue_functions(app_functions)
    assert (found.name, found.queue_name, found.connection, found.argument) == (
        "reset_batch_item",
        "reset-batch",
        "AzureWebJobsStorage",
        "message",
    )


# --- one message -------------------------------------------------------------------------


def test_a_function_gets_the_decoded_body_and_the_hosts_fields(
    azurite_connection_string: str, queue_name: str, queues: Any, recorder: Recorder
) -> None:
    queue, _ = queues
    send(queue, '{"hello": "world"}')
    assert host_for(recorder, queue_name, azurite_connection_string).poll_once() == ["succeeded"]
    (message,) = recorder.seen
    assert message.get_body() == b'{"hello": "world"}'
    assert message.id and message.pop_receipt
    assert message.dequeue_count == 1
    assert isinstance(message.insertion_time, datetime)
    assert isinstance(message.expiration_time, datetime)


def test_a_message_whose_function_returns_is_deleted(
    azurite_connection_string: str, queue_name: str, queues: Any, recorder: Recorder
) -> None:
    queue, poison = queues
    send(queue, "done")
    host_for(recorder, queue_name, azurite_connection_string).poll_once()
    assert count(queue) == 0
    assert count(poison) == 0


def test_a_failed_message_is_poisoned_after_its_last_dequeue(
    azurite_connection_string: str, queue_name: str, queues: Any, recorder: Recorder
) -> None:
    queue, poison = queues
    recorder.fail = True
    send(queue, "never works")
    host = host_for(recorder, queue_name, azurite_connection_string)
    outcomes = [host.poll_once() for _ in range(MAX_DEQUEUE_COUNT + 1)]
    assert outcomes == [["retried"]] * (MAX_DEQUEUE_COUNT - 1) + [["poisoned"], []]
    # Real dequeue counts, from Azurite: one per delivery.
    assert [m.dequeue_count for m in recorder.seen] == list(range(1, MAX_DEQUEUE_COUNT + 1))
    assert count(queue) == 0
    (moved,) = poison.peek_messages()
    assert base64.b64decode(moved.content) == b"never works"


def test_a_failed_message_waits_out_the_visibility_timeout(
    azurite_connection_string: str, queue_name: str, queues: Any, recorder: Recorder
) -> None:
    queue, _ = queues
    recorder.fail = True
    send(queue, "later")
    options = replace(IMMEDIATE, visibility_timeout=60.0)
    host = host_for(recorder, queue_name, azurite_connection_string, options)
    assert host.poll_once() == ["retried"]
    assert host.poll_once() == []
    assert count(queue) == 1


def test_a_message_dequeued_past_the_limit_is_poisoned_without_running(
    azurite_connection_string: str, queue_name: str, queues: Any, recorder: Recorder
) -> None:
    queue, poison = queues
    send(queue, "its worker died every time")
    # Deliveries whose worker died: each came back (made visible at once here, where the
    # host would wait out its 10-minute processing visibility).
    for _ in range(MAX_DEQUEUE_COUNT):
        for message in queue.receive_messages(max_messages=1, visibility_timeout=1):
            queue.update_message(message.id, message.pop_receipt, visibility_timeout=0)
    assert host_for(recorder, queue_name, azurite_connection_string).poll_once() == ["poisoned"]
    assert recorder.seen == []
    assert count(poison) == 1


def test_a_body_that_is_not_base64_is_poisoned_without_running(
    azurite_connection_string: str, queue_name: str, queues: Any, recorder: Recorder
) -> None:
    queue, poison = queues
    queue.send_message("not base64 at all!")
    assert host_for(recorder, queue_name, azurite_connection_string).poll_once() == ["poisoned"]
    assert recorder.seen == []
    assert count(poison) == 1


def test_with_encoding_none_the_text_is_handed_over_as_it_is(
    azurite_connection_string: str, queue_name: str, queues: Any, recorder: Recorder
) -> None:
    queue, _ = queues
    queue.send_message("plain")
    options = replace(IMMEDIATE, message_encoding="none")
    host_for(recorder, queue_name, azurite_connection_string, options).poll_once()
    assert recorder.seen[0].get_body() == b"plain"


# --- the loop ----------------------------------------------------------------------------


def test_polling_backs_off_while_empty_and_comes_back_when_a_message_arrives(
    azurite_connection_string: str, queue_name: str, queues: Any, recorder: Recorder
) -> None:
    queue, _ = queues
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) == 6:
            send(queue, "arrives")
        return len(waits) >= 9

    host = host_for(recorder, queue_name, azurite_connection_string, wait=wait)
    host.run()
    # Doubling from 100 ms up to maxPollingInterval (2 s); a message brings it back.
    assert waits[:6] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0]
    assert waits[6] in (0.1, 0.2)
    assert [m.get_body() for m in recorder.seen] == [b"arrives"]
