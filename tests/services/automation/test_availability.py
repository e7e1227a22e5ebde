from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.automation.availability import (
    WEEKDAYS,
    Schedule,
    TimeRange,
    get_next_available_time,
    greeting,
    is_within_availability,
    parse_schedule,
    schedule_to_json,
)
from services.errors import BadInput

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
NEW_YORK = ZoneInfo("America/New_York")
LISBON = ZoneInfo("Europe/Lisbon")
# 2026-05-04 is a Monday; Brazil has had no DST since 2019.
MONDAY = (2026, 5, 4)


def on(start: object, end: object, enabled: object = True) -> dict[str, object]:
    # Loosely typed on purpose: the rejection tests pass malformed values through it.
    return {"enabled": enabled, "start": start, "end": end}


def sp(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """A time in São Paulo, `day_offset` days after Monday 2026-05-04."""
    return datetime(*MONDAY, hour, minute, tzinfo=SAO_PAULO) + timedelta(days=day_offset)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


OFFICE = parse_schedule(
    {
        "monday": [on("08:00", "12:00"), on("13:00", "18:00")],
        "tuesday": on("08:00", "18:00"),
        "wednesday": on("08:00", "18:00"),
        "thursday": on("08:00", "18:00", enabled=False),
        "friday": on("08:00", "18:00"),
        "saturday": on("08:00", "12:00"),
        "sunday": on("22:00", "06:00"),
    }
)

# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, Schedule()),
        (None, Schedule()),
        (
            {"monday": on("08:00", "18:00")},
            Schedule(days=((TimeRange(480, 1080),),) + (None,) * 6),
        ),
        (
            {"sunday": on("8:00", "9:30")},
            Schedule(days=(None,) * 6 + ((TimeRange(480, 570),),)),
        ),
        (
            {"monday": [on("08:00", "12:00"), on("13:00", "18:00", enabled=False)]},
            Schedule(
                days=((TimeRange(480, 720), TimeRange(780, 1080, enabled=False)),) + (None,) * 6
            ),
        ),
        (
            {"friday": on("22:00", "06:00")},
            Schedule(days=(None,) * 4 + ((TimeRange(1320, 360),),) + (None,) * 2),
        ),
        (
            {"monday": on("00:00", "24:00")},
            Schedule(days=((TimeRange(0, 1440),),) + (None,) * 6),
        ),
        (
            {"monday": on("23:59", "00:00")},
            Schedule(days=((TimeRange(1439, 0),),) + (None,) * 6),
        ),
        ({"monday": []}, Schedule(days=((),) + (None,) * 6)),
    ],
)
def test_parse_schedule(value, expected):
    assert parse_schedule(value) == expected


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ([], "availabilitySchedule"),
        ("monday 08:00-18:00", "availabilitySchedule"),
        ({"funday": on("08:00", "18:00")}, "availabilitySchedule.funday"),
        ({"Monday": on("08:00", "18:00")}, "availabilitySchedule.Monday"),
        ({"seg": on("08:00", "18:00")}, "availabilitySchedule.seg"),
        ({"monday": "08:00-18:00"}, "availabilitySchedule.monday"),
        ({"monday": None}, "availabilitySchedule.monday"),
        ({"monday": True}, "availabilitySchedule.monday"),
        ({"monday": [on("08:00", "12:00"), "13:00-18:00"]}, "availabilitySchedule.monday[1]"),
        ({"monday": {"start": "08:00", "end": "18:00"}}, "availabilitySchedule.monday.enabled"),
        ({"monday": {"enabled": True, "end": "18:00"}}, "availabilitySchedule.monday.start"),
        ({"monday": {"enabled": True, "start": "08:00"}}, "availabilitySchedule.monday.end"),
        ({"monday": {**on("08:00", "18:00"), "label": "x"}}, "availabilitySchedule.monday.label"),
        ({"monday": {**on("08:00", "18:00"), "Start": "x"}}, "availabilitySchedule.monday.Start"),
        ({"monday": on("08:00", "18:00", enabled="yes")}, "availabilitySchedule.monday.enabled"),
        ({"monday": on("08:00", "18:00", enabled=1)}, "availabilitySchedule.monday.enabled"),
        ({"monday": on("08:00", "18:00", enabled=None)}, "availabilitySchedule.monday.enabled"),
        ({"tuesday": on("25:00", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on("12:60", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on("noon", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on("24:00", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on("08:00:00", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on("8", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on("8:0", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on("008:00", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on(" 08:00", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on("08:00\n", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on("", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on("٠٨:٠٠", "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on(800, "18:00")}, "availabilitySchedule.tuesday.start"),
        ({"tuesday": on("08:00", "24:01")}, "availabilitySchedule.tuesday.end"),
        ({"tuesday": on("08:00", "24:30")}, "availabilitySchedule.tuesday.end"),
        ({"tuesday": on("08:00", "18h")}, "availabilitySchedule.tuesday.end"),
        ({"tuesday": on("08:00", None)}, "availabilitySchedule.tuesday.end"),
        ({"tuesday": on("08:00", "08:00")}, "availabilitySchedule.tuesday.end"),
        ({"tuesday": on("8:00", "08:00")}, "availabilitySchedule.tuesday.end"),
        ({"tuesday": on("00:00", "00:00", enabled=False)}, "availabilitySchedule.tuesday.end"),
        (
            {"monday": [on("08:00", "12:00"), on("13:00", "13:00")]},
            "availabilitySchedule.monday[1].end",
        ),
        (
            {"monday": [on("08:00", "12:00"), on("13:00", "25:00")]},
            "availabilitySchedule.monday[1].end",
        ),
        (
            {"monday": [on("08:00", "12:00"), {**on("13:00", "18:00"), "x": 1}]},
            "availabilitySchedule.monday[1].x",
        ),
        ({"monday": [on("99:00", "12:00")]}, "availabilitySchedule.monday[0].start"),
    ],
)
def test_parse_schedule_rejects(value, field):
    with pytest.raises(BadInput) as caught:
        parse_schedule(value)
    assert caught.value.field == field
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "field": field}
    assert field in caught.value.message


def test_parse_schedule_field_prefix():
    with pytest.raises(BadInput) as caught:
        parse_schedule({"monday": on("08:00", "xx")}, field="input.schedule")
    assert caught.value.field == "input.schedule.monday.end"


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ({}, {}),
        (
            {"sunday": on("8:00", "9:30"), "monday": [on("08:00", "12:00")]},
            {"monday": on("08:00", "12:00"), "sunday": on("08:00", "09:30")},
        ),
        (
            {"monday": [on("13:00", "18:00"), on("8:00", "12:00", enabled=False)]},
            {"monday": [on("13:00", "18:00"), on("08:00", "12:00", enabled=False)]},
        ),
        ({"friday": on("22:00", "24:00")}, {"friday": on("22:00", "24:00")}),
        ({"friday": on("22:00", "6:00")}, {"friday": on("22:00", "06:00")}),
        ({"friday": []}, {"friday": []}),
    ],
)
def test_schedule_to_json(value, stored):
    schedule = parse_schedule(value)
    assert schedule_to_json(schedule) == stored
    assert list(schedule_to_json(schedule)) == list(stored)  # weekday order
    assert parse_schedule(schedule_to_json(schedule)) == schedule


def test_schedule_has_seven_days():
    with pytest.raises(ValueError):
        Schedule(days=(None,) * 6)


# --- availability in São Paulo (no DST) ------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "within"),
    [
        (sp(0, 7, 59), False),
        (sp(0, 8), True),  # the start is inclusive
        (sp(0, 11, 59), True),
        (sp(0, 12), False),  # the end is exclusive
        (sp(0, 12, 30), False),  # the lunch gap
        (sp(0, 13), True),
        (sp(0, 17, 59), True),
        (sp(0, 18), False),
        (sp(1, 10), True),  # tuesday
        (sp(3, 10), False),  # thursday is disabled
        (sp(5, 11, 59), True),  # saturday
        (sp(5, 12), False),
        (sp(6, 21, 59), False),  # sunday before the night range
        (sp(6, 22), True),
        (sp(6, 23, 59), True),
        (sp(7, 0), True),  # the sunday range crosses into monday...
        (sp(7, 3), True),
        (sp(7, 5, 59), True),
        (sp(7, 6), False),  # ...and ends at 06:00
        (sp(0, 3), True),  # the week wraps: last sunday's range
        (sp(0, 7), False),
    ],
)
def test_is_within_availability(now, within):
    assert is_within_availability(OFFICE, now, SAO_PAULO) is within
    # The instant matters, not the offset `now` is written in.
    assert is_within_availability(OFFICE, now.astimezone(UTC), SAO_PAULO) is within


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (sp(0, 7), sp(0, 8)),
        (sp(0, 12, 30), sp(0, 13)),  # gap between two ranges of the same day
        (sp(0, 18, 30), sp(1, 8)),
        (sp(2, 18), sp(4, 8)),  # wednesday evening -> friday, thursday disabled
        (sp(3, 9), sp(4, 8)),
        (sp(5, 12), sp(6, 22)),
        (sp(6, 12), sp(6, 22)),
        (sp(7, 6), sp(7, 8)),  # the sunday night range ended; monday opens at 08:00
        (sp(0, 10), sp(0, 10)),  # available now: now
        (sp(6, 23), sp(6, 23)),
        (sp(7, 3), sp(7, 3)),
    ],
)
def test_get_next_available_time(now, expected):
    result = get_next_available_time(OFFICE, now, SAO_PAULO)
    assert result == expected
    assert result is not None and result.tzinfo is SAO_PAULO
    assert get_next_available_time(OFFICE, now.astimezone(UTC), SAO_PAULO) == expected


@pytest.mark.parametrize(
    ("value", "now", "expected"),
    [
        # Sunday 23:00 -> next week's Monday 08:00.
        ({"monday": on("08:00", "18:00")}, sp(6, 23), sp(7, 8)),
        # The only range is today's and already over: same weekday next week.
        ({"monday": on("08:00", "18:00")}, sp(0, 18), sp(7, 8)),
        ({"monday": on("08:00", "18:00")}, sp(0, 18, 1), sp(7, 8)),
        ({"saturday": on("22:00", "24:00")}, sp(5, 23, 59), sp(5, 23, 59)),
        ({"saturday": on("22:00", "24:00")}, sp(6, 0), sp(12, 22)),
        ({"sunday": on("22:00", "06:00")}, sp(7, 3), sp(7, 3)),
        ({"sunday": on("22:00", "06:00")}, sp(7, 6), sp(13, 22)),
        ({"monday": on("00:00", "24:00")}, sp(0, 0), sp(0, 0)),
        ({"monday": on("00:00", "24:00")}, sp(1, 0), sp(7, 0)),
        # A disabled range is ignored, an enabled one on the same day is not.
        (
            {"tuesday": [on("08:00", "12:00", enabled=False), on("14:00", "16:00")]},
            sp(1, 9),
            sp(1, 14),
        ),
        (
            {"monday": on("08:00", "18:00", enabled=False), "tuesday": on("09:00", "10:00")},
            sp(0, 9),
            sp(1, 9),
        ),
    ],
)
def test_next_available_small_schedules(value, now, expected):
    assert get_next_available_time(parse_schedule(value), now, SAO_PAULO) == expected


@pytest.mark.parametrize(
    "value",
    [
        {day: on("08:00", "18:00", enabled=False) for day in WEEKDAYS},
        {"monday": on("08:00", "18:00", enabled=False)},
        {"monday": []},
    ],
)
def test_never_available(value):
    schedule = parse_schedule(value)
    for hours in range(0, 7 * 24, 5):
        now = sp(0, 0) + timedelta(hours=hours)
        assert is_within_availability(schedule, now, SAO_PAULO) is False
        assert get_next_available_time(schedule, now, SAO_PAULO) is None


@pytest.mark.parametrize("value", [{}, None])
def test_no_schedule_is_always_available(value):
    schedule = parse_schedule(value)
    now = utc(2026, 5, 4, 3, 17)
    assert is_within_availability(schedule, now, SAO_PAULO) is True
    result = get_next_available_time(schedule, now, SAO_PAULO)
    assert result == now
    assert result is not None and result.tzinfo is SAO_PAULO


@pytest.mark.parametrize("schedule", [Schedule(), OFFICE])
def test_naive_now_is_refused(schedule):
    naive = datetime(2026, 5, 4, 10)
    with pytest.raises(ValueError):
        is_within_availability(schedule, naive, SAO_PAULO)
    with pytest.raises(ValueError):
        get_next_available_time(schedule, naive, SAO_PAULO)
    with pytest.raises(ValueError):
        greeting(naive, SAO_PAULO)


# --- DST -------------------------------------------------------------------------------------
# Each case: schedule, time zone, [(now, within, next_available)] with instants in UTC.
# São Paulo 2018-11-04 (Sunday): 00:00 -03 jumps to 01:00 -02 at 03:00 UTC.
# São Paulo 2019-02-17: 00:00 -02 falls back to 2019-02-16 23:00 -03 at 02:00 UTC, so
#   Saturday 23:00–23:59 happens twice; Sunday 00:00 exists once, at 03:00 UTC.
# New York 2026-03-08 (Sunday): 02:00 EST jumps to 03:00 EDT at 07:00 UTC.
# New York 2026-11-01 (Sunday): 02:00 EDT falls back to 01:00 EST at 06:00 UTC.
# Lisbon 2026-03-29 (Sunday): 01:00 WET jumps to 02:00 WEST at 01:00 UTC.
# Lisbon 2026-10-25 (Sunday): 02:00 WEST falls back to 01:00 WET at 01:00 UTC.

DST_CASES = [
    pytest.param(
        {"sunday": on("00:00", "06:00")},
        SAO_PAULO,
        [
            # Midnight does not exist: the range opens at the first existing instant, 01:00.
            (utc(2018, 11, 3, 15), False, datetime(2018, 11, 4, 1, tzinfo=SAO_PAULO)),
            (utc(2018, 11, 4, 2, 59), False, utc(2018, 11, 4, 3)),
            (utc(2018, 11, 4, 3), True, utc(2018, 11, 4, 3)),
            (utc(2018, 11, 4, 7, 59), True, utc(2018, 11, 4, 7, 59)),  # 05:59 -02
            (utc(2018, 11, 4, 8), False, utc(2018, 11, 11, 2)),  # 06:00 -02
        ],
        id="sao-paulo-2018-spring-forward-at-midnight",
    ),
    pytest.param(
        {"saturday": on("22:00", "00:30")},
        SAO_PAULO,
        [
            (utc(2018, 11, 4, 2, 59), True, utc(2018, 11, 4, 2, 59)),  # 23:59 -03
            # 00:30 was skipped: the range closes when the clocks jump.
            (utc(2018, 11, 4, 3), False, utc(2018, 11, 11, 0)),
        ],
        id="sao-paulo-2018-range-ending-in-the-gap",
    ),
    pytest.param(
        {"sunday": on("00:00", "00:45")},
        SAO_PAULO,
        [
            # Entirely inside the skipped hour: no opening that night, the next is a week on.
            (utc(2018, 11, 3, 15), False, utc(2018, 11, 11, 2)),
            (utc(2018, 11, 4, 3, 10), False, utc(2018, 11, 11, 2)),
        ],
        id="sao-paulo-2018-range-inside-the-gap",
    ),
    pytest.param(
        {"saturday": on("22:00", "23:30")},
        SAO_PAULO,
        [
            (utc(2019, 2, 16, 23, 59), False, utc(2019, 2, 17, 0)),
            (utc(2019, 2, 17, 1), True, utc(2019, 2, 17, 1)),  # 23:00 -02, first pass
            (utc(2019, 2, 17, 1, 30), False, utc(2019, 2, 24, 1)),  # 23:30 -02: closed
            # 23:15 -03, the repeated hour: the range already closed and does not reopen.
            (utc(2019, 2, 17, 2, 15), False, utc(2019, 2, 24, 1)),
        ],
        id="sao-paulo-2019-fall-back-no-double-count",
    ),
    pytest.param(
        {"saturday": on("23:15", "23:45")},
        SAO_PAULO,
        [
            (utc(2019, 2, 17, 1, 20), True, utc(2019, 2, 17, 1, 20)),
            # After the first 23:45 the next opening is next Saturday, not the repeated 23:15.
            (utc(2019, 2, 17, 1, 50), False, utc(2019, 2, 24, 2, 15)),
            (utc(2019, 2, 17, 2, 20), False, utc(2019, 2, 24, 2, 15)),
        ],
        id="sao-paulo-2019-start-in-repeated-hour-opens-once",
    ),
    pytest.param(
        {"saturday": on("22:00", "24:00"), "sunday": on("00:00", "06:00")},
        SAO_PAULO,
        [
            # "Until midnight" stays open through the repeated hour: the clock shows 23:xx.
            (utc(2019, 2, 17, 1, 30), True, utc(2019, 2, 17, 1, 30)),
            (utc(2019, 2, 17, 2, 30), True, utc(2019, 2, 17, 2, 30)),
            (utc(2019, 2, 17, 3), True, utc(2019, 2, 17, 3)),  # Sunday 00:00 -03
            (utc(2019, 2, 17, 8, 59), True, utc(2019, 2, 17, 8, 59)),
            (utc(2019, 2, 17, 9), False, utc(2019, 2, 24, 1)),  # 06:00 -03
        ],
        id="sao-paulo-2019-fall-back-at-midnight",
    ),
    pytest.param(
        {"sunday": on("02:30", "05:00")},
        NEW_YORK,
        [
            (utc(2026, 3, 7, 17), False, datetime(2026, 3, 8, 3, tzinfo=NEW_YORK)),
            (utc(2026, 3, 8, 6, 59), False, utc(2026, 3, 8, 7)),
            (utc(2026, 3, 8, 7), True, utc(2026, 3, 8, 7)),
            (utc(2026, 3, 8, 8, 59), True, utc(2026, 3, 8, 8, 59)),  # 04:59 EDT
            (utc(2026, 3, 8, 9), False, utc(2026, 3, 15, 6, 30)),  # next week 02:30 EDT
        ],
        id="new-york-2026-spring-forward-start-in-gap",
    ),
    pytest.param(
        {"sunday": on("01:00", "02:30")},
        NEW_YORK,
        [
            (utc(2026, 3, 8, 6), True, utc(2026, 3, 8, 6)),  # 01:00 EST
            (utc(2026, 3, 8, 6, 59), True, utc(2026, 3, 8, 6, 59)),
            (utc(2026, 3, 8, 7), False, utc(2026, 3, 15, 5)),  # 03:00 EDT: 02:30 skipped
        ],
        id="new-york-2026-spring-forward-end-in-gap",
    ),
    pytest.param(
        {"saturday": on("22:00", "06:00")},
        NEW_YORK,
        [
            (utc(2026, 3, 8, 3), True, utc(2026, 3, 8, 3)),  # Saturday 22:00 EST
            (utc(2026, 3, 8, 9, 59), True, utc(2026, 3, 8, 9, 59)),  # Sunday 05:59 EDT
            (utc(2026, 3, 8, 10), False, utc(2026, 3, 15, 2)),  # 06:00 EDT
        ],
        id="new-york-2026-spring-forward-overnight",
    ),
    pytest.param(
        {"sunday": on("01:00", "01:30")},
        NEW_YORK,
        [
            (utc(2026, 11, 1, 5, 15), True, utc(2026, 11, 1, 5, 15)),  # 01:15 EDT
            (utc(2026, 11, 1, 5, 45), False, utc(2026, 11, 8, 6)),  # 01:45 EDT
            (utc(2026, 11, 1, 6, 15), False, utc(2026, 11, 8, 6)),  # 01:15 EST: repeated
        ],
        id="new-york-2026-fall-back-no-double-count",
    ),
    pytest.param(
        {"sunday": on("01:30", "03:00")},
        NEW_YORK,
        [
            (utc(2026, 11, 1, 5, 29), False, utc(2026, 11, 1, 5, 30)),
            # One stretch from the first 01:30 (EDT) to 03:00 (EST): open through the repeat.
            (utc(2026, 11, 1, 6, 10), True, utc(2026, 11, 1, 6, 10)),
            (utc(2026, 11, 1, 7, 59), True, utc(2026, 11, 1, 7, 59)),
            (utc(2026, 11, 1, 8), False, utc(2026, 11, 8, 6, 30)),
        ],
        id="new-york-2026-fall-back-contiguous",
    ),
    pytest.param(
        {"saturday": on("22:00", "06:00")},
        NEW_YORK,
        [
            (utc(2026, 11, 1, 2), True, utc(2026, 11, 1, 2)),  # Saturday 22:00 EDT
            (utc(2026, 11, 1, 10, 59), True, utc(2026, 11, 1, 10, 59)),  # 05:59 EST
            (utc(2026, 11, 1, 11), False, utc(2026, 11, 8, 3)),
        ],
        id="new-york-2026-fall-back-overnight",
    ),
    pytest.param(
        {"sunday": on("01:00", "02:30"), "saturday": on("23:00", "01:30")},
        LISBON,
        [
            (utc(2026, 3, 28, 22, 59), False, utc(2026, 3, 28, 23)),
            (utc(2026, 3, 28, 23), True, utc(2026, 3, 28, 23)),
            # Saturday's range ends at 01:30, skipped: it closes at the jump, where Sunday's
            # range (01:00, skipped too) opens, so availability continues without a gap.
            (utc(2026, 3, 29, 1), True, utc(2026, 3, 29, 1)),
            (utc(2026, 3, 29, 1, 29), True, utc(2026, 3, 29, 1, 29)),
            (utc(2026, 3, 29, 1, 30), False, utc(2026, 4, 4, 22)),  # 02:30 WEST
        ],
        id="lisbon-2026-spring-forward",
    ),
    pytest.param(
        {"sunday": on("01:00", "01:30")},
        LISBON,
        [
            (utc(2026, 10, 25, 0, 10), True, utc(2026, 10, 25, 0, 10)),  # 01:10 WEST
            (utc(2026, 10, 25, 1, 10), False, utc(2026, 11, 1, 1)),  # 01:10 WET: repeated
        ],
        id="lisbon-2026-fall-back-no-double-count",
    ),
]


@pytest.mark.parametrize(("value", "tz", "checks"), DST_CASES)
def test_dst(value, tz, checks):
    schedule = parse_schedule(value)
    for now, within, expected in checks:
        assert is_within_availability(schedule, now, tz) is within, now
        result = get_next_available_time(schedule, now, tz)
        assert result is not None and result.tzinfo is tz
        # Compared as instants: `==` is never true for a datetime in a repeated hour and
        # one in another zone (PEP 495).
        assert result.timestamp() == expected.timestamp(), now


@pytest.mark.parametrize(
    ("tz", "first_day"),
    [
        (SAO_PAULO, utc(2018, 11, 1)),
        (SAO_PAULO, utc(2019, 2, 14)),
        (SAO_PAULO, utc(2026, 5, 1)),
        (NEW_YORK, utc(2026, 3, 5)),
        (NEW_YORK, utc(2026, 10, 29)),
        (LISBON, utc(2026, 3, 26)),
        (LISBON, utc(2026, 10, 22)),
    ],
)
@pytest.mark.parametrize(
    "value",
    [
        OFFICE,
        parse_schedule(
            {
                "saturday": [on("00:30", "01:30"), on("22:00", "01:15")],
                "sunday": [on("00:00", "00:45"), on("01:00", "02:30"), on("23:00", "24:00")],
                "monday": on("08:00", "18:00"),
            }
        ),
    ],
)
def test_next_available_is_the_first_opening(tz, first_day, value):
    """Sweep a week around each DST change: `next` is `now` when open; otherwise it is later,
    open, and nothing sampled in between is open."""
    step = timedelta(minutes=15)
    samples = [first_day + step * i for i in range(7 * 24 * 4)]
    within = {now: is_within_availability(value, now, tz) for now in samples}
    for now in samples:
        result = get_next_available_time(value, now, tz)
        assert result is not None
        if within[now]:
            assert result.timestamp() == now.timestamp()
            continue
        assert result > now
        assert is_within_availability(value, result, tz)
        assert not is_within_availability(value, result - timedelta(seconds=1), tz)
        assert not any(within[t] for t in samples if now < t < result)


# --- greeting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (0, 0, "Boa noite"),
        (4, 59, "Boa noite"),
        (5, 0, "Bom dia"),
        (11, 59, "Bom dia"),
        (12, 0, "Boa tarde"),
        (17, 59, "Boa tarde"),
        (18, 0, "Boa noite"),
        (23, 59, "Boa noite"),
    ],
)
def test_greeting(hour, minute, expected):
    now = sp(0, hour, minute)
    assert greeting(now, SAO_PAULO) == expected
    # Local time of `tz` decides, whatever offset `now` carries.
    assert greeting(now.astimezone(UTC), SAO_PAULO) == expected
    assert greeting(now.astimezone(ZoneInfo("Asia/Tokyo")), SAO_PAULO) == expected


def test_greeting_follows_dst():
    # 16:30 UTC is 12:30 EDT in July but 11:30 EST in January.
    assert greeting(utc(2026, 7, 1, 16, 30), NEW_YORK) == "Boa tarde"
    assert greeting(utc(2026, 1, 5, 16, 30), NEW_YORK) == "Bom dia"


def test_now_in_the_repeated_hour_is_read_with_its_fold():
    schedule = parse_schedule({"sunday": on("01:00", "01:30")})
    first = datetime(2026, 11, 1, 1, 15, tzinfo=NEW_YORK)  # EDT
    second = datetime(2026, 11, 1, 1, 15, fold=1, tzinfo=NEW_YORK)  # EST, an hour later
    assert is_within_availability(schedule, first, NEW_YORK) is True
    assert is_within_availability(schedule, second, NEW_YORK) is False
    result = get_next_available_time(schedule, second, NEW_YORK)
    assert result is not None and result.timestamp() == utc(2026, 11, 8, 6).timestamp()
