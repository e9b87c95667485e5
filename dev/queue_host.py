"""The Functions host's Storage queue trigger, for the local stand-in (dev/localhost.py).

It drives a queue-triggered function against Azurite as the host's queue extension (v5)
does, with the options of host.json `extensions.queues`:

- it polls the queue, taking up to `batchSize` messages at a time, each made invisible
  while it runs (the host's 10 minutes), and takes more once no more than
  `newBatchThreshold` are still running;
- an empty queue is polled again after a wait that doubles from 100 ms up to
  `maxPollingInterval`; a message found brings the wait back down at once;
- the body is decoded as `messageEncoding` says (base64 by default) and the function gets
  a `func.QueueMessage` with its ID, body, dequeue count, insertion and expiry times, next
  visibility and pop receipt;
- a function that returns: the message is deleted. One that raises: the message is made
  visible again after `visibilityTimeout`, unless this was its `maxDequeueCount`th
  dequeue, when it is copied as it is to `<queue>-poison` and deleted. A message dequeued
  more often than that (its function never finished: the worker died) goes to the poison
  queue without running, as does one that cannot be decoded.

Waits go through an injectable `wait` and the processing visibility is a parameter, so a
test drives it poll by poll (`poll_once`) with no time passing but Azurite's own.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage as WorkerQueueMessage
from azure.storage.queue import QueueClient
from azure.storage.queue import QueueMessage as StorageMessage

from shared.log import printable

HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"
POISON_SUFFIX = "-poison"
# The host dequeues with a 10-minute visibility timeout (renewed while a function runs).
PROCESSING_VISIBILITY_SECONDS = 600
MIN_POLLING_INTERVAL = 0.1
# Queue storage hands out at most 32 messages per request.
MAX_MESSAGES_PER_GET = 32
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")

Outcome = Literal["succeeded", "retried", "poisoned"]


def timespan_seconds(text: str) -> float:
    """A .NET TimeSpan as host.json writes it ("00:00:30", "1.00:00:00") in seconds."""
    match = _TIMESPAN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a TimeSpan: {text!r}")
    days, hours, minutes, seconds, fraction = match.groups()
    whole = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return whole + (float(f"0.{fraction}") if fraction else 0.0)


@dataclass(frozen=True)
class QueueOptions:
    """host.json `extensions.queues`, with the extension's defaults."""

    max_polling_interval: float = 60.0
    visibility_timeout: float = 0.0
    batch_size: int = 16
    new_batch_threshold: int | None = None
    max_dequeue_count: int = 5
    message_encoding: Literal["base64", "none"] = "base64"

    @property
    def threshold(self) -> int:
        return (
            self.batch_size // 2 if self.new_batch_threshold is None else self.new_batch_threshold
        )

    @classmethod
    def from_host_json(cls, path: Path = HOST_JSON) -> QueueOptions:
        queues: Mapping[str, Any] = (
            json.loads(path.read_text()).get("extensions", {}).get("queues", {})
        )
        defaults = cls()
        encoding = str(queues.get("messageEncoding", defaults.message_encoding)).lower()
        if encoding not in {"base64", "none"}:
            raise ValueError(f"messageEncoding must be base64 or none, not {encoding!r}")
        threshold = queues.get("newBatchThreshold")
        return cls(
            max_polling_interval=timespan_seconds(queues["maxPollingInterval"])
            if "maxPollingInterval" in queues
            else defaults.max_polling_interval,
            visibility_timeout=timespan_seconds(queues["visibilityTimeout"])
            if "visibilityTimeout" in queues
            else defaults.visibility_timeout,
            batch_size=int(queues.get("batchSize", defaults.batch_size)),
            new_batch_threshold=None if threshold is None else int(threshold),
            max_dequeue_count=int(queues.get("maxDequeueCount", defaults.max_dequeue_count)),
            message_encoding="base64" if encoding == "base64" else "none",
        )


@dataclass(frozen=True)
class QueueFunction:
    name: str
    queue_name: str
    connection: str
    argument: str
    handler: Callable[..., None]


def queue_functions(functions: Iterable[Any]) -> list[QueueFunction]:
    """The queue triggers among functions already indexed (`app.get_functions()`)."""
    found = []
    for function in functions:
        trigger: Any = function.get_trigger()
        if trigger is None or trigger.get_dict_repr().get("type") != "queueTrigger":
            continue
        found.append(
            QueueFunction(
                name=str(function.get_function_name()),
                queue_name=str(trigger.queue_name),
                connection=str(trigger.connection),
                argument=str(trigger.name),
                handler=function.get_user_function(),
            )
        )
    return found


def connection_string(connection: str, environ: Mapping[str, str]) -> str:
    """The connection a trigger names, as the host resolves it locally: the app setting
    of that name (AzureWebJobsStorage), a connection string."""
    value = environ.get(connection) or environ.get(f"AzureWebJobs{connection}")
    if not value:
        raise ValueError(f"the app setting {connection} holds no connection string")
    return value


