"""Benchmarks (issue 6): warm overhead, cold start, concurrency, memory, reset by names.

python3 dev/bench.py           # the full run: about two minutes on two cores
python3 dev/bench.py --quick   # fewer iterations, to check the script itself

Everything runs against the emulators on 127.0.0.1, through the registered function as
the worker calls it (`app.get_functions()`, then the user function with a
`func.HttpRequest`). It prints the figures of one run with their ratios; it fails on
nothing but its own errors, so it is not part of the test command.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime
import gc
import json
import logging
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Only the standard library at module level: under the bare system python the script
# re-runs itself in the virtualenv before it imports anything else.
from dev.bootstrap import ROOT, reexec_in_venv

if TYPE_CHECKING:
    import requests

    from dev.emulators.messages import RecordedRequest
    from dev.emulators.stack import EmulatorStack

ROUTE = "customers/{customer}/users/{user}/resetpassword"
PASSWORD = "Bench#Pw-7f3a9c2e"  # 8-256 characters, all four classes; reuse is fine
OUR_PACKAGES = (str(ROOT / "reset_password"), str(ROOT / "shared"), str(ROOT / "function_app.py"))
TRANSPORT = (
    "/requests/",
    "/urllib3/",
    "/http/client.py",
    "/socket.py",
    "/ssl.py",
    "/selectors.py",
    "/threading.py",
)
DEPENDENCIES = (
    "azure.functions",
    "azure.identity",
    "azure.keyvault.secrets",
    "requests",
    "pydantic",
)
CONCURRENT_RESETS = 32
PARTNER_CENTER_LATENCY = 0.1
WARM_TARGET = 1.3
COLD_TARGET = 1.2
# A memory figure counts as flat when it moves less than this between 100 and 10,000.
RSS_NOISE_KIB = 2048
TRACED_NOISE_BYTES = 256 * 1024
HOP_BY_HOP = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "user-agent", "transfer-encoding"}
)
PER_CALL_IDS = ("ms-requestid", "ms-correlationid")


@dataclass(frozen=True)
class Plan:
    warm: int = 600
    guard: int = 500
    profile: int = 300
    cold_runs: int = 7
    memory_small: int = 100
    memory_large: int = 10_000
    names: int = 200


QUICK = Plan(warm=100, guard=60, profile=60, cold_runs=3, memory_small=100, memory_large=1000)


@dataclass
class Row:
    metric: str
    value: str
    target: str
    verdict: str


@dataclass
class Summary:
    rows: list[Row] = field(default_factory=list)

    def add(self, metric: str, value: str, target: str = "", verdict: str = "info") -> None:
        self.rows.append(Row(metric, value, target, verdict))


# --- output ------------------------------------------------------------------------


def heading(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 86 - len(title)), flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    sys.stdout.flush()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.inf


def p99(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "OVER"


class CountingHandler(logging.Handler):
    """Shows the first few warnings and counts the rest, so the tables stay readable."""

    def __init__(self, shown: int = 3) -> None:
        super().__init__(logging.WARNING)
        self.shown = shown
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.count <= self.shown:
            text = record.getMessage()
            print(f"  [log {record.levelname} {record.name}] {text[:300]}", file=sys.stderr)


def quiet_logging() -> CountingHandler:
    handler = CountingHandler()
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    return handler


def machine() -> list[tuple[str, str]]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("date", datetime.datetime.now().astimezone().isoformat(timespec="seconds")),
        ("platform", platform.platform()),
        ("cpu", f"{cpu}; {os.cpu_count()} logical, {usable} usable"),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        (
            "command",
            "python3 dev/bench.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""),
        ),
    ]


# --- driving the registered function ------------------------------------------------


def registered_reset(app: Any) -> Callable[..., Any]:
    """The reset's user function; get_functions() may run only once per app object."""
    functions = {str(f.get_function_name()): f for f in app.get_functions()}
    user_function: Callable[..., Any] = functions["reset_password"].get_user_function()
    return user_function


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    seconds: float


class Driver:
    """Calls the registered function like the worker does and times the call alone."""

    def __init__(self, function: Callable[..., Any], password: str = PASSWORD) -> None:
        import azure.functions as func

        self._func = func
        self._function = function
        self._body = json.dumps({"password": password}).encode()

    def reset(self, customer: str, user: str) -> Answer:
        request = self._func.HttpRequest(
            method="POST",
            url="http://localhost:7071/api/" + ROUTE.format(customer=customer, user=user),
            headers={"Content-Type": "application/json"},
            params={},
            route_params={"customer": customer, "user": user},
            body=self._body,
        )
        started = time.perf_counter()
        response = self._function(request)
        seconds = time.perf_counter() - started
        return Answer(int(response.status_code), bytes(response.get_body()), seconds)


