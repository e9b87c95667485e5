"""python3 -m dev.bench [--quick]: see dev/bench/__init__.py."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
# Only the standard library before this point: under the bare system python the run
# restarts in the virtualenv first.
from dev.bootstrap import ROOT, reexec_in_venv


def run(quick: bool, batch_runs: list[str] | None = None) -> int:
    from dev.bench import batch, cold, load, warm
    from dev.bench.drivers import RegisteredReset, configure, fresh_clients
    from dev.bench.measure import Figure, summary
    from dev.bench.plan import FULL, QUICK
    from dev.emulators.samples import SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID
    from dev.emulators.stack import EmulatorStack
    from shared.settings import SETTING_NAMES

    plan = QUICK if quick else FULL
    logging.disable(logging.WARNING)
    figures: list[Figure] = []
    checks: list[load.Check] = []
    with EmulatorStack() as stack:
        for name in SETTING_NAMES:
            os.environ.pop(name, None)
        os.environ.update(stack.settings())
        configure(PROTECTED_ROLE_GUARD="false")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if batch_runs is not None:
            checks.extend(batch.batch(stack, env, quick=quick, only=batch_runs))
            fresh_clients()
            summary(figures, checks)
            return 0
        import function_app

        reset = RegisteredReset(function_app.app, SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)
        figures.append(warm.guard_off(stack, reset, plan))
        figures.append(warm.guard_on(stack, reset, plan, plan.guard_latency))
        figures.append(warm.guard_on(stack, reset, plan, 0.0))
        figures.append(cold.cold_start(stack, env, SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID, plan))
        checks.extend(load.memory(env, SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID, plan))
        checks.extend(load.miss_memory(env, SAMPLE_USER_ID, plan))
        checks.append(load.concurrent_cold(stack, reset, plan))
        checks.extend(batch.batch(stack, env, quick=quick))
        fresh_clients()
    summary(figures, checks)
    print("(figures from one run on this machine; a shared machine makes them noisy)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python3 -m dev.bench")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument(
        "--batch",
        nargs="*",
        metavar="RUN",
        choices=("5a", "5b", "5c"),
        help=(
            "figure 5 alone (the batch), only the runs named (5a none, 5b link, 5c none "
            "throttled; all three when none is named); a run named twice runs twice"
        ),
    )
    args = parser.parse_args()
    reexec_in_venv(Path(__file__))
    os.chdir(ROOT)
    runs = None if args.batch is None else (args.batch or ["5a", "5b", "5c"])
    return run(args.quick, runs)


if __name__ == "__main__":
    sys.exit(main())
