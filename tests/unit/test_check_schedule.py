"""CREDENTIALS_CHECK_SCHEDULE: when the daily credentials checks run. An NCRONTAB schedule
(second minute hour day month weekday) that runs every day, at most once a minute: the
alert rule compares each check's record with the one before it and looks back two days
at most, so the runs must never be further apart than a day. Blank is the default; a
malformed one is named, and the timer is registered with the default instead, so the
checks still run."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.settings import (
    DEFAULT_CHECK_SCHEDULE,
    SETTING_NAMES,
    SettingsError,
    credentials_check_schedule,
    load_check_schedule_settings,
)

NAME = "CREDENTIALS_CHECK_SCHEDULE"


def schedule_of(value: str) -> str:
    return load_check_schedule_settings({NAME: value}).credentials_check_schedule


def problems_of(value: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_check_schedule_settings({NAME: value})
    return caught.value.problems


def field(highest: int) -> st.SearchStrategy[str]:
    """One NCRONTAB field over 0..highest: *, */step, a value, a range, a stepped range,
    or a list of those."""
    value = st.integers(0, highest)
    step = st.integers(1, highest)
    ranged = st.tuples(value, value).map(sorted)
    item = st.one_of(
        st.just("*"),
        step.map(lambda s: f"*/{s}"),
        value.map(str),
        ranged.map(lambda r: f"{r[0]}-{r[1]}"),
        st.tuples(ranged, step).map(lambda t: f"{t[0][0]}-{t[0][1]}/{t[1]}"),
    )
    return st.lists(item, min_size=1, max_size=3).map(",".join)


DAILY = st.builds(
    lambda second, minute, hour: f"{second} {minute} {hour} * * *",
    st.integers(0, 59),
    field(59),
    field(23),
)
# A day, month or weekday field that leaves out some days.
SOME_DAYS = st.sampled_from(["1", "1-5", "*/2", "Mon", "MON-FRI", "1,15", "0"])


def test_the_default_is_every_day_at_0330_utc() -> None:
    assert DEFAULT_CHECK_SCHEDULE == "0 30 3 * * *"
    assert load_check_schedule_settings({}).credentials_check_schedule == DEFAULT_CHECK_SCHEDULE


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_schedule_is_the_default(blank: str) -> None:
    assert schedule_of(blank) == DEFAULT_CHECK_SCHEDULE


@given(DAILY)
def test_every_daily_schedule_is_taken_as_written(schedule: str) -> None:
    assert schedule_of(f"  {schedule} ") == schedule


@given(second=st.integers(0, 59), hour=field(23), position=st.integers(3, 5), days=SOME_DAYS)
def test_a_schedule_that_skips_days_is_refused(
    second: int, hour: str, position: int, days: str
) -> None:
    fields = [str(second), "30", hour, "*", "*", "*"]
    fields[position] = days
    [problem] = problems_of(" ".join(fields))
    assert problem.startswith(NAME) and "every day" in problem


@pytest.mark.parametrize("seconds", ["*", "*/10", "0,30", "0-59"])
def test_more_than_one_run_a_minute_is_refused(seconds: str) -> None:
    [problem] = problems_of(f"{seconds} 30 3 * * *")
    assert problem.startswith(NAME)


@pytest.mark.parametrize(
    "schedule",
    [
        "0 30 3 * *",  # five fields: the seconds are missing
        "0 0 30 3 * * *",  # seven
        "60 30 3 * * *",
        "0 60 3 * * *",
        "0 30 24 * * *",
        "0 30 5-3 * * *",
        "0 */0 3 * * *",
        "0 30 */24 * * *",
        "0 30 3,,4 * * *",
        "0 thirty 3 * * *",
        "00:30:00",  # a TimeSpan: not on Flex Consumption
        "0 \u0663\u0660 3 * * *",  # another script's digits: a slip, whatever they read as
        "0 30 \uff13 * * *",
    ],
)
def test_a_malformed_schedule_is_named(schedule: str) -> None:
    [problem] = problems_of(schedule)
    assert problem.startswith(NAME)


@given(st.text(max_size=40))
def test_any_text_is_taken_only_as_a_daily_schedule(text: str) -> None:
    try:
        taken = schedule_of(text)
    except SettingsError as exc:
        assert all(problem.startswith(NAME) for problem in exc.problems)
        return
    fields = taken.split(" ")
    assert taken == DEFAULT_CHECK_SCHEDULE or (len(fields) == 6 and fields[3:] == ["*"] * 3)


def test_the_timer_takes_the_setting_when_it_is_valid() -> None:
    assert credentials_check_schedule({NAME: "0 15 */6 * * *"}) == "0 15 */6 * * *"


@pytest.mark.parametrize("value", ["0 30 3 * * 1", "every day"])
def test_the_timer_keeps_the_default_when_the_setting_is_malformed(value: str) -> None:
    # Registered at indexing: a schedule the host refused would stop the checks altogether.
    assert credentials_check_schedule({NAME: value}) == DEFAULT_CHECK_SCHEDULE


def test_the_schedule_is_a_known_setting_name() -> None:
    assert NAME in SETTING_NAMES
