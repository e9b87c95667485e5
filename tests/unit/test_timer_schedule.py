"""A timer's schedule as the host reads it (shared/timer_schedule.py): when it next fires,
which tells the daily checks how late the rotation is. NCRONTAB with seconds and
TimeSpan intervals; anything else is refused as a ValueError, never another error."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.settings import SettingsError, load_rotation_schedule
from shared.timer_schedule import parse_schedule

TUESDAY_NOON = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def next_after(text: str, moment: datetime = TUESDAY_NOON) -> datetime | None:
    return parse_schedule(text).next_after(moment)


def test_the_default_rotation_fires_next_monday_at_three() -> None:
    assert next_after("0 0 3 * * 1") == datetime(2025, 3, 10, 3, 0, tzinfo=UTC)


def test_weekdays_and_months_may_be_named() -> None:
    assert next_after("0 0 3 * * Mon") == next_after("0 0 3 * * 1")
    assert next_after("0 0 0 1 Jan *") == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_firing_later_today_is_today() -> None:
    assert next_after("0 30 12 * * *") == datetime(2025, 3, 4, 12, 30, tzinfo=UTC)


def test_ranges_steps_and_lists() -> None:
    assert next_after("0 */15 9-17 * * 1-5") == datetime(2025, 3, 4, 12, 15, tzinfo=UTC)
    assert next_after("0 0 6,18 * * *") == datetime(2025, 3, 4, 18, 0, tzinfo=UTC)


def test_a_timespan_is_an_interval() -> None:
    assert next_after("7.00:00:00") == TUESDAY_NOON + timedelta(days=7)
    assert next_after("01:30:00") == TUESDAY_NOON + timedelta(hours=1, minutes=30)


def test_a_day_that_never_comes_is_none() -> None:
    assert next_after("0 0 3 31 2 *") is None


@pytest.mark.parametrize(
    "text", ["", "0 0 3 * *", "0 0 25 * * *", "0 0 3 * * Funday", "0 0 3 * * 5-1", "00:00:00"]
)
def test_a_schedule_it_cannot_read_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(text)


def test_the_rotation_schedule_setting_is_named_when_it_cannot_be_read() -> None:
    with pytest.raises(SettingsError) as refused:
        load_rotation_schedule({"REFRESH_TOKEN_ROTATION_SCHEDULE": "weekly"})
    assert refused.value.problems[0].startswith("REFRESH_TOKEN_ROTATION_SCHEDULE ")


@given(st.text(max_size=40))
def test_any_text_is_read_or_refused_as_a_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_schedule(text)


@given(
    st.integers(0, 59),
    st.integers(0, 59),
    st.integers(0, 23),
    st.integers(0, 6),
    st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
)
def test_a_weekly_schedule_fires_within_a_week_on_its_day_and_time(
    second: int, minute: int, hour: int, weekday: int, moment: datetime
) -> None:
    fires = next_after(f"{second} {minute} {hour} * * {weekday}", moment)
    assert fires is not None
    assert moment < fires <= moment + timedelta(days=7)
    assert ((fires.weekday() + 1) % 7, fires.hour, fires.minute, fires.second) == (
        weekday,
        hour,
        minute,
        second,
    )
