"""Figure 5: a 1,000-user batch, from its 202 to `completed`, against its ideal.

The function runs in a child process (its memory is its own), as one instance of the
queue-triggered function: the batch accepted first through the registered HTTP function
(on Flex Consumption the HTTP routes scale in a group of their own, so the acceptance
never shares the queue function's instance), then its messages driven from Azurite by
the local host stand-in (dev/queue_host.py) with host.json's options, each user through
the reset service against the emulators in this process. Partner Center answers every
request `LATENCY` seconds late; the guard is on, as deployed, so a user costs two
Partner Center round trips in a row (the target and its roles read side by side, then
the PATCH).

Ideal: users x round trips x latency / concurrency, where the concurrency is host.json's
per-instance bound (`batchSize` + `newBatchThreshold`): what one instance could do if
nothing but Partner Center took time. Three runs: a scramble (`none`), the same with
links (each user's password sealed and stored, the older links retired: five more
storage calls a user), and the scramble with Partner Center answering 429
(`Retry-After: 1`) to one request in five, whose waits are extra, so its ratio is shown
without a goal. Each checks that every user was reset exactly once in the emulator's
ledger and that the child's memory stays flat as the batch goes.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dev.bench.load import Check, current_rss_kib
from dev.bench.measure import heading
from dev.bootstrap import ROOT

if TYPE_CHECKING:
    from dev.emulators.stack import EmulatorStack

USERS = 1000
QUICK_USERS = 60
LATENCY = 0.2
ROUND_TRIPS = 2
TARGET = 1.25
THROTTLE_EVERY = 5
WARM_UP_USERS = 12
# Growth of the child's RSS from the first quarter of the batch to its end.
RSS_FLAT_KIB = 8 * 1024
CHILD_TIMEOUT = 900
# How often the rows are read while no message finishes (a failed user ends no message).
POLL_SECONDS = 5.0
UPN = "bench{:05d}@contoso.onmicrosoft.com"


@dataclass(frozen=True)
class Run:
    """One timed batch: its delivery, and whether Partner Center throttles."""

    label: str
    delivery: str
    throttled: bool

    @property
    def name(self) -> str:
        return f"{self.delivery}{', 429 1 in 5' if self.throttled else ''}"


RUNS = (
    Run("5a", "none", throttled=False),
    Run("5b", "link", throttled=False),
    Run("5c", "none", throttled=True),
)


def batch(
    stack: EmulatorStack,
    env: Mapping[str, str],
    *,
    quick: bool,
    only: Sequence[str] | None = None,
) -> list[Check]:
    """Each run (or those labelled in `only`, in its order, repeats included); their
    checks for the summary."""
    from dev.azurite import running_azurite
    from dev.emulators.samples import SAMPLE_CUSTOMER_ID
    from dev.queue_host import QueueOptions

    options = QueueOptions.from_host_json()
    concurrency = options.batch_size + options.threshold
    users = QUICK_USERS if quick else USERS
    ideal = users * ROUND_TRIPS * LATENCY / concurrency
    pc = stack.partner_center
    ids = [
        pc.add_user(
            SAMPLE_CUSTOMER_ID, user_principal_name=UPN.format(n), first_name="B", last_name="U"
        ).id
        for n in range(users + WARM_UP_USERS)
    ]
    checks: list[Check] = []
    with running_azurite() as azurite:
        child_env = {
            **env,
            "AzureWebJobsStorage": azurite.connection_string,
            "PUBLIC_BASE_URL": "http://localhost:7071",
            "PROTECTED_ROLE_GUARD": "true",
        }
        pc.recording, pc.latency = False, LATENCY
        try:
            by_label = {run.label: run for run in RUNS}
            for run in RUNS if only is None else [by_label[label] for label in only]:
                heading(
                    f"{run.label}. A {users:,}-user batch, delivery {run.delivery}, Partner "
                    f"Center +{LATENCY * 1000:.0f} ms, {concurrency} at a time (host.json)"
                    + (": 1 request in 5 answered 429" if run.throttled else "")
                )
                checks += _timed(stack, child_env, ids, run, ideal)
        finally:
            pc.recording, pc.latency = True, 0.0
            pc.clear_faults()
    return checks


def _timed(
    stack: EmulatorStack, env: Mapping[str, str], ids: list[str], run: Run, ideal: float
) -> list[Check]:
    from dev.emulators.faults import Status
    from dev.emulators.samples import SAMPLE_CUSTOMER_ID

    pc = stack.partner_center
    if run.throttled:
        throttled = Status(429, {"error": "throttled"}, {"Retry-After": "1"})
        pc.inject(throttled, times=None, every=THROTTLE_EVERY)
    before = len(pc.applied_resets)
    try:
        reading = _child(env, SAMPLE_CUSTOMER_ID, ids, run.delivery)
    finally:
        pc.clear_faults()
    return _report(reading, pc.applied_resets[before:], ids[WARM_UP_USERS:], ideal, run)


def _report(
    run: dict[str, Any], applied: list[Any], ids: list[str], ideal: float, how: Run
) -> list[Check]:
    counts: dict[str, int] = {}
    for reset in applied:
        counts[reset.user_id] = counts.get(reset.user_id, 0) + 1
    once = all(counts.get(user_id) == 1 for user_id in ids)
    warm_up = sum(n for user_id, n in counts.items() if user_id not in set(ids))
    ratio = run["seconds"] / ideal
    rss = run["rss_kib"]
    # From a quarter of the way (the batch's links and rows made, every thread started).
    growth = rss[-1] - rss[1]
    print(
        f"accepted (the 202) in {run['accept_seconds']:.1f} s, completed "
        f"{run['total_seconds']:.1f} s after the POST; the resets ran {run['seconds']:.1f} s "
        f"(first start to last end); ideal {ideal:.1f} s; ratio {ratio:.3f}x\n"
        f"per user: median {run['median_seconds'] * 1000:.0f} ms in the function (the "
        f"floor: {ROUND_TRIPS} x {LATENCY * 1000:.0f} ms), {run['in_flight']:.1f} in flight "
        f"on average, {run['cpu_ms']:.0f} ms CPU of the function's process; storage calls "
        f"per user by the function (the host stand-in's aside): {run['storage_calls']}, "
        f"mean ms each: {run['storage_ms']}\n"
        f"rows: {run['counts']}; resets in the ledger: {len(applied)} "
        f"(each user exactly once: {once}; warm-up resets {warm_up})\n"
        f"RSS at the start and each quarter (KiB): {rss}; threads at the end {run['threads']}",
        flush=True,
    )
    done = run["counts"]["succeeded"] == len(ids)
    return [
        (
            f"batch of {len(ids):,}, {how.name}: time / ideal",
            f"{ratio:.3f}x",
            "shown" if how.throttled else f"<= {TARGET}x",
            done and (how.throttled or ratio <= TARGET),
        ),
        (f"batch, {how.name}: every user reset once", str(once and done), "True", once and done),
        (
            f"batch, {how.name}: RSS growth, quarter 1 -> end",
            f"{growth / 1024:+.1f} MiB",
            f"<= +{RSS_FLAT_KIB // 1024} MiB",
            growth <= RSS_FLAT_KIB,
        ),
    ]


def _child(env: Mapping[str, str], customer: str, ids: list[str], delivery: str) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "dev.bench.batch", customer, delivery, *ids[:WARM_UP_USERS]],
        cwd=ROOT,
        env=dict(env),
        input="\n".join(ids[WARM_UP_USERS:]),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"batch child failed:\n{result.stderr[-3000:]}")
    found: dict[str, Any] = lines[-1]
    return found


# --- the child: one instance of the function ---------------------------------------------


def child(customer: str, delivery: str, warm_up: list[str], users: list[str]) -> None:
    """Accept a warm-up batch and run it (the cold start is not the figure), then the
    timed batch; one JSON line with the times, the rows and the RSS readings."""
    logging.disable(logging.WARNING)
    import function_app
    from dev.queue_host import LocalQueueHost, QueueOptions, connection_string, queue_functions

    calls = StorageCalls()
    functions = list(function_app.app.get_functions())
    registered = {str(f.get_function_name()): f.get_user_function() for f in functions}
    (function,) = queue_functions(functions)
    finished = Finished()

    def instance() -> LocalQueueHost:
        return LocalQueueHost(
            replace(function, handler=finished.counting(function.handler)),
            connection_string(function.connection, os.environ),
            QueueOptions.from_host_json(),
            log=None,
        ).start()

    host = instance()
    try:
        finished.expect(len(warm_up))
        _until_done(_accept(registered, customer, warm_up, delivery)[0], finished)
    finally:
        host.stop()
    rss = [current_rss_kib()]
    finished.expect(len(users), rss)
    calls.start()
    cpu, posted = time.process_time(), time.monotonic()
    # On Flex Consumption the HTTP routes and the queue function scale in groups of their
    # own: the acceptance never shares an instance's CPU with the resets. The batch is
    # accepted first, then this instance of the queue function finds its messages waiting.
    batch_id, accept_seconds = _accept(registered, customer, users, delivery)
    host = instance()
    try:
        counts = _until_done(batch_id, finished)
    finally:
        host.stop()
    total_seconds = time.monotonic() - posted
    rss.append(current_rss_kib())
    cpu = time.process_time() - cpu
    durations = [end - start for start, end in zip(finished.starts, finished.ends, strict=True)]
    # The window is from the first reset's start to the last one's end.
    seconds = max(finished.ends) - min(finished.starts)
    reading = {
        "seconds": seconds,
        "total_seconds": total_seconds,
        "accept_seconds": accept_seconds,
        "counts": counts,
        "rss_kib": rss,
        "threads": threading.active_count(),
        "median_seconds": statistics.median(durations),
        "in_flight": sum(durations) / seconds,
        "cpu_ms": cpu * 1000 / len(users),
        "storage_calls": calls.per_user(len(users)),
        "storage_ms": calls.milliseconds(),
    }
    print(json.dumps(reading), flush=True)


class StorageCalls:
    """Counts the round trips the function's storage clients make (they all send through
    shared/storage.py's transport; the host stand-in's queue client does not), by
    service: the link path's cost in calls, whatever the machine's load."""

    def __init__(self) -> None:
        from shared.storage import DeadlineTransport

        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._seconds: dict[str, float] = {}
        self._on = False
        send = DeadlineTransport.send

        def counted(transport: Any, request: Any, **kwargs: Any) -> Any:
            if not self._on:
                return send(transport, request, **kwargs)
            path = str(request.url).split("?", 1)[0].rstrip("/")
            name = path.rsplit("/", 1)[-1].split("(", 1)[0] or "?"
            key = f"{request.method} {name}"
            started = time.monotonic()
            try:
                return send(transport, request, **kwargs)
            finally:
                with self._lock:
                    self._counts[key] = self._counts.get(key, 0) + 1
                    self._seconds[key] = self._seconds.get(key, 0.0) + time.monotonic() - started

        DeadlineTransport.send = counted  # type: ignore[method-assign,assignment]

    def start(self) -> None:
        with self._lock:
            self._counts, self._seconds, self._on = {}, {}, True

    def per_user(self, users: int) -> dict[str, float]:
        with self._lock:
            return {name: round(n / users, 2) for name, n in sorted(self._counts.items())}

    def milliseconds(self) -> dict[str, float]:
        """Each kind of call's mean wall time, the wait for Azurite included."""
        with self._lock:
            return {
                name: round(self._seconds[name] * 1000 / n, 1)
                for name, n in sorted(self._counts.items())
            }


