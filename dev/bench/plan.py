"""How many calls each figure takes: the full run and the --quick smoke run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    calls: int = 200  # per side, per run, interleaved
    repeats: int = 3
    warmup: int = 50
    cold_runs: int = 20  # processes per side, per run
    memory_checkpoints: tuple[int, ...] = (100, 1_000, 10_000)
    miss_checkpoints: tuple[int, ...] = (1_000, 6_000)
    concurrent: int = 32
    guard_latency: float = 0.020


FULL = Plan()
QUICK = Plan(
    calls=20,
    repeats=2,
    warmup=5,
    cold_runs=2,
    memory_checkpoints=(100, 500),
    miss_checkpoints=(200, 1_000),
    concurrent=32,
)
