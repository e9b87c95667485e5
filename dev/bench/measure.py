"""Interleaved timing and the printed figures: standard library only."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# A call answers True when it succeeded; failures are counted, their times kept.
Call = Callable[[], bool]


@dataclass
class Series:
    seconds: list[float] = field(default_factory=list)
    failures: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def interleave(subject: Call, baseline: Call, n: int) -> tuple[Series, Series]:
    """n calls of each, alternating call by call; the order flips every round."""
    timed = (Series(), Series())
    pair = ((subject, timed[0]), (baseline, timed[1]))
    for i in range(n):
        for call, series in pair if i % 2 == 0 else pair[::-1]:
            started = time.perf_counter()
            ok = call()
            series.seconds.append(time.perf_counter() - started)
            series.failures += not ok
    return timed


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.inf


@dataclass(frozen=True)
class Figure:
    name: str
    subject: str
    baseline: str
    subject_s: float
    baseline_s: float
    ratios: tuple[float, ...]
    # None: shown for context, with no goal of its own.
    target: float | None
    failures: int = 0
    # The figure measured before this work: printed alongside.
    before: str = ""

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def verdict(self) -> str:
        if self.failures:
            return f"ERROR ({self.failures} failed calls)"
        if self.target is None:
            return "shown"
        return "ok" if self.ratio <= self.target else "OVER"

    @property
    def goal(self) -> str:
        return "no target" if self.target is None else f"target <= {self.target}x"


def compare(
    name: str,
    subject: tuple[str, Call],
    baseline: tuple[str, Call],
    *,
    n: int,
    repeats: int,
    target: float | None,
    before: str = "",
) -> Figure:
    """`repeats` interleaved runs of n calls each; the ratio of medians of each run."""
    ratios, subject_medians, baseline_medians, failures = [], [], [], 0
    for _ in range(repeats):
        mine, theirs = interleave(subject[1], baseline[1], n)
        ratios.append(ratio(mine.median, theirs.median))
        subject_medians.append(mine.median)
        baseline_medians.append(theirs.median)
        failures += mine.failures + theirs.failures
    figure = Figure(
        name=name,
        subject=subject[0],
        baseline=baseline[0],
        subject_s=statistics.median(subject_medians),
        baseline_s=statistics.median(baseline_medians),
        ratios=tuple(ratios),
        target=target,
        failures=failures,
        before=before,
    )
    print_figure(figure, f"medians of {n} interleaved calls each, {repeats} runs")
    return figure


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def print_figure(figure: Figure, how: str) -> None:
    runs = ", ".join(f"{r:.3f}" for r in figure.ratios)
    before = f"; before: {figure.before}" if figure.before else ""
    print(
        f"{figure.name}\n"
        f"  {figure.subject}: {ms(figure.subject_s)}\n"
        f"  baseline, {figure.baseline}: {ms(figure.baseline_s)}\n"
        f"  ratio {figure.ratio:.3f}x (runs: {runs}); {figure.goal}: "
        f"{figure.verdict}{before}   [{how}]",
        flush=True,
    )


def heading(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 80 - len(title)), flush=True)


def summary(figures: Sequence[Figure], checks: Sequence[tuple[str, str, str, bool]]) -> None:
    heading("Summary")
    for f in figures:
        runs = "-".join(f"{r:.3f}" for r in (min(f.ratios), max(f.ratios)))
        print(
            f"{f.name:<52} {f.ratio:6.3f}x (runs {runs})  "
            f"({ms(f.subject_s)} vs {ms(f.baseline_s)})  {f.goal}  {f.verdict}"
            + (f"  [before: {f.before}]" if f.before else "")
        )
    for name, measured, target, ok in checks:
        print(f"{name:<52} {measured}  target {target}  {'ok' if ok else 'OVER'}")
