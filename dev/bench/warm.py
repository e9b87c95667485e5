"""Figures 1 and 2: warm resets against bare calls to the Partner Center emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dev.bench.drivers import BareCalls, RegisteredReset, configure
from dev.bench.measure import Figure, compare, heading

if TYPE_CHECKING:
    from dev.bench.plan import Plan
    from dev.emulators.stack import EmulatorStack

WARM_TARGET = 1.05
# The figures measured before this work, printed beside each result.
GUARD_OFF_BEFORE = "1.32-1.51x"
GUARD_ON_BEFORE = "1.45x"


def _warm_up(reset: RegisteredReset, plan: Plan) -> None:
    for _ in range(plan.warmup):
        reset()


def guard_off(stack: EmulatorStack, reset: RegisteredReset, plan: Plan) -> Figure:
    heading("1. Warm, guard off: registered function vs a bare requests.Session().patch")
    pc = stack.partner_center
    configure(PROTECTED_ROLE_GUARD="false")
    _warm_up(reset, plan)
    pc.clear_requests()
    reset()
    calls = pc.requests
    print(f"Partner Center calls per warm reset: {len(calls)}")
    bare = BareCalls(pc.url, [r for r in calls if r.method == "PATCH"][-1:])
    for _ in range(plan.warmup):
        bare()
    figure = compare(
        "warm, guard off: function / bare PATCH",
        ("registered function", reset),
        ("requests.Session().patch, same endpoint and body", bare),
        n=plan.calls,
        repeats=plan.repeats,
        target=WARM_TARGET,
        before=GUARD_OFF_BEFORE,
    )
    pc.clear_requests()
    return figure


def guard_on(stack: EmulatorStack, reset: RegisteredReset, plan: Plan, latency: float) -> Figure:
    """Guard on against its ideal: two round trips (the role read, then the PATCH)."""
    label = f"{latency * 1000:.0f} ms"
    heading(f"2. Warm, guard on, Partner Center +{label}: function vs two bare round trips")
    pc = stack.partner_center
    configure(PROTECTED_ROLE_GUARD="true")
    _warm_up(reset, plan)
    pc.clear_requests()
    reset()
    calls = pc.requests
    print(
        "Partner Center calls per warm reset: " + ", ".join(f"{r.method} {r.path}" for r in calls)
    )
    reads = [r for r in calls if r.method == "GET"][:1]
    patch = [r for r in calls if r.method == "PATCH"][-1:]
    ideal = BareCalls(pc.url, reads + patch)
    for _ in range(min(plan.warmup, 10)):
        ideal()
    pc.latency = latency
    try:
        figure = compare(
            f"warm, guard on, +{label}: function / 2 round trips",
            ("registered function", reset),
            ("bare GET (first guard read) then PATCH", ideal),
            n=plan.calls,
            repeats=plan.repeats,
            # The goal is set with upstream latency; at +0 ms the figure is context.
            target=WARM_TARGET if latency > 0 else None,
            before=GUARD_ON_BEFORE,
        )
    finally:
        pc.latency = 0.0
        pc.clear_requests()
        configure(PROTECTED_ROLE_GUARD="false")
    return figure
