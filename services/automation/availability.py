"""Business hours: the weekly schedule, whether now is inside it, when it opens next.

A schedule is stored as JSON keyed by weekday ("monday" … "sunday"); each day holds one range
`{"enabled": bool, "start": "HH:mm", "end": "HH:mm"}` or a list of them. Times are local
wall-clock times of the business time zone.

Each enabled range on a given date becomes one contiguous stretch of real time: it opens the
first time the local clock reaches its start and closes the first time the clock reaches its
end. So a start that the clocks skip (spring forward) opens at the first instant after the jump,
a range lying wholly inside a skipped hour never opens, and a repeated hour (fall back) never
reopens a range that has already closed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from services.errors import BadInput

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_PER_DAY = 24 * 60
FIELD = "availabilitySchedule"
# Ranges a client may set on one day: a split shift or a few, not thousands to walk through
# on every incoming message.
MAX_RANGES_PER_DAY = 8

_RANGE_KEYS = ("enabled", "start", "end")
# "8:00" and "08:00" are both accepted; ASCII digits only, since `\d` would admit "٠٨:٠٠".
_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_END_OF_DAY = "24:00"
# Every enabled range recurs weekly; the extra weeks only matter when the sole range of the
# week falls inside a skipped hour on the next occurrence.
_SEARCH_DAYS = 7 * 5


@dataclass(frozen=True)
class TimeRange:
    """Minutes after local midnight; an end at or before the start lies on the next day."""

    start: int
    end: int
    enabled: bool = True

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start


@dataclass(frozen=True)
class Schedule:
    # Indexed by `date.weekday()` (Monday = 0). None means the day is absent from the JSON,
    # which is closed; a present day may also hold no ranges. Both round-trip unchanged.
    days: tuple[tuple[TimeRange, ...] | None, ...] = (None,) * 7

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("a schedule has exactly seven days")

    @property
    def configured(self) -> bool:
        """False for `{}`: no schedule at all, which counts as always available."""
        return any(day is not None for day in self.days)

    @property
    def has_enabled_range(self) -> bool:
        return any(r.enabled for day in self.days for r in day or ())


def parse_schedule(value: object, field: str = FIELD, max_ranges: int | None = None) -> Schedule:
    """Validate a schedule as received from a client or read from storage.

    Raises `BadInput` whose `field` is the exact path of the offending value, for example
    "availabilitySchedule.monday[1].end". `None` is read as "no schedule configured".
    `max_ranges` bounds the ranges of one day (for input; what is stored is read as it is).
    """
    if value is None:
        return Schedule()
    if not isinstance(value, Mapping):
        raise BadInput(f"{field} must be an object keyed by weekday", field=field)
    days: list[tuple[TimeRange, ...] | None] = [None] * 7
    for key, day_value in value.items():
        if key not in WEEKDAYS:
            raise BadInput(
                f"{field}.{key} is not a weekday; use monday, tuesday, wednesday, thursday, "
                "friday, saturday or sunday",
                field=f"{field}.{key}",
            )
        path = f"{field}.{key}"
        if isinstance(day_value, Mapping):
            ranges: tuple[TimeRange, ...] = (_parse_range(day_value, path),)
        elif isinstance(day_value, list | tuple):
            if max_ranges is not None and len(day_value) > max_ranges:
                raise BadInput(f"{path} may have at most {max_ranges} ranges", field=path)
            ranges = tuple(
                _parse_range(item, f"{path}[{index}]") for index, item in enumerate(day_value)
            )
        else:
            raise BadInput(
                f"{path} must be a time range object or a list of them",
                field=path,
            )
        days[WEEKDAYS.index(key)] = ranges
    return Schedule(days=tuple(days))


def schedule_to_json(schedule: Schedule) -> dict[str, object]:
    """The canonical stored form: weekdays in order, a lone range as an object, several (or
    none) as a list, times as "HH:mm"."""
    result: dict[str, object] = {}
    for name, ranges in zip(WEEKDAYS, schedule.days, strict=True):
        if ranges is None:
            continue
        items = [_range_to_json(r) for r in ranges]
        result[name] = items[0] if len(items) == 1 else items
    return result


def is_within_availability(schedule: Schedule, now: datetime, tz: tzinfo) -> bool:
    """Whether `now` falls inside an enabled range; always True without a schedule."""
    instant = _instant(now)
    if not schedule.configured:
        return True
    local_day = instant.astimezone(tz).date()
    # Ranges that cross midnight reach into the next day; and when clocks fall back across
    # midnight the local date steps back while the next day's ranges may already be open.
    for offset in (-2, -1, 0, 1):
        for start, end in _intervals(schedule, local_day + timedelta(days=offset), tz):
            if start <= instant < end:
                return True
    return False


def get_next_available_time(schedule: Schedule, now: datetime, tz: tzinfo) -> datetime | None:
    """`now` when available now, else the next instant a range opens (in `tz`).

    None when the schedule has no enabled range at all; `now` when there is no schedule.
    Compare the result as an instant (in UTC): Python compares two datetimes of the same zone
    by wall clock, and never finds one inside a repeated hour equal to another zone's.
    """
    instant = _instant(now)
    if not schedule.configured:
        return now.astimezone(tz)
    if not schedule.has_enabled_range:
        return None
    if is_within_availability(schedule, now, tz):
        return now.astimezone(tz)
    local_day = instant.astimezone(tz).date()
    # Opening instants grow with the local date, so the first day with a later opening holds
    # the earliest one.
    for offset in range(-2, _SEARCH_DAYS):
        starts = [
            start
            for start, _ in _intervals(schedule, local_day + timedelta(days=offset), tz)
            if start > instant
        ]
        if starts:
            return min(starts).astimezone(tz)
    return None


def greeting(now: datetime, tz: tzinfo) -> str:
    """The Portuguese greeting for the local hour: morning from 05:00, afternoon from 12:00,
    evening from 18:00."""
    hour = _instant(now).astimezone(tz).hour
    if 5 <= hour < 12:
        return "Bom dia"
    if 12 <= hour < 18:
        return "Boa tarde"
    return "Boa noite"


def _parse_range(value: object, path: str) -> TimeRange:
    if not isinstance(value, Mapping):
        raise BadInput(f'{path} must be an object with "enabled", "start" and "end"', field=path)
    for key in value:
        if key not in _RANGE_KEYS:
            raise BadInput(
                f'{path}.{key} is not allowed; a range has only "enabled", "start" and "end"',
                field=f"{path}.{key}",
            )
    for key in _RANGE_KEYS:
        if key not in value:
            raise BadInput(f"{path}.{key} is required", field=f"{path}.{key}")
    enabled = value["enabled"]
    # isinstance(1, bool) is False, so 0/1 and "true" are refused rather than guessed.
    if not isinstance(enabled, bool):
        raise BadInput(f"{path}.enabled must be true or false", field=f"{path}.enabled")
    start = _parse_time(value["start"], f"{path}.start", end_of_day=False)
    end = _parse_time(value["end"], f"{path}.end", end_of_day=True)
    if start == end:
        # Ambiguous: an empty range or a full day. A full day is "00:00"–"24:00".
        raise BadInput(
            f'{path}.end must differ from start (use "00:00" to "24:00" for the whole day)',
            field=f"{path}.end",
        )
    return TimeRange(start=start, end=end, enabled=enabled)


def _parse_time(value: object, path: str, *, end_of_day: bool) -> int:
    if isinstance(value, str):
        if end_of_day and value == _END_OF_DAY:
            return MINUTES_PER_DAY
        match = _TIME.fullmatch(value)
        if match:
            return int(match[1]) * 60 + int(match[2])
    allowed = '"00:00" to "24:00"' if end_of_day else '"00:00" to "23:59"'
    raise BadInput(f"{path} must be a time HH:mm from {allowed}", field=path)


def _format_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _range_to_json(time_range: TimeRange) -> dict[str, object]:
    return {
        "enabled": time_range.enabled,
        "start": _format_time(time_range.start),
        "end": _format_time(time_range.end),
    }


def _instant(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _intervals(schedule: Schedule, day: date, tz: tzinfo) -> Iterator[tuple[datetime, datetime]]:
    """The non-empty [open, close) instants (UTC) of the enabled ranges that start on `day`."""
    midnight = datetime(day.year, day.month, day.day)
    for time_range in schedule.days[day.weekday()] or ():
        if not time_range.enabled:
            continue
        end_minutes = time_range.end + (MINUTES_PER_DAY if time_range.crosses_midnight else 0)
        # Naive arithmetic is wall-clock arithmetic: 22:00 + 8h is 06:00 whatever the offsets.
        start = _first_instant(midnight + timedelta(minutes=time_range.start), tz)
        end = _first_instant(midnight + timedelta(minutes=end_minutes), tz)
        if start < end:
            yield start, end


def _first_instant(wall: datetime, tz: tzinfo) -> datetime:
    """The first instant (UTC) at which the local clock of `tz` shows `wall` or later."""
    # fold=0 is the earlier of two readings of a repeated wall time (PEP 495).
    instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == wall:
        return instant
    # `wall` was skipped. fold=0 reads it with the offset from before the jump, which lands
    # after the jump; fold=1 with the offset from after it, which lands before. The jump is
    # in between: bisect on whole seconds (tz transitions fall on whole seconds).
    other = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(instant, other), max(instant, other)
    target = high.astimezone(tz).utcoffset()
    if low.astimezone(tz).utcoffset() == target:
        return high
    second = timedelta(seconds=1)
    while high - low > second:
        middle = low + timedelta(seconds=(high - low) // second // 2)
        if middle.astimezone(tz).utcoffset() == target:
            high = middle
        else:
            low = middle
    return high
