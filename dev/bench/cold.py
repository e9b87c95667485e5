"""Figure 3: a fresh process to its first successful reset vs a minimal client process.

Both sides are fresh interpreters (`python -m dev.bench.child ...`), timed from spawning
to the line they print on their first successful answer, against the same emulators
(reset before every process, so each one starts cold upstream too). They run
interleaved, the order flipping every round (ours, minimal, floor, floor, minimal,
ours, ...), and the figure is the ratio of medians, per run, over `plan.repeats` runs.
Bytecode is compiled beforehand and each side runs once untimed, so neither pays
compilation or a cold page cache.

The minimal client is what a hand-written caller needs: interpreter start, `import azure.functions,
requests`, then the same round trips as the function (one Key Vault challenge, one
managed-identity token, the three secrets read concurrently, the token exchange, the
reset). A third side, the floor, does the same job with the packages the function must
keep (pydantic, azure-identity, azure-keyvault-secrets) used directly: it splits the
gap into what those packages cost and what the function's own code costs.
"""

from __future__ import annotations

import compileall
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dev.bench.measure import Figure, heading, print_figure, ratio
from dev.bootstrap import ROOT

if TYPE_CHECKING:
    from dev.bench.plan import Plan
    from dev.emulators.messages import RecordedRequest
    from dev.emulators.stack import EmulatorStack

COLD_TARGET = 1.3
COLD_BEFORE = "1.6-1.8x (2.46x without interpreter start)"
# Our code, compiled before anything is timed (site-packages were compiled on install,
# and the untimed first run of each side writes whatever is missing).
OUR_CODE = (
    "function_app.py",
    "composition.py",
    "credentials",
    "reset_password",
    "secret_links",
    "shared",
    "worker",
    "dev",
)


@dataclass
class Run:
    """One timed process: the parent's clock, and the child's checkpoints."""

    seconds: float
    ok: bool
    interpreter: float = 0.0  # spawn to the child's first line of code
    imports: float = 0.0  # module-level imports
    first_request: float = 0.0  # imports done to the answer (lazy imports included)
    modules: tuple[int, int] = (0, 0)  # sys.modules after imports, after the answer


@dataclass
class Side:
    args: list[str]
    runs: list[Run] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(float(getattr(r, attribute)) for r in self.runs)


def first_answer(args: list[str], env: Mapping[str, str]) -> Run:
    """Seconds from spawning `python -m dev.bench.child ...` to its answer line."""
    spawned = time.monotonic()
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
        rest = child.stdout.read()
        child.wait(timeout=60)
    run = Run(seconds, line == "answered")
    try:
        points = json.loads(rest)
    except ValueError:
        return run
    run.interpreter = points["started"] - spawned
    run.imports = points["imported"] - points["started"]
    run.first_request = points["answered"] - points["imported"]
    run.modules = (points["modules_imported"], points["modules_answered"])
    return run


def _call(base: str, r: RecordedRequest, expect: str = "2xx") -> dict[str, str]:
    return {
        "method": r.method,
        "url": base + r.path + (f"?{r.raw_query}" if r.raw_query else ""),
        "headers": json.dumps(
            {k: v for k, v in r.headers.items() if k not in {"host", "content-length"}}
        ),
        "body": r.body.decode(),
        "expect": expect,
    }


def client_plan(stack: EmulatorStack) -> list[list[dict[str, str]]]:
    """The cold reset's round trips, built from what the function sent.

    One unauthorized Key Vault read (its 401 carries the challenge); one managed
    identity token; one authorized read per secret, all three at once; the token
    exchange; the Partner Center call(s). Whatever extra the function sent (repeated
    challenges or identity calls) is left out, and so is the background write.
    """
    kv, mi = stack.key_vault, stack.managed_identity
    reads = [r for r in kv.requests if r.method == "GET"]
    challenge = [r for r in reads if "authorization" not in r.headers][:1]
    authorized: dict[str, RecordedRequest] = {}
    for r in reads:
        if "authorization" in r.headers:
            authorized.setdefault(r.path, r)
    steps = [
        [_call(kv.url, r, expect="401") for r in challenge],
        [_call(mi.url, r) for r in mi.requests[:1]],
        [_call(kv.url, r) for r in authorized.values()],
        [_call(stack.identity.url, r) for r in stack.identity.requests_to("POST", r"/token$")],
        [_call(stack.partner_center.url, r) for r in stack.partner_center.requests],
    ]
    if [len(s) for s in steps[:3]] != [1, 1, 3]:
        raise RuntimeError(f"unexpected cold round trips: {[len(s) for s in steps]}")
    return steps


def _upstream_calls(stack: EmulatorStack) -> str:
    kv = stack.key_vault.requests
    challenges = sum(1 for r in kv if "authorization" not in r.headers)
    reads = sum(1 for r in kv if r.method == "GET" and "authorization" in r.headers)
    writes = sum(1 for r in kv if r.method == "PUT")
    return (
        f"managed identity {len(stack.managed_identity.requests)}, Key Vault challenges "
        f"{challenges}, reads {reads}, writes {writes} (background), token exchanges "
        f"{len(stack.identity.requests_to('POST', r'/token$'))}, Partner Center "
        f"{len(stack.partner_center.requests)}"
    )


