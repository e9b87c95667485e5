"""The bench's interleaving loop: the only bench logic worth a test (benches are not tests)."""

from __future__ import annotations

from dev.bench.measure import compare, interleave


def test_interleave_alternates_call_by_call_and_flips_the_order_each_round() -> None:
    order: list[str] = []

    def call(name: str) -> bool:
        order.append(name)
        return True

    interleave(lambda: call("a"), lambda: call("b"), 3)
    assert order == ["a", "b", "b", "a", "a", "b"]


def test_interleave_counts_failed_calls_per_side() -> None:
    mine, theirs = interleave(lambda: False, lambda: True, 4)
    assert (len(mine.seconds), mine.failures, theirs.failures) == (4, 4, 0)


def test_compare_reports_one_ratio_per_repeat_and_errors_on_failures() -> None:
    figure = compare("x", ("s", lambda: True), ("b", lambda: False), n=2, repeats=3, target=1.0)
    assert len(figure.ratios) == 3
    assert figure.verdict.startswith("ERROR")
