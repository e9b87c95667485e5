"""Figure 3: a fresh process to its first successful reset vs a minimal client process."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from dev.bench.measure import Figure, heading, print_figure, ratio
from dev.bootstrap import ROOT

if TYPE_CHECKING:
    from dev.bench.plan import Plan
    from dev.emulators.messages import RecordedRequest
    from dev.emulators.stack import EmulatorStack

COLD_TARGET = 1.3


def first_answer(args: list[str], env: Mapping[str, str]) -> tuple[float, bool]:
    """Seconds from spawning `python -m dev.bench.child ...` to its answer line."""
    started = time.perf_counter()
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "dev.bench.child", *args],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as child:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        seconds = time.perf_counter() - started
        child.wait(timeout=60)
    return seconds, line == "answered"


def _step(base: str, requests: list[RecordedRequest]) -> list[dict[str, str]]:
    return [
        {
            "method": r.method,
            "url": base + r.path + (f"?{r.raw_query}" if r.raw_query else ""),
            "headers": json.dumps(
                {k: v for k, v in r.headers.items() if k not in {"host", "content-length"}}
            ),
            "body": r.body.decode(),
        }
        for r in requests
    ]


def client_plan(stack: EmulatorStack) -> list[list[dict[str, str]]]:
    """The cold reset's round trips as the function made them, minus the SDK's extras.

    Managed identity token; the three secrets at once (authorized, no 401 challenge);
    the token exchange; the Partner Center call(s). The background write is left out.
    """
    vault = [
        r for r in stack.key_vault.requests if r.method == "GET" and "authorization" in r.headers
    ]
    return [
        _step(stack.managed_identity.url, stack.managed_identity.requests),
        _step(stack.key_vault.url, vault),
        _step(stack.identity.url, stack.identity.requests_to("POST", r"/token$")),
        _step(stack.partner_center.url, stack.partner_center.requests),
    ]


def cold_start(
    stack: EmulatorStack, env: Mapping[str, str], customer: str, user: str, plan: Plan
) -> Figure:
    heading("3. Cold: fresh process to its first reset vs a minimal client process")
    function_args = ["function", customer, user]
    stack.reset_state()
    _, ok = first_answer(function_args, env)  # unmeasured: writes bytecode caches too
    if not ok:
        raise RuntimeError("the cold function process did not answer 2xx")
    steps = client_plan(stack)
    print("minimal client round trips: " + " -> ".join(str(len(s)) for s in steps))
    with tempfile.TemporaryDirectory() as scratch:
        plan_file = Path(scratch) / "client.json"
        plan_file.write_text(json.dumps(steps), encoding="utf-8")
        client_args = ["client", str(plan_file)]
        stack.reset_state()
        first_answer(client_args, env)
        ratios, mine, theirs, failures = [], [], [], 0
        for _ in range(plan.repeats):
            a: list[float] = []
            b: list[float] = []
            for i in range(plan.cold_runs):
                sides = [(function_args, a), (client_args, b)]
                for args, into in sides if i % 2 == 0 else sides[::-1]:
                    stack.reset_state()
                    seconds, ok = first_answer(args, env)
                    into.append(seconds)
                    failures += not ok
            mine.append(statistics.median(a))
            theirs.append(statistics.median(b))
            ratios.append(ratio(mine[-1], theirs[-1]))
    figure = Figure(
        "cold: fresh process to first answer / minimal client",
        "python -m dev.bench.child function (import function_app, one reset)",
        "python, import azure.functions + requests, same round trips",
        statistics.median(mine),
        statistics.median(theirs),
        tuple(ratios),
        COLD_TARGET,
        failures,
    )
    print_figure(figure, f"medians of {plan.cold_runs} processes each, {plan.repeats} runs")
    stack.reset_state()
    return figure