def cold_start(
    stack: EmulatorStack, env: Mapping[str, str], customer: str, user: str, plan: Plan
) -> Figure:
    heading("3. Cold: fresh process to its first reset vs a minimal client process")
    # The untimed first run of each side writes any bytecode still missing: not if the
    # environment forbids it (as some shells and CI images do).
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for name in OUR_CODE:
        path = ROOT / name
        if path.is_dir():
            compileall.compile_dir(path, quiet=2)
        else:
            compileall.compile_file(path, quiet=2)
    ours = Side(["function", customer, user])
    stack.reset_state()
    if not first_answer(ours.args, env).ok:  # unmeasured: warms caches
        raise RuntimeError("the cold function process did not answer 2xx")
    time.sleep(0.2)  # the background refresh-token write lands before we count
    print("function's upstream calls, first reset: " + _upstream_calls(stack))
    steps = client_plan(stack)
    print("minimal client's round trips: " + " -> ".join(str(len(s)) for s in steps))
    with tempfile.TemporaryDirectory() as scratch:
        plan_file = Path(scratch) / "client.json"
        plan_file.write_text(json.dumps(steps), encoding="utf-8")
        minimal = Side(["client", str(plan_file)])
        floor = Side(["floor", str(plan_file)])
        sides = [ours, minimal, floor]
        for side in sides[1:]:
            stack.reset_state()
            if not first_answer(side.args, env).ok:
                raise RuntimeError(f"the cold {side.args[0]} process did not answer 2xx")
        ratios, floor_ratios, mine, theirs, failures = [], [], [], [], 0
        for _ in range(plan.repeats):
            for side in sides:
                side.runs = []
            for i in range(plan.cold_runs):
                for side in sides if i % 2 == 0 else sides[::-1]:
                    stack.reset_state()
                    run = first_answer(side.args, env)
                    side.runs.append(run)
                    failures += not run.ok
            mine.append(ours.median("seconds"))
            theirs.append(minimal.median("seconds"))
            ratios.append(ratio(mine[-1], theirs[-1]))
            floor_ratios.append(ratio(floor.median("seconds"), theirs[-1]))
            _print_breakdown(sides)
        importtime = _import_breakdown(ours, minimal, env, stack)
    figure = Figure(
        "cold: fresh process to first answer / minimal client",
        "python -m dev.bench.child function (import function_app, one reset)",
        "python, import azure.functions + requests, same round trips",
        statistics.median(mine),
        statistics.median(theirs),
        tuple(ratios),
        COLD_TARGET,
        failures,
        before=COLD_BEFORE,
    )
    print_figure(figure, f"medians of {plan.cold_runs} processes each, {plan.repeats} runs")
    runs = ", ".join(f"{r:.3f}" for r in floor_ratios)
    print(
        f"  floor (the kept packages used directly, same round trips) / minimal client: "
        f"{statistics.median(floor_ratios):.3f}x (runs: {runs})"
    )
    print(importtime)
    stack.reset_state()
    return figure


def _print_breakdown(sides: list[Side]) -> None:
    """Medians of the last run, per side: where each side's time goes."""
    for side in sides:
        interpreter, imports, request = (
            side.median(part) * 1000 for part in ("interpreter", "imports", "first_request")
        )
        print(
            f"  {side.args[0]:>8}: {side.median('seconds') * 1000:6.1f} ms = interpreter "
            f"{interpreter:5.1f} + imports {imports:6.1f} + first request {request:5.1f} ms "
            f"(modules {side.runs[0].modules[0]} -> {side.runs[0].modules[1]})",
            flush=True,
        )


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+\d+ \| ( *)(\S+)$")
# Grouped by distribution: the first two name parts for namespace packages.
_TWO_PART = frozenset({"azure", "dev"})


def _self_times(args: list[str], env: Mapping[str, str], stack: EmulatorStack) -> dict[str, int]:
    """Microseconds of import work per top-level package, over the whole first answer."""
    stack.reset_state()
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-X", "importtime", "-m", "dev.bench.child", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    times: dict[str, int] = defaultdict(int)
    for line in result.stderr.splitlines():
        found = _IMPORT_LINE.match(line)
        if found:
            parts = found.group(3).split(".")
            times[".".join(parts[:2] if parts[0] in _TWO_PART else parts[:1])] += int(
                found.group(1)
            )
    return times


def _import_breakdown(
    ours: Side, minimal: Side, env: Mapping[str, str], stack: EmulatorStack, runs: int = 3
) -> str:
    """Untimed `-X importtime` runs of each side (medians of `runs`): the import work the
    function does and the minimal client does not, by package. importtime's own overhead
    inflates these by a tenth or so: they rank the costs, the timed runs give the totals."""
    mine = [_self_times(ours.args, env, stack) for _ in range(runs)]
    theirs = [_self_times(minimal.args, env, stack) for _ in range(runs)]
    extra = {
        name: statistics.median(m.get(name, 0) for m in mine)
        - statistics.median(t.get(name, 0) for t in theirs)
        for name in set().union(*mine)
    }
    ranked = sorted(((t, name) for name, t in extra.items() if t > 0), reverse=True)
    total = sum(t for t, _ in ranked)
    top = ", ".join(f"{name} {t / 1000:.0f}" for t, name in ranked[:10] if t >= 1000)
    return (
        f"  imports the function does and the minimal client does not (-X importtime, "
        f"self times, whole first answer, medians of {runs}): {total / 1000:.0f} ms: {top} ms"
    )