class BareReplay:
    """The physical limit: the same upstream requests, sent with a plain requests.Session.

    Method, path, headers and body are the ones the function sent (as the emulator
    recorded them); MS-RequestId and MS-CorrelationId are fresh per call, as they are in
    the function, so the emulator applies every reset instead of replaying one answer.
    """

    def __init__(self, base_url: str, recorded: Sequence[RecordedRequest]) -> None:
        import requests

        self._session: requests.Session = requests.Session()
        self._calls = [
            (
                r.method,
                base_url + r.path,
                {k: v for k, v in r.headers.items() if k not in HOP_BY_HOP},
                r.body or None,
            )
            for r in recorded
        ]

    def send(self) -> Answer:
        status = 0
        started = time.perf_counter()
        for method, url, headers, body in self._calls:
            for name in PER_CALL_IDS:
                if name in headers:
                    headers[name] = str(uuid.uuid4())
            response = self._session.request(method, url, data=body, headers=headers)
            status = max(status, response.status_code)
        return Answer(status, b"", time.perf_counter() - started)


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    failures: int = 0
    statuses: set[int] = field(default_factory=set)

    def add(self, answer: Answer) -> None:
        self.seconds.append(answer.seconds)
        if not 200 <= answer.status < 300:
            self.failures += 1
            self.statuses.add(answer.status)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p99(self) -> float:
        return p99(self.seconds)

    def note(self) -> str:
        if not self.failures:
            return ""
        return f"  ({self.failures} non-2xx: HTTP {sorted(self.statuses)})"


def interleave(pairs: Sequence[tuple[str, Callable[[], Answer]]], n: int) -> dict[str, Samples]:
    """Run each callable n times, alternating, reversing the order every iteration."""
    results = {name: Samples() for name, _ in pairs}
    for i in range(n):
        order = pairs if i % 2 == 0 else list(reversed(pairs))
        for name, call in order:
            results[name].add(call())
    return results


# --- the benchmark ------------------------------------------------------------------