class LocalQueueHost:
    """Runs `function` for the messages of its queue, on Azurite (a connection string)."""

    def __init__(
        self,
        function: QueueFunction,
        connection: str,
        options: QueueOptions,
        *,
        processing_visibility: int = PROCESSING_VISIBILITY_SECONDS,
        min_polling_interval: float = MIN_POLLING_INTERVAL,
        wait: Callable[[float], bool] | None = None,
        log: Callable[[str], None] | None = print,
    ) -> None:
        self.function = function
        self.options = options
        # Raw text both ways: the body is decoded here, as the host's extension does, and
        # a poisoned message is copied exactly as it came.
        self._queue = QueueClient.from_connection_string(connection, function.queue_name)
        self._poison = QueueClient.from_connection_string(
            connection, function.queue_name + POISON_SUFFIX
        )
        self._processing_visibility = processing_visibility
        self._min_interval = min_polling_interval
        self._stopped = threading.Event()
        self._wait = wait or self._stopped.wait
        self._log = log
        self._thread: threading.Thread | None = None
        self._ready = False

    # -- one step at a time (tests) -----------------------------------------------------

    def poll_once(self) -> list[Outcome]:
        """One receive, each message run to its end in turn; what became of each."""
        return [self.process(message) for message in self._receive(self.options.batch_size)]

    def process(self, message: StorageMessage) -> Outcome:
        if (
            message.dequeue_count is not None
            and message.dequeue_count > self.options.max_dequeue_count
        ):
            return self._to_poison(message, "dequeued more often than maxDequeueCount")
        body = self._decoded(message.content)
        if body is None:
            return self._to_poison(message, "its body is not valid base64")
        received = WorkerQueueMessage(  # type: ignore[no-untyped-call]  # untyped in azure-functions
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )
        try:
            self.function.handler(**{self.function.argument: received})
        except Exception:  # noqa: BLE001 - the host reads any exception as a failed try
            self._report_failure(message)
            if (message.dequeue_count or 0) >= self.options.max_dequeue_count:
                return self._to_poison(message, "its last attempt failed")
            self._queue.update_message(
                message.id,
                message.pop_receipt,
                visibility_timeout=int(self.options.visibility_timeout),
            )
            return "retried"
        self._queue.delete_message(message.id, message.pop_receipt)
        return "succeeded"

    # -- the loop (dev/run.py) ----------------------------------------------------------

    def start(self) -> LocalQueueHost:
        self._thread = threading.Thread(
            target=self.run, name=f"queue-{self.function.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def run(self) -> None:
        """Poll until stopped: up to batchSize messages in flight plus newBatchThreshold,
        as the extension runs them; waits doubling while the queue is empty."""
        capacity = self.options.batch_size + self.options.threshold
        running: set[Future[Outcome]] = set()
        delay = self._min_interval
        with ThreadPoolExecutor(capacity, thread_name_prefix="queue-trigger") as pool:
            while not self._stopped.is_set():
                running = {future for future in running if not future.done()}
                if len(running) > self.options.threshold:
                    # Woken by the first to finish, as the extension is: no idle slot
                    # waits out a polling interval.
                    wait_for(running, timeout=self._min_interval, return_when=FIRST_COMPLETED)
                    continue
                try:
                    messages = self._receive(self.options.batch_size)
                except Exception as exc:  # noqa: BLE001 - the host logs and polls again
                    self._say(f"local-host: polling {self.function.queue_name} failed: {exc!r}")
                    messages = []
                if not messages:
                    if self._wait(delay):
                        break
                    delay = min(delay * 2, max(self.options.max_polling_interval, delay))
                    continue
                delay = self._min_interval
                running.update(pool.submit(self.process, message) for message in messages)

    # -- inside ---------------------------------------------------------------------------

    def _receive(self, count: int) -> list[StorageMessage]:
        self._ensure_queues()
        return list(
            self._queue.receive_messages(
                messages_per_page=min(count, MAX_MESSAGES_PER_GET),
                max_messages=min(count, MAX_MESSAGES_PER_GET),
                visibility_timeout=self._processing_visibility,
            )
        )

    def _ensure_queues(self) -> None:
        if self._ready:
            return
        for queue in (self._queue, self._poison):
            with suppress(ResourceExistsError):
                queue.create_queue()
        self._ready = True

    def _decoded(self, content: Any) -> bytes | None:
        text = content if isinstance(content, str) else str(content or "")
        if self.options.message_encoding == "none":
            return text.encode("utf-8")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None

    def _to_poison(self, message: StorageMessage, why: str) -> Outcome:
        self._poison.send_message(message.content)
        with suppress(ResourceNotFoundError):
            self._queue.delete_message(message.id, message.pop_receipt)
        self._say(
            f"local-host: {self.function.name}: message {message.id} moved to "
            f"{self.function.queue_name}{POISON_SUFFIX} ({why})"
        )
        return "poisoned"

    def _report_failure(self, message: StorageMessage) -> None:
        # Line by line, each escaped: an exception message may quote what it handled.
        lines = traceback.format_exc().rstrip("\n").split("\n")
        self._say(
            "\n".join(
                [
                    f"local-host: {self.function.name} raised on dequeue "
                    f"{message.dequeue_count} of message {message.id}",
                    *map(printable, lines),
                ]
            )
        )

    def _say(self, line: str) -> None:
        if self._log is not None:
            self._log(line)


__all__ = [
    "POISON_SUFFIX",
    "LocalQueueHost",
    "QueueFunction",
    "QueueOptions",
    "connection_string",
    "queue_functions",
    "timespan_seconds",
]
