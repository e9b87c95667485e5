"""host.json's queue settings are the ones batches are built around (contract 1d): the
worker's idea of the last attempt is the host's, messages are base64 as the queue client
writes them, and one instance runs no more items than the Python worker has threads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reset_batches.queue import POISON_QUEUE_NAME, QUEUE_NAME
from reset_batches.worker import MAX_DEQUEUE_COUNT

ROOT = Path(__file__).resolve().parents[2]
# infra/main.bicep's default PYTHON_THREADPOOL_THREAD_COUNT: the worker's threads.
WORKER_THREADS = 16


def queues() -> dict[str, Any]:
    found: dict[str, Any] = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]
    return found


def test_the_workers_last_attempt_is_the_hosts() -> None:
    assert queues()["maxDequeueCount"] == MAX_DEQUEUE_COUNT == 5


def test_messages_are_base64_as_the_queue_client_writes_them() -> None:
    assert queues()["messageEncoding"] == "base64"


def test_one_instance_runs_no_more_items_than_the_worker_has_threads() -> None:
    # The extension runs batchSize messages and fetches more at newBatchThreshold.
    settings = queues()
    assert settings["batchSize"] + settings["newBatchThreshold"] <= WORKER_THREADS
    bicep = (ROOT / "infra" / "main.bicep").read_text()
    assert f"param pythonThreadpoolThreadCount int = {WORKER_THREADS}" in bicep


def test_a_retry_waits_and_an_empty_queue_is_polled_often() -> None:
    settings = queues()
    assert settings["visibilityTimeout"] == "00:00:30"
    assert settings["maxPollingInterval"] == "00:00:02"


def test_the_poison_queue_is_the_hosts_name_for_it() -> None:
    assert POISON_QUEUE_NAME == f"{QUEUE_NAME}-poison" == "reset-batch-poison"