class Bench:
    def __init__(self, stack: EmulatorStack, plan: Plan, summary: Summary) -> None:
        from dev.emulators.samples import (
            SAMPLE_CUSTOMER_DOMAIN,
            SAMPLE_CUSTOMER_ID,
            SAMPLE_USER_ID,
            SAMPLE_USER_UPN,
            SECRET_NAME_APP_ID,
            SECRET_NAME_APP_SECRET,
            SECRET_NAME_REFRESH_TOKEN,
        )

        self.stack = stack
        self.plan = plan
        self.summary = summary
        self.customer = SAMPLE_CUSTOMER_ID
        self.user = SAMPLE_USER_ID
        self.domain = SAMPLE_CUSTOMER_DOMAIN
        self.upn = SAMPLE_USER_UPN
        self.secret_names = (SECRET_NAME_APP_ID, SECRET_NAME_APP_SECRET, SECRET_NAME_REFRESH_TOKEN)
        self.refresh_name = SECRET_NAME_REFRESH_TOKEN
        self.driver: Driver | None = None
        self.warm_median: float | None = None
        self.cold_penalty: float | None = None

    # -- environment and state --------------------------------------------------------

    def base_environment(self) -> dict[str, str]:
        from shared.settings import SETTING_NAMES

        env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
        env.update(self.stack.settings())
        env["PROTECTED_ROLE_GUARD"] = "false"
        env["PYTHONPATH"] = str(ROOT)
        return env

    def configure(self, **settings: str) -> None:
        """Change app settings and start cold, as after a restart."""
        from composition import rebuild as reset_clients

        os.environ.update(settings)
        reset_clients()

    def cold_instance(self) -> None:
        """Forget the clients (waiting for background writes) and reseed the emulators."""
        from composition import rebuild as reset_clients

        reset_clients()
        self.stack.reset_state()

    def clear_records(self) -> None:
        """Drop the emulators' request records so this process's heap stays the same size."""
        for server in self.stack.servers:
            server.clear_requests()

    def reset(self, customer: str | None = None, user: str | None = None) -> Answer:
        assert self.driver is not None
        return self.driver.reset(customer or self.customer, user or self.user)

    def wait_for_write(self, count: int = 1, timeout: float = 5.0) -> bool:
        end = time.monotonic() + timeout
        while self.stack.key_vault.writes(self.refresh_name) < count:
            if time.monotonic() > end:
                return False
            time.sleep(0.005)
        return True

    def bare_for_last(self, kinds: int) -> BareReplay:
        """A bare replay of the last `kinds` Partner Center requests the function sent."""
        recorded = self.stack.partner_center.requests[-kinds:]
        return BareReplay(self.stack.partner_center.url, recorded)

    # -- 1. cold start ----------------------------------------------------------------

    def cold_imports(self) -> None:
        heading("2a. Cold start: imports in a fresh interpreter")
        env = self.base_environment()
        variants = {
            "function_app": "import function_app",
            "dependencies": "import " + ", ".join(DEPENDENCIES),
            # pydantic imports lazily: `import pydantic` loads little until a model is
            # defined. This variant loads what any app defining one model pays for.
            "dependencies + a pydantic model": "import "
            + ", ".join(DEPENDENCIES)
            + "\nclass M(pydantic.BaseModel):\n    x: int = 0",
        }
        timer = "import time\nt = time.perf_counter()\n{}\nprint(time.perf_counter() - t)"
        inside: dict[str, list[float]] = {name: [] for name in variants}
        whole: dict[str, list[float]] = {name: [] for name in variants}
        # One unmeasured run each writes the bytecode caches, as a deployment ships them.
        for code in variants.values():
            fresh_python(["-c", code], env)
        for i in range(self.plan.cold_runs):
            order = list(variants.items())
            for name, code in order if i % 2 == 0 else reversed(order):
                started = time.perf_counter()
                out, _ = fresh_python(["-c", timer.format(code)], env)
                whole[name].append(time.perf_counter() - started)
                inside[name].append(float(out.strip().splitlines()[-1]))
        baseline = statistics.median(self._timed_python(env) for _ in range(3))
        app = statistics.median(inside["function_app"])
        app_wall = statistics.median(whole["function_app"])
        rows = []
        for name in variants:
            t, wall = statistics.median(inside[name]), statistics.median(whole[name])
            rows.append(
                [
                    f"import {name}",
                    ms(t),
                    f"{ratio(app, t):.2f}",
                    ms(wall),
                    f"{ratio(app_wall, wall):.2f}",
                ]
            )
        table(
            [
                "fresh interpreter",
                "import time",
                "function_app / this",
                "whole process",
                "function_app / this",
            ],
            rows,
        )
        print(
            f"median of {self.plan.cold_runs} runs each, interleaved; interpreter alone "
            f"(python -c pass): {ms(baseline)}; dependencies: " + ", ".join(DEPENDENCIES)
        )
        dep = statistics.median(inside["dependencies"])
        model = statistics.median(inside["dependencies + a pydantic model"])
        self.summary.add(
            "cold: import function_app / deps",
            f"{ratio(app, dep):.2f} ({ms(app)} vs {ms(dep)})",
            f"<= {COLD_TARGET}",
            verdict(ratio(app, dep), COLD_TARGET),
        )
        self.summary.add(
            "cold: import function_app / deps+model",
            f"{ratio(app, model):.2f} ({ms(app)} vs {ms(model)})",
            f"<= {COLD_TARGET}",
            verdict(ratio(app, model), COLD_TARGET),
        )
        self._import_breakdown(
            env, variants["function_app"], variants["dependencies + a pydantic model"]
        )

    @staticmethod
    def _timed_python(env: Mapping[str, str]) -> float:
        started = time.perf_counter()
        fresh_python(["-c", "pass"], env)
        return time.perf_counter() - started

    def _import_breakdown(self, env: Mapping[str, str], ours: str, floor: str) -> None:
        """Modules function_app adds beyond the dependencies with pydantic's models loaded."""
        runs = 3
        added: dict[str, list[int]] = {}
        for _ in range(runs):
            app, base = import_times(env, ours), import_times(env, floor)
            for name, us in app.items():
                if name not in base:
                    added.setdefault(name, []).append(us)
        extra = {name: statistics.median(times) for name, times in added.items()}
        total = sum(extra.values())
        print(
            f"\nmodules function_app imports beyond the dependencies + a pydantic model: "
            f"{len(extra)}, {total / 1000:.1f} ms of their own import time under -X importtime "
            f"(median of {runs} runs; top 12):"
        )
        top = sorted(extra.items(), key=lambda item: item[1], reverse=True)[:12]
        table(["module", "self"], [[name, f"{t / 1000:.2f} ms"] for name, t in top])

    def cold_first_reset(self) -> None:
        heading("2b. Cold start: upstream calls of the first reset")
        self.configure(PROTECTED_ROLE_GUARD="false")
        self.cold_instance()
        first = self.reset()
        written = self.wait_for_write()
        stack = self.stack
        reads = [stack.key_vault.reads(name) for name in self.secret_names]
        kv_gets = len(stack.key_vault.requests_to("GET", r"/secrets/"))
        exchanges = len(stack.identity.requests_to("POST", r"/token$"))
        identity = len(stack.managed_identity.requests)
        partner_center = len(stack.partner_center.requests)
        writes = stack.key_vault.writes(self.refresh_name)
        rows = [
            ["managed identity token", str(identity), "1"],
            *[
                [f"Key Vault read '{name}'", str(n), "1"]
                for name, n in zip(self.secret_names, reads, strict=True)
            ],
            ["Key Vault 401 challenge round trips", str(kv_gets - sum(reads)), "1 (SDK)"],
            ["token exchange (identity platform)", str(exchanges), "1"],
            ["Partner Center", str(partner_center), "1"],
            [
                "background: Key Vault refresh-token write",
                str(writes) + ("" if written else " (not seen within 5 s)"),
                "1 (ROTATE_REFRESH_TOKEN on)",
            ],
        ]
        table(["upstream call (first reset, guard off)", "count", "expected"], rows)
        print(f"first reset: HTTP {first.status} in {ms(first.seconds)}")
        if not 200 <= first.status < 300:
            print("  answer: " + first.body[:400].decode(errors="replace"))
        # The warm median so far: a few resets after the cold one.
        warm = [self.reset().seconds for _ in range(50)]
        self.warm_median = statistics.median(warm)
        self.cold_penalty = max(0.0, first.seconds - self.warm_median)
        print(
            f"cold penalty (first reset - warm median {ms(self.warm_median)}): "
            f"{ms(self.cold_penalty)}"
        )
        expected = identity == 1 and exchanges == 1 and reads == [1, 1, 1] and partner_center == 1
        self.summary.add(
            "cold: first reset upstream calls",
            f"MI {identity}, reads {reads}, exchanges {exchanges}, PC {partner_center} "
            f"(+{writes} background write)",
            "1, [1,1,1], 1, 1",
            "ok" if expected else "OVER",
        )
        self.summary.add(
            "cold: first reset latency",
            f"{ms(first.seconds)} (HTTP {first.status})",
            verdict="info" if 200 <= first.status < 300 else "ERROR",
        )

    # -- 2. warm overhead -------------------------------------------------------------

    def warm_overhead(self) -> None:
        heading("1. Warm overhead: registered function vs bare requests.Session")
        self.configure(PROTECTED_ROLE_GUARD="false")
        self.clear_records()
        for _ in range(50):
            self.reset()
        self.reset()
        bare_patch = self.bare_for_last(1)
        for _ in range(50):
            bare_patch.send()
        before = len(self.stack.partner_center.requests)
        off = interleave([("function", self.reset), ("bare", bare_patch.send)], self.plan.warm)
        # Every bare call is one request too; what is left over is the function's.
        calls = len(self.stack.partner_center.requests) - before - self.plan.warm
        per_reset = calls / self.plan.warm

        self.configure(PROTECTED_ROLE_GUARD="true")
        for _ in range(50):
            self.reset()
        self.reset()
        bare_trio = self.bare_for_last(3)
        for _ in range(20):
            bare_trio.send()
        on = interleave(
            [("function", self.reset), ("bare3", bare_trio.send), ("bare1", bare_patch.send)],
            self.plan.guard,
        )
        self.configure(PROTECTED_ROLE_GUARD="false")

        f_off, b_off = off["function"], off["bare"]
        f_on, b3, b1 = on["function"], on["bare3"], on["bare1"]
        rows = [
            [
                "guard off: function (1 PC call)",
                ms(f_off.median),
                ms(f_off.p99),
                f"{ratio(f_off.median, b_off.median):.2f}",
                f"{ratio(f_off.p99, b_off.p99):.2f}",
                str(len(f_off.seconds)) + f_off.note(),
            ],
            [
                "guard off: bare PATCH",
                ms(b_off.median),
                ms(b_off.p99),
                "1.00",
                "1.00",
                str(len(b_off.seconds)) + b_off.note(),
            ],
            [
                "guard on: function (3 PC calls)",
                ms(f_on.median),
                ms(f_on.p99),
                f"{ratio(f_on.median, b3.median):.2f}",
                f"{ratio(f_on.p99, b3.p99):.2f}",
                str(len(f_on.seconds)) + f_on.note(),
            ],
            [
                "guard on: bare GET user, GET roles, PATCH",
                ms(b3.median),
                ms(b3.p99),
                "1.00",
                "1.00",
                str(len(b3.seconds)) + b3.note(),
            ],
            [
                "guard on: bare PATCH alone",
                ms(b1.median),
                ms(b1.p99),
                f"{ratio(b1.median, b3.median):.2f}",
                f"{ratio(b1.p99, b3.p99):.2f}",
                str(len(b1.seconds)) + b1.note(),
            ],
        ]
        table(["path", "median", "p99", "ratio median", "ratio p99", "n"], rows)
        print(
            f"Partner Center calls per warm reset (guard off): {per_reset:.2f}; "
            f"guard on vs bare PATCH alone: {ratio(f_on.median, b1.median):.2f}x median"
        )
        self.warm_median = f_off.median
        warm_ratio = ratio(f_off.median, b_off.median)
        bad = f_off.failures or f_on.failures
        self.summary.add(
            "warm: function / bare (guard off)",
            f"{warm_ratio:.2f} median, {ratio(f_off.p99, b_off.p99):.2f} p99 "
            f"({ms(f_off.median)} vs {ms(b_off.median)})",
            f"<= {WARM_TARGET}",
            "ERROR" if bad else verdict(warm_ratio, WARM_TARGET),
        )
        guard_ratio = ratio(f_on.median, b3.median)
        self.summary.add(
            "warm: function / bare x3 (guard on)",
            f"{guard_ratio:.2f} median, {ratio(f_on.p99, b3.p99):.2f} p99 "
            f"({ms(f_on.median)} vs {ms(b3.median)})",
            f"<= {WARM_TARGET}",
            "ERROR" if bad else verdict(guard_ratio, WARM_TARGET),
        )
        self.summary.add(
            "warm: PC calls per reset (guard off)",
            f"{per_reset:.2f}",
            "1",
            "ok" if per_reset <= 1 else "OVER",
        )

    def profile(self) -> None:
        heading(f"1b. cProfile of {self.plan.profile} warm resets (guard off)")
        self.configure(PROTECTED_ROLE_GUARD="false")
        for _ in range(20):
            self.reset()
        entries = profile_calls(self.reset, self.plan.profile)
        print_profile(entries, self.plan.profile, ours=15, others=12)

    # -- 3. concurrency ---------------------------------------------------------------

    def concurrency(self) -> None:
        heading(
            f"3. Concurrency: {CONCURRENT_RESETS} resets on a cold instance, Partner Center "
            f"+{PARTNER_CENTER_LATENCY * 1000:.0f} ms"
        )
        default_threads = int(
            os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT") or min(32, (os.cpu_count() or 1) + 4)
        )
        cold = self.cold_penalty or 0.0
        rows = []
        for threads, label in ((32, "32 threads"), (default_threads, "worker default")):
            self.configure(PROTECTED_ROLE_GUARD="false")
            self.cold_instance()
            self.stack.partner_center.latency = PARTNER_CENTER_LATENCY
            try:
                wall, answers = self._burst(threads)
            finally:
                self.stack.partner_center.latency = 0.0
            self.wait_for_write()
            ideal = math.ceil(CONCURRENT_RESETS / threads) * PARTNER_CENTER_LATENCY + cold
            exchanges = len(self.stack.identity.requests_to("POST", r"/token$"))
            reads = [self.stack.key_vault.reads(name) for name in self.secret_names]
            failures = sum(1 for a in answers if not 200 <= a.status < 300)
            slowest = max(a.seconds for a in answers)
            rows.append(
                [
                    f"{label} ({threads})",
                    ms(wall),
                    ms(ideal),
                    f"{ratio(wall, ideal):.2f}",
                    ms(slowest),
                    str(exchanges),
                    str(reads),
                    str(len(self.stack.managed_identity.requests)),
                    str(failures),
                ]
            )
            ok = exchanges == 1 and reads == [1, 1, 1] and not failures
            self.summary.add(
                f"concurrency {threads} threads: wall / ideal",
                f"{ratio(wall, ideal):.2f} ({ms(wall)} vs {ms(ideal)})",
                "~1",
                "ERROR" if failures else "info",
            )
            self.summary.add(
                f"concurrency {threads} threads: exchanges, reads",
                f"{exchanges}, {reads}",
                "1, [1,1,1]",
                "ok" if ok else "OVER",
            )
        table(
            [
                "pool",
                "wall",
                "ideal",
                "ratio",
                "slowest reset",
                "exchanges",
                "reads per secret",
                "MI tokens",
                "non-2xx",
            ],
            rows,
        )
        print(
            f"ideal = ceil({CONCURRENT_RESETS}/threads) x {PARTNER_CENTER_LATENCY * 1000:.0f} ms "
            f"+ one cold exchange ({ms(cold)}, the first reset's penalty measured in 2b); "
            "PYTHON_THREADPOOL_THREAD_COUNT default on Python 3.11: min(32, cpu + 4)"
        )

    def _burst(self, threads: int) -> tuple[float, list[Answer]]:
        start = threading.Event()

        def one() -> Answer:
            start.wait()
            return self.reset()

        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench") as pool:
            futures = [pool.submit(one) for _ in range(CONCURRENT_RESETS)]
            time.sleep(0.05)  # let the pool start its threads before the clock runs
            started = time.perf_counter()
            start.set()
            answers = [f.result() for f in futures]
            wall = time.perf_counter() - started
        return wall, answers

    # -- 4. memory --------------------------------------------------------------------

    def memory(self) -> None:
        small, large = self.plan.memory_small, self.plan.memory_large
        heading(f"4. Memory: {small} vs {large:,} warm resets (function in child processes)")
        print(
            "The function runs in child pythons, the emulators in this process, so the "
            "emulators' records (each request, each reset's replay answer) do not count. "
            "Two children: one untraced for RSS, one under tracemalloc (about 4x slower); "
            "gc.collect() before each reading."
        )
        checkpoints = sorted({small, large // 10, large // 2, large})
        runs = {mode: self._memory_child(mode, checkpoints) for mode in ("rss", "traced")}
        rss, traced = runs["rss"], runs["traced"]
        if not rss or not traced:
            self.summary.add("memory", "a worker failed", verdict="ERROR")
            return
        by_resets = {p["resets"]: p for p in traced}
        rows = [
            [
                f"{p['resets']:,}",
                f"{p['maxrss_kib'] / 1024:.1f} MiB",
                f"{p['rss_kib'] / 1024:.1f} MiB",
                f"{by_resets[p['resets']]['traced'] / 1024:.0f} KiB",
                str(p["objects"]),
                str(p["threads"]),
                str(p["fds"]),
                str(p["failures"] + by_resets[p["resets"]]["failures"]),
                f"{p['seconds']:.1f} / {by_resets[p['resets']]['seconds']:.1f} s",
            ]
            for p in rss
        ]
        table(
            [
                "resets",
                "peak RSS",
                "RSS now",
                "tracemalloc",
                "gc objects",
                "threads",
                "fds",
                "non-2xx",
                "resetting (untraced / traced)",
            ],
            rows,
        )
        growth = traced[-1].get("growth") or []
        if growth:
            print(f"largest tracemalloc growth, {small} -> {traced[-1]['resets']:,} resets:")
            for line in growth:
                print(f"  {line}")
        first, last = rss[0], rss[-1]
        rss_growth = last["maxrss_kib"] - first["maxrss_kib"]
        traced_growth = traced[-1]["traced"] - traced[0]["traced"]
        rss_flat = rss_growth <= max(RSS_NOISE_KIB, first["maxrss_kib"] * 0.02)
        failures = last["failures"] + traced[-1]["failures"]
        self.summary.add(
            f"memory: peak RSS {small} -> {last['resets']:,}",
            f"{first['maxrss_kib'] / 1024:.1f} -> {last['maxrss_kib'] / 1024:.1f} MiB "
            f"({rss_growth / 1024:+.1f})",
            f"< +{RSS_NOISE_KIB // 1024} MiB",
            "ERROR" if failures else "ok" if rss_flat else "OVER",
        )
        self.summary.add(
            f"memory: tracemalloc {small} -> {traced[-1]['resets']:,}",
            f"{traced[0]['traced'] / 1024:.0f} -> {traced[-1]['traced'] / 1024:.0f} KiB "
            f"({traced_growth / 1024:+.0f})",
            f"< +{TRACED_NOISE_BYTES // 1024} KiB",
            "ERROR" if failures else "ok" if traced_growth <= TRACED_NOISE_BYTES else "OVER",
        )

    def _memory_child(self, mode: str, checkpoints: list[int]) -> list[dict[str, Any]]:
        self.cold_instance()
        result = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, str(Path(__file__).resolve()), "--memory-worker", mode]
            + [str(c) for c in checkpoints],
            cwd=ROOT,
            env=self.base_environment(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.clear_records()
        points = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        if result.returncode != 0 or len(points) != len(checkpoints):
            print(f"memory worker ({mode}) failed, exit {result.returncode}:")
            print(result.stderr[-2000:])
            return []
        return points

    # -- 5. reset by names ------------------------------------------------------------

    def by_names(self) -> None:
        """SLOT: reset by names (domain for {customer}, UPN for {user}).

        Always tried: while the route refuses names (HTTP 400) it prints n/a. Once lookups
        land it measures the first reset by names (lookups not cached yet) and the
        Partner Center calls and latency of warm resets by names against the bare PATCH
        by IDs, the physical limit when the names are already resolved.
        """
        heading(f"5. Reset by names ({self.domain}, {self.upn})")
        self.configure(PROTECTED_ROLE_GUARD="false")
        self.clear_records()
        for _ in range(20):
            self.reset()
        self.reset()
        bare_patch = self.bare_for_last(1)
        before = len(self.stack.partner_center.requests)
        first = self.reset(self.domain, self.upn)
        first_calls = self.stack.partner_center.requests[before:]
        if first.status == 400:
            print("n/a: the route answers HTTP 400 to a reset by names (no lookups yet)")
            self.summary.add("names: PC calls per warm reset", "n/a (HTTP 400)", "1", "n/a")
            return
        if not 200 <= first.status < 300:
            print(f"reset by names answered HTTP {first.status}: {first.body[:300]!r}")
            self.summary.add("names: reset", f"HTTP {first.status}", verdict="ERROR")
            return
        print(
            f"first reset by names: {ms(first.seconds)}, Partner Center calls: "
            + ", ".join(f"{r.method} {r.path}" for r in first_calls)
        )
        n = self.plan.names
        before = len(self.stack.partner_center.requests)
        results = interleave(
            [("names", lambda: self.reset(self.domain, self.upn)), ("bare", bare_patch.send)], n
        )
        calls = len(self.stack.partner_center.requests) - before - n  # minus the bare ones
        f, b = results["names"], results["bare"]
        table(
            ["path", "median", "p99", "ratio median", "n"],
            [
                [
                    "function by names",
                    ms(f.median),
                    ms(f.p99),
                    f"{ratio(f.median, b.median):.2f}",
                    str(n) + f.note(),
                ],
                ["bare PATCH by IDs", ms(b.median), ms(b.p99), "1.00", str(n) + b.note()],
            ],
        )
        per_reset = calls / n
        print(f"Partner Center calls per warm reset by names: {per_reset:.2f}\n")
        profiled = max(50, n // 2)
        entries = profile_calls(lambda: self.reset(self.domain, self.upn), profiled)
        print_profile(entries, profiled, ours=12, others=0)
        self.summary.add(
            "names: first reset PC calls", str(len(first_calls)), "lookups + 1", "info"
        )
        self.summary.add(
            "names: PC calls per warm reset",
            f"{per_reset:.2f}",
            "1",
            "ok" if per_reset <= 1.0 else "OVER",
        )
        self.summary.add(
            "names: warm function / bare",
            f"{ratio(f.median, b.median):.2f} median",
            f"<= {WARM_TARGET}",
            verdict(ratio(f.median, b.median), WARM_TARGET),
        )


@dataclass(frozen=True)
class ProfileEntry:
    label: tuple[str, int, str]
    calls: int
    own: float
    cumulative: float


def profile_calls(call: Callable[[], object], n: int) -> list[ProfileEntry]:
    """cProfile of n calls in this thread (the emulators' threads are not profiled)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        call()
    profiler.disable()
    profiler.create_stats()
    return [
        ProfileEntry(label, int(nc), float(tt), float(ct))
        for label, (_cc, nc, tt, ct, _callers) in profiler.stats.items()
    ]


def print_profile(entries: Sequence[ProfileEntry], n: int, *, ours: int, others: int) -> None:
    route = max(
        (e for e in entries if e.label[2] == "reset_password_route"),
        key=lambda e: e.cumulative,
        default=None,
    )
    upstream = sum(
        e.cumulative
        for e in entries
        if e.label[0].endswith("requests/sessions.py") and e.label[2] == "request"
    )
    if route is not None:
        print(
            f"under the profiler: route {route.cumulative / n * 1000:.3f} ms/reset, of which "
            f"requests.Session.request {upstream / n * 1000:.3f} ms "
            f"({ratio(upstream, route.cumulative) * 100:.0f}%); the rest "
            f"({(route.cumulative - upstream) / n * 1000:.3f} ms) stands above the bare call"
        )
    print(f"\ntop {ours} cumulative, our packages (reset_password, shared):")
    own = [e for e in entries if e.label[0].startswith(OUR_PACKAGES)]
    print_entries(sorted(own, key=lambda e: e.cumulative, reverse=True)[:ours], n)
    if not others:
        return
    print(
        f"\ntop {others} own time outside our packages and the HTTP transport "
        "(requests' per-request proxy lookup in os.environ is paid by the bare call too):"
    )
    rest = [
        e
        for e in entries
        if not e.label[0].startswith(OUR_PACKAGES)
        and not any(part in e.label[0] for part in TRANSPORT)
        and not any(part in e.label[2] for part in ("_socket.", "_ssl.", "_lsprof."))
    ]
    print_entries(sorted(rest, key=lambda e: e.own, reverse=True)[:others], n)


def print_entries(entries: Sequence[ProfileEntry], n: int) -> None:
    rows = []
    for e in entries:
        filename, line, name = e.label
        where = name if filename == "~" else f"{short_path(filename)}:{line}({name})"
        rows.append(
            [
                f"{e.cumulative / n * 1000:.3f}",
                f"{e.own / n * 1000:.3f}",
                f"{e.calls / n:.1f}",
                where,
            ]
        )
    table(["cum ms/reset", "own ms/reset", "calls/reset", "function"], rows)


def short_path(filename: str) -> str:
    for marker in ("site-packages/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    with contextlib.suppress(ValueError):
        return str(Path(filename).relative_to(ROOT))
    return filename


def fresh_python(args: list[str], env: Mapping[str, str]) -> tuple[str, str]:
    """Run our interpreter from the project root; its stdout and stderr."""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"python {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout, result.stderr


def import_times(env: Mapping[str, str], code: str) -> dict[str, int]:
    """Module -> its own import time in microseconds, from one `-X importtime` run."""
    _, out = fresh_python(["-X", "importtime", "-c", code], env)
    times: dict[str, int] = {}
    for line in out.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3:
            with contextlib.suppress(ValueError):
                times[parts[2].strip()] = int(parts[0].strip())
    return times


LISTEN_BACKLOG = 128


def emulator_tweaks() -> list[str]:
    """Take two emulator artefacts out of the figures, saying so in the output.

    - The handler writes headers and body in two sends with Nagle's algorithm on, so the
      body waits for the client's delayed ACK: ~40 ms added to every keep-alive answer.
    - The listening socket keeps socketserver's backlog of 5: a burst of new connections
      overflows it and the dropped SYNs are retried after a second.
    Both belong to the emulators, not the function; dev/emulators/base.py should set
    `disable_nagle_algorithm = True` on `_Handler` and `request_queue_size` on `_Server`.
    """
    from dev.emulators import base

    notes = []
    if base._Handler.disable_nagle_algorithm:
        notes.append("emulator sockets: TCP_NODELAY already set by the emulators")
    else:
        base._Handler.disable_nagle_algorithm = True
        notes.append(
            "emulator sockets: TCP_NODELAY set by this script (dev/emulators/base.py _Handler "
            "leaves Nagle on: ~40 ms delayed-ACK stall per keep-alive answer without it)"
        )
    if base._Server.request_queue_size >= LISTEN_BACKLOG:
        notes.append(f"emulator listen backlog: {base._Server.request_queue_size}")
    else:
        notes.append(
            f"emulator listen backlog: {base._Server.request_queue_size} -> {LISTEN_BACKLOG} "
            "set by this script (with socketserver's 5, a burst of 32 new connections loses "
            "SYNs and waits ~1 s for their retransmission)"
        )
        base._Server.request_queue_size = LISTEN_BACKLOG
    return notes


# --- memory worker (child process) ----------------------------------------------------


def memory_worker(mode: str, checkpoints: list[int]) -> None:
    """Runs in a child python: warm resets, one JSON line per checkpoint on stdout.

    mode "rss": no tracing at all, so RSS is the function's own. mode "traced":
    tracemalloc from the first line; the snapshot for the growth listing is dumped to a
    file and dropped before counting on, so it does not count as growth itself.
    """
    traced = mode == "traced"
    if traced:
        tracemalloc.start(1)
    handler = quiet_logging()
    import function_app
    from dev.emulators.samples import SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID

    driver = Driver(registered_reset(function_app.app))
    driver.reset(SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)  # cold
    done = failures = 0
    resetting = 0.0  # seconds spent in resets, readings and snapshots left out
    with tempfile.TemporaryDirectory() as scratch:
        first_dump = Path(scratch) / "first.snapshot"
        for target in checkpoints:
            started = time.perf_counter()
            while done < target:
                answer = driver.reset(SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)
                failures += not 200 <= answer.status < 300
                done += 1
            resetting += time.perf_counter() - started
            gc.collect()
            point: dict[str, Any] = {
                "resets": done,
                "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "rss_kib": current_rss_kib(),
                "traced": tracemalloc.get_traced_memory()[0] if traced else None,
                "objects": len(gc.get_objects()),
                "threads": threading.active_count(),
                "fds": len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").exists() else -1,
                "failures": failures,
                "seconds": resetting,
                "log_records": handler.count,
            }
            if traced and target == checkpoints[0]:
                tracemalloc.take_snapshot().dump(str(first_dump))
                gc.collect()
            elif traced and target == checkpoints[-1]:
                point["growth"] = traced_growth(tracemalloc.Snapshot.load(str(first_dump)))
            print(json.dumps(point), flush=True)


def traced_growth(first: tracemalloc.Snapshot) -> list[str]:
    """The five source lines whose live allocations grew most since `first`."""
    ignore = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, str(Path(__file__).resolve())),
    ]
    diff = (
        tracemalloc.take_snapshot()
        .filter_traces(ignore)
        .compare_to(first.filter_traces(ignore), "lineno")
    )
    return [
        f"{d.size_diff / 1024:+.1f} KiB, {d.count_diff:+d} blocks: "
        f"{short_path(d.traceback[0].filename)}:{d.traceback[0].lineno}"
        for d in sorted(diff, key=lambda d: d.size_diff, reverse=True)[:5]
        if d.size_diff > 0
    ]


def current_rss_kib() -> int:
    try:
        resident = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return -1
    return resident * os.sysconf("SC_PAGE_SIZE") // 1024


# --- main ---------------------------------------------------------------------------


@contextlib.contextmanager
def section(summary: Summary, name: str) -> Iterator[None]:
    """A failing section is reported and the run goes on with the next one."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
        print(f"!! {name} failed: {type(exc).__name__}: {exc}", flush=True)
        summary.add(name, f"{type(exc).__name__}", verdict="ERROR")


def run(plan: Plan) -> int:
    handler = quiet_logging()
    summary = Summary()
    heading("Benchmark: partner password reset against the emulators")
    table(["machine", ""], [[k, v] for k, v in machine()])
    from dev.emulators.stack import EmulatorStack
    from shared.settings import SETTING_NAMES

    notes = emulator_tweaks()
    started = time.perf_counter()
    with EmulatorStack() as stack:
        for note in notes:
            print(note)
        for name in SETTING_NAMES:
            os.environ.pop(name, None)
        os.environ.update(stack.settings())
        os.environ["PROTECTED_ROLE_GUARD"] = "false"
        bench = Bench(stack, plan, summary)
        with section(summary, "cold imports"):
            bench.cold_imports()
        import function_app

        bench.driver = Driver(registered_reset(function_app.app))
        with section(summary, "cold first reset"):
            bench.cold_first_reset()
        with section(summary, "warm overhead"):
            bench.warm_overhead()
        with section(summary, "profile"):
            bench.profile()
        with section(summary, "concurrency"):
            bench.concurrency()
        with section(summary, "reset by names"):
            bench.by_names()
        with section(summary, "memory"):
            bench.memory()
        from composition import rebuild as reset_clients

        reset_clients()
    heading("Summary")
    table(
        ["metric", "measured", "target", "verdict"],
        [[r.metric, r.value, r.target, r.verdict] for r in summary.rows],
    )
    print(
        f"\nlog records at WARNING or above during the run: {handler.count} (first few on "
        "stderr); "
        f"total {time.perf_counter() - started:.0f} s"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument("--memory-worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_worker:
        mode, *checkpoints = args.memory_worker
        memory_worker(mode, [int(c) for c in checkpoints])
        return 0
    reexec_in_venv(Path(__file__))
    return run(QUICK if args.quick else Plan())


if __name__ == "__main__":
    sys.exit(main())
