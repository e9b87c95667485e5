"""Figure 4: memory over many warm resets, over many distinct unknown customer domains,
and a burst of concurrent cold resets."""

from __future__ import annotations

import gc
import json
import logging
import os
import resource
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dev.bench.drivers import RegisteredReset, configure, fresh_clients
from dev.bench.measure import heading
from dev.bootstrap import ROOT

if TYPE_CHECKING:
    from dev.bench.plan import Plan
    from dev.emulators.stack import EmulatorStack

RSS_FLAT_KIB = 2048
TRACED_FLAT_BYTES = 256 * 1024
# A remembered miss holds its key and a frameless error; before, it held the request's
# whole frame chain (tens of KiB each, the request body included).
MISS_BYTES_EACH = 2048
# No tenant verifies these: each one is a remembered lookup miss.
UNKNOWN_DOMAIN = "nosuch-{:06d}.example.com"
SECRET_SETTINGS = ("SECRET_NAME_APP_ID", "SECRET_NAME_APP_SECRET", "SECRET_NAME_REFRESH_TOKEN")

Check = tuple[str, str, str, bool]


def concurrent_cold(stack: EmulatorStack, reset: RegisteredReset, plan: Plan) -> Check:
    heading(f"4b. {plan.concurrent} concurrent resets on a cold instance")
    configure(PROTECTED_ROLE_GUARD="false")
    stack.reset_state()
    fresh_clients()
    go = threading.Event()

    def one() -> bool:
        go.wait()
        return reset()

    with ThreadPoolExecutor(max_workers=plan.concurrent) as pool:
        futures = [pool.submit(one) for _ in range(plan.concurrent)]
        go.set()
        answers = [f.result() for f in futures]
    exchanges = len(stack.identity.requests_to("POST", r"/token$"))
    reads = [stack.key_vault.reads(stack.settings()[name]) for name in SECRET_SETTINGS]
    failed = answers.count(False)
    print(f"token exchanges {exchanges}, reads per secret {reads}, failed resets {failed}")
    ok = exchanges == 1 and reads == [1, 1, 1] and not failed
    return ("cold burst: exchanges, reads per secret", f"{exchanges}, {reads}", "1, [1,1,1]", ok)


def memory(env: Mapping[str, str], customer: str, user: str, plan: Plan) -> list[Check]:
    points = plan.memory_checkpoints
    heading(f"4a. Memory over {points[-1]:,} warm resets (function in child processes)")
    runs = {mode: _memory_child(mode, env, customer, user, points) for mode in ("rss", "traced")}
    for mode, readings in runs.items():
        for p in readings:
            print(f"  {mode:>6} after {p['resets']:>6,}: {json.dumps(p)}")
    rss, traced = runs["rss"], runs["traced"]
    rss_growth = rss[-1]["maxrss_kib"] - rss[0]["maxrss_kib"]
    traced_growth = traced[-1]["traced"] - traced[0]["traced"]
    failures = rss[-1]["failures"] + traced[-1]["failures"]
    span = f"{points[0]} -> {points[-1]:,} resets"
    return [
        (
            f"memory: peak RSS growth, {span}",
            f"{rss_growth / 1024:+.1f} MiB",
            f"<= +{RSS_FLAT_KIB // 1024} MiB",
            rss_growth <= RSS_FLAT_KIB and not failures,
        ),
        (
            f"memory: tracemalloc growth, {span}",
            f"{traced_growth / 1024:+.0f} KiB",
            f"<= +{TRACED_FLAT_BYTES // 1024} KiB",
            traced_growth <= TRACED_FLAT_BYTES and not failures,
        ),
    ]


def miss_memory(env: Mapping[str, str], user: str, plan: Plan) -> list[Check]:
    points = plan.miss_checkpoints
    heading(f"4c. Memory over {points[-1]:,} distinct unknown customer domains (child processes)")
    runs = {
        mode: _memory_child(f"misses-{mode}", env, UNKNOWN_DOMAIN.format(0), user, points)
        for mode in ("rss", "traced")
    }
    for mode, readings in runs.items():
        for p in readings:
            print(f"  {mode:>6} after {p['resets']:>6,}: {json.dumps(p)}")
    names = points[-1] - points[0]
    rss, traced = runs["rss"], runs["traced"]
    rss_growth = rss[-1]["rss_kib"] - rss[0]["rss_kib"]
    each = (traced[-1]["traced"] - traced[0]["traced"]) / names
    print(
        f"  {points[0]:,} -> {points[-1]:,} names: RSS {rss[0]['rss_kib'] / 1024:.1f} -> "
        f"{rss[-1]['rss_kib'] / 1024:.1f} MiB, tracemalloc {traced[0]['traced'] / 2**20:.1f} "
        f"-> {traced[-1]['traced'] / 2**20:.1f} MiB (peak {traced[-1]['peak'] / 2**20:.1f} MiB)"
    )
    failures = rss[-1]["failures"] + traced[-1]["failures"]
    return [
        (
            f"memory: RSS growth, {points[0]:,} -> {points[-1]:,} unknown names",
            f"{rss_growth / 1024:+.1f} MiB",
            "shown",
            not failures,
        ),
        (
            "memory: tracemalloc growth per unknown name",
            f"{each / 1024:.2f} KiB",
            f"<= {MISS_BYTES_EACH / 1024:.0f} KiB",
            each <= MISS_BYTES_EACH and not failures,
        ),
    ]


def _memory_child(
    mode: str, env: Mapping[str, str], customer: str, user: str, points: tuple[int, ...]
) -> list[dict[str, Any]]:
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "dev.bench.load", mode, customer, user, *map(str, points)],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    readings = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or len(readings) != len(points):
        raise RuntimeError(f"memory child ({mode}) failed:\n{result.stderr[-2000:]}")
    return readings


def memory_child(mode: str, customer: str, user: str, points: list[int]) -> None:
    """In a child python: warm resets, one JSON line per checkpoint.

    "rss" runs untraced, so RSS is the function's own; "traced" runs under tracemalloc;
    "misses-" before either: every reset names a customer domain no tenant verified
    (404 customer_not_found), a new one each time.
    """
    misses = mode.startswith("misses-")
    if mode.endswith("traced"):
        tracemalloc.start(1)
    logging.disable(logging.WARNING)
    import function_app

    reset = RegisteredReset(function_app.app, customer, user)
    if not misses:
        reset()  # cold
    done = failures = 0
    for target in points:
        while done < target:
            done += 1
            if misses:
                reset.aim(UNKNOWN_DOMAIN.format(done))
                reset()
                failures += reset.last is None or reset.last.status_code != 404
            else:
                failures += not reset()
        gc.collect()
        traced, peak = tracemalloc.get_traced_memory()
        reading = {
            "resets": done,
            "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "rss_kib": current_rss_kib(),
            "traced": traced,
            "peak": peak,
            "threads": threading.active_count(),
            "fds": len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").exists() else -1,
            "failures": failures,
        }
        print(json.dumps(reading), flush=True)


def current_rss_kib() -> int:
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), "VmRSS: -1 kB")
    return int(line.split()[1])


if __name__ == "__main__":
    child_mode, child_customer, child_user, *child_points = sys.argv[1:]
    memory_child(child_mode, child_customer, child_user, [int(p) for p in child_points])