class Finished:
    """Counts the messages the function finished (returned for), so the batch's end is
    seen without reading its rows over and over (which would load the storage the
    workers share); the RSS when each quarter of them is done."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.done = threading.Event()
        self._count = 0
        self._total = 0
        self._quarters: list[int] = []
        self._rss: list[int] | None = None
        # When each message of the timed batch started and ended in the function.
        self.starts: list[float] = []
        self.ends: list[float] = []

    def expect(self, total: int, rss: list[int] | None = None) -> None:
        with self._lock:
            self._count, self._total, self._rss = 0, total, rss
            self.starts, self.ends = [], []
            self._quarters = [total * q // 4 for q in (1, 2, 3)]
            self.done.clear()

    def counting(self, handler: Callable[..., None]) -> Callable[..., None]:
        def counted(**arguments: Any) -> None:
            started = time.monotonic()
            handler(**arguments)
            with self._lock:
                self.starts.append(started)
                self.ends.append(time.monotonic())
                self._count += 1
                while self._quarters and self._count >= self._quarters[0]:
                    self._quarters.pop(0)
                    if self._rss is not None:
                        self._rss.append(current_rss_kib())
                if self._count >= self._total:
                    self.done.set()

        return counted


def _accept(
    registered: Mapping[str, Any], customer: str, users: list[str], delivery: str
) -> tuple[str, float]:
    import azure.functions as func

    started = time.monotonic()
    answer = registered["reset_password_batch"](
        func.HttpRequest(
            method="POST",
            url=f"http://localhost:7071/api/customers/{customer}/resetpasswords",
            headers={"Content-Type": "application/json"},
            params={},
            route_params={"customer": customer},
            body=json.dumps({"users": users, "delivery": delivery}).encode(),
        )
    )
    if answer.status_code != 202:
        raise RuntimeError(f"the batch was answered {answer.status_code}")
    return str(json.loads(answer.get_body())["batchId"]), time.monotonic() - started


def _until_done(batch_id: str, finished: Finished) -> dict[str, int]:
    """Waits for every message to be finished, or (a user failed for good, its message
    poisoned) for the rows to say none is pending; the rows' counts."""
    import composition

    store = composition.batches().store
    while True:
        if finished.done.wait(POLL_SECONDS):
            counts = store.counts(batch_id)
            return {"succeeded": counts.succeeded, "failed": counts.failed, "pending": 0}
        counts = store.counts(batch_id)
        if counts.pending == 0:
            return {"succeeded": counts.succeeded, "failed": counts.failed, "pending": 0}


if __name__ == "__main__":
    child_customer, child_delivery, *child_warm_up = sys.argv[1:]
    child_ids = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
    child(child_customer, child_delivery, child_warm_up, child_ids)
