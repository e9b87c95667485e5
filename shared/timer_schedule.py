"""A timer trigger's schedule, as the Functions host reads it: when it next fires.

Two forms: NCRONTAB with seconds (`second minute hour day month weekday`; items `*`,
`*/step`, `n`, `a-b`, `a-b/step`, comma lists; months and weekdays also by their English
three-letter names; Sunday is 0) and a TimeSpan interval (`hh:mm:ss` or `d.hh:mm:ss`).
The daily checks use it to tell a rotation that is late from one that is not due yet,
so the rotation's schedule, whatever it is, sets how old its last outcome may be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_ITEM = re.compile(r"^(?:\*(?:/(\d+))?|(\w+)(?:-(\w+))?(?:/(\d+))?)$")
_TIMESPAN = re.compile(r"^(?:(\d{1,3})\.)?(\d{1,2}):(\d{2}):(\d{2})$")
# A schedule that has not fired within this many days of a moment never will (29 February
# on a Monday comes back within 28 years; nothing here waits that long).
_HORIZON_DAYS = 5 * 366


@dataclass(frozen=True)
class CronSchedule:
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing after `moment` (UTC), or None if none comes within years."""
        moment = moment.astimezone(UTC)
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        times = sorted((h, m, s) for h in self.hours for m in self.minutes for s in self.seconds)
        for _ in range(_HORIZON_DAYS):
            # NCRONTAB's days: the day of the month and the weekday must both match.
            weekday = (day.weekday() + 1) % 7
            if day.month in self.months and day.day in self.days and weekday in self.weekdays:
                for hour, minute, second in times:
                    fires = day.replace(hour=hour, minute=minute, second=second)
                    if fires > moment:
                        return fires
            day += timedelta(days=1)
        return None


@dataclass(frozen=True)
class IntervalSchedule:
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime | None:
        return moment.astimezone(UTC) + self.interval


Schedule = CronSchedule | IntervalSchedule


def parse_schedule(text: str) -> Schedule:
    """A schedule as the host reads it; ValueError naming the form otherwise."""
    text = text.strip()
    span = _TIMESPAN.fullmatch(text)
    if span is not None:
        days, hours, minutes, seconds = (int(part or 0) for part in span.groups())
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if hours > 23 or minutes > 59 or seconds > 59 or interval <= timedelta(0):
            raise ValueError("must be a TimeSpan such as '7.00:00:00' or an NCRONTAB schedule")
        return IntervalSchedule(interval)
    fields = text.split()
    if len(fields) != 6:
        raise ValueError(
            "must be an NCRONTAB schedule ('second minute hour day month weekday') or a TimeSpan"
        )
    ranges = (
        (0, 59, ()),
        (0, 59, ()),
        (0, 23, ()),
        (1, 31, ()),
        (1, 12, _MONTHS),
        (0, 6, _WEEKDAYS),
    )
    sets = [
        _field(value, low, high, names)
        for value, (low, high, names) in zip(fields, ranges, strict=True)
    ]
    return CronSchedule(*sets)


def _field(text: str, low: int, high: int, names: tuple[str, ...]) -> frozenset[int]:
    found: set[int] = set()
    for item in text.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ValueError(f"has an item it cannot read: '{item}'")
        step_all, first, last, step = match.groups()
        step_value = int(step_all or step or 1)
        if first is None:
            start, end = low, high
        else:
            start = _value(first, low, high, names)
            end = _value(last, low, high, names) if last is not None else start
            if step is not None and last is None:
                end = high
        if step_value < 1 or start > end:
            raise ValueError(f"has an item it cannot read: '{item}'")
        found.update(range(start, end + 1, step_value))
    return frozenset(found)


def _value(text: str, low: int, high: int, names: tuple[str, ...]) -> int:
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + low
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ValueError(f"has a value out of range: '{text}'")
    return int(text)
