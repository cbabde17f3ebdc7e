"""Cron expressions and a sync pair's cadence: the next times a cron fires (time zones, daylight saving, the
day-of-month / day-of-week rule), and one-line errors for what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncoxide.cron import check_schedule_cron, parse, zone
from syncoxide.errors import InvalidInput, InvalidValue
from syncoxide.sync.cadence import Cadence, span
from syncoxide.sync.inputs import cadence


def at(text: str, where: str = "UTC") -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone(where))


def times(expression: str, after: datetime, where: str = "UTC", count: int = 3) -> list[str]:
    cron, tz, found = parse(expression), zone(where), []
    for _ in range(count):
        moment = cron.next_after(after, tz)
        assert moment is not None and moment.tzinfo == UTC
        found.append(moment.astimezone(tz).strftime("%a %Y-%m-%d %H:%M"))
        after = moment
    return found


@pytest.mark.parametrize(
    "expression, after, expected",
    [
        ("0 3 * * *", "2024-03-30T12:00:30", ["Sun 2024-03-31 03:00", "Mon 2024-04-01 03:00", "Tue 2024-04-02 03:00"]),
        ("0 3 * * *", "2024-03-30T03:00:00", ["Sun 2024-03-31 03:00", "Mon 2024-04-01 03:00", "Tue 2024-04-02 03:00"]),
        (
            "*/20 9-10 * * *",
            "2024-01-01T10:30",
            ["Mon 2024-01-01 10:40", "Tue 2024-01-02 09:00", "Tue 2024-01-02 09:20"],
        ),
        (
            "0 9 * * mon-fri",
            "2024-01-05T10:00",
            ["Mon 2024-01-08 09:00", "Tue 2024-01-09 09:00", "Wed 2024-01-10 09:00"],
        ),
        ("0 0 1 * 0", "2024-03-30T00:00", ["Sun 2024-03-31 00:00", "Mon 2024-04-01 00:00", "Sun 2024-04-07 00:00"]),
        ("0 0 29 2 *", "2024-03-01T00:00", ["Tue 2028-02-29 00:00", "Sun 2032-02-29 00:00", "Fri 2036-02-29 00:00"]),
        (
            "15 4 * JAN,jul 7",
            "2024-01-29T00:00",
            ["Sun 2024-07-07 04:15", "Sun 2024-07-14 04:15", "Sun 2024-07-21 04:15"],
        ),
        ("@weekly", "2024-01-01T00:00", ["Sun 2024-01-07 00:00", "Sun 2024-01-14 00:00", "Sun 2024-01-21 00:00"]),
        ("0 0 L * ?", "2024-01-15T00:00", ["Wed 2024-01-31 00:00", "Thu 2024-02-29 00:00", "Sun 2024-03-31 00:00"]),
        ("0 0 L-1 * *", "2023-01-15T00:00", ["Mon 2023-01-30 00:00", "Mon 2023-02-27 00:00", "Thu 2023-03-30 00:00"]),
        ("0 0 ? * fri#1", "2024-01-01T00:00", ["Fri 2024-01-05 00:00", "Fri 2024-02-02 00:00", "Fri 2024-03-01 00:00"]),
        ("0 0 ? * 1#5", "2024-01-01T00:00", ["Mon 2024-01-29 00:00", "Mon 2024-04-29 00:00", "Mon 2024-07-29 00:00"]),
        ("0 0 ? * friL", "2024-01-01T00:00", ["Fri 2024-01-26 00:00", "Fri 2024-02-23 00:00", "Fri 2024-03-29 00:00"]),
        ("0 0 ? * 0L,6L", "2024-03-01T00:00", ["Sat 2024-03-30 00:00", "Sun 2024-03-31 00:00", "Sat 2024-04-27 00:00"]),
        # the 15th: Monday 15 Jan; Thursday 15 Feb; Friday 15 Mar; a Monday (Apr); Wed; Sat 15 June -> Fri 14
        ("0 0 15W * *", "2024-01-01T00:00", ["Mon 2024-01-15 00:00", "Thu 2024-02-15 00:00", "Fri 2024-03-15 00:00"]),
        ("0 0 15W 6 *", "2024-01-01T00:00", ["Fri 2024-06-14 00:00", "Mon 2025-06-16 00:00", "Mon 2026-06-15 00:00"]),
        # 1 June 2024 is a Saturday: the nearest weekday in June is Monday the 3rd, not Friday 31 May
        ("0 0 1W 6 *", "2024-01-01T00:00", ["Mon 2024-06-03 00:00", "Mon 2025-06-02 00:00", "Mon 2026-06-01 00:00"]),
        # the last day of March 2024 is a Sunday, of August 2024 a Saturday: the Friday before
        ("0 0 LW 3,8 *", "2024-01-01T00:00", ["Fri 2024-03-29 00:00", "Fri 2024-08-30 00:00", "Mon 2025-03-31 00:00"]),
        (
            "0 0 1,L * mon#2",
            "2024-01-01T00:00",
            ["Mon 2024-01-08 00:00", "Wed 2024-01-31 00:00", "Thu 2024-02-01 00:00"],
        ),
        # a fifth Saturday in February: once in the calendar's 28 years
        ("0 0 ? 2 sat#5", "2000-01-01T00:00", ["Sat 2020-02-29 00:00", "Sat 2048-02-29 00:00", "Sat 2076-02-29 00:00"]),
    ],
)
def test_the_next_times_a_cron_fires(expression, after, expected):
    assert times(expression, at(after)) == expected


def test_times_are_in_the_time_zone_and_a_skipped_hour_does_not_fire():
    # Berlin moves from 02:00 to 03:00 on 31 March 2024: 02:30 does not happen that day
    assert times("30 2 * * *", at("2024-03-30T12:00", "Europe/Berlin"), "Europe/Berlin") == [
        "Mon 2024-04-01 02:30",
        "Tue 2024-04-02 02:30",
        "Wed 2024-04-03 02:30",
    ]
    first = parse("0 3 * * *").next_after(at("2024-07-01T12:00"), zone("Europe/Berlin"))
    assert first == datetime(2024, 7, 2, 1, 0, tzinfo=UTC)  # 03:00 CEST
    # 02:30 happens twice when Berlin goes back on 27 October 2024: it fires once
    fall = times("30 2 * * *", at("2024-10-26T12:00", "Europe/Berlin"), "Europe/Berlin")
    assert fall == ["Sun 2024-10-27 02:30", "Mon 2024-10-28 02:30", "Tue 2024-10-29 02:30"]


@pytest.mark.parametrize(
    "expression, message",
    [
        (
            "0 3 * *",
            "'0 3 * *': needs five fields (minute hour day-of-month month day-of-week), or @hourly, @daily, "
            "@weekly, @monthly, @yearly",
        ),
        ("0 25 * * *", "'0 25 * * *': hour 25 is not in 0-23"),
        ("x * * * *", "'x * * * *': minute 'x' is not a number"),
        ("0 0 * foo *", "'0 0 * foo *': month 'foo' is not a number or a name (jan-dec)"),
        ("*/0 * * * *", "'*/0 * * * *': minute step '0' must be a whole number from 1"),
        ("5-1 * * * *", "'5-1 * * * *': minute range '5-1' runs backwards"),
        ("0 0 * * 8", "'0 0 * * 8': day of week 8 is not in 0-7"),
        ("0 0 31 4 *", "'0 0 31 4 *': never fires (no month has that day)"),
        ("0 0 L-31 * *", "'0 0 L-31 * *': day of month 'L-31': at most L-30"),
        ("0 0 0W * *", "'0 0 0W * *': day of month 0 is not in 1-31"),
        ("0 0 * * mon#6", "'0 0 * * mon#6': day of week 'mon#6': the week after # is 1-5"),
        ("0 0 * * funL", "'0 0 * * funL': day of week 'fun' is not a number or a name (sun-sat)"),
        ("0 0 1,? * *", "'0 0 1,? * *': '1,?': ? stands alone (it means any)"),
        ("? 0 * * *", "'? 0 * * *': minute '?' is not a number"),
        ("0 0 L-29 2 *", "'0 0 L-29 2 *': never fires (no month has that day)"),
    ],
)
def test_a_bad_cron_says_what_is_wrong_in_one_line(expression, message):
    with pytest.raises(InvalidValue) as caught:
        parse(expression)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "expression, message",
    [
        ("@Daily", "'@Daily': write it in lower case (Temporal takes @daily, not @Daily)"),
        ("0 3 31 2 mon", "'0 3 31 2 mon': never fires (no month has that day)"),  # Temporal: the 31st AND a Monday
        ("0 3 * * fri#1", "'0 3 * * fri#1': L, W, # and ? are for sync pairs; a Temporal Schedule does not take them"),
    ],
)
def test_a_temporal_schedules_cron_is_checked_as_temporal_reads_it(expression, message):
    with pytest.raises(InvalidValue) as caught:
        check_schedule_cron(expression)
    assert str(caught.value) == message
    check_schedule_cron("0 3 1 * mon")  # a Monday the 1st: it comes


def test_a_cadence_is_once_every_or_cron():
    assert Cadence().describe() == "once" and not Cadence().continuous
    assert Cadence().next_pass(at("2024-01-01T00:00")) is None
    every = Cadence(interval_s=5400)
    assert every.describe() == "every 1h30min" and every.next_pass(at("2024-01-01T00:00")) == at("2024-01-01T01:30")
    nightly = Cadence(cron="0 3 * * *", time_zone="Europe/Berlin")
    assert nightly.describe() == "cron 0 3 * * * (Europe/Berlin)" and nightly.continuous
    assert nightly.next_pass(at("2024-01-01T00:00")) == at("2024-01-01T02:00")
    assert [span(s) for s in (1, 60, 86400 + 61)] == ["1s", "1min", "1d1min1s"]
    with pytest.raises(ValueError, match="give every or cron, not both"):
        Cadence(interval_s=60, cron="@daily")


@pytest.mark.parametrize(
    "every, cron, time_zone, message",
    [
        ("1h", "0 3 * * *", None, "--every and --cron: give one of them, not both"),
        (None, "0 3 * * 9", None, "--cron '0 3 * * 9': day of week 9 is not in 0-7"),
        (
            None,
            "0 3 * * *",
            "Mars/Olympus",
            "--time-zone time zone 'Mars/Olympus' is not known (say e.g. UTC or Europe/Berlin)",
        ),
        ("1h", None, "Europe/Berlin", "--time-zone: it is the time zone of --cron; give --cron too"),
        ("soon", None, None, "--every duration 'soon': use numbers with y, m, w, d, h, min, s (e.g. 7d, 1m2w, 15min)"),
    ],
)
def test_the_cli_options_name_themselves_when_wrong(every, cron, time_zone, message):
    with pytest.raises(InvalidInput) as caught:
        cadence(every, cron, time_zone)
    assert str(caught.value) == message


def test_the_cli_options_make_a_cadence():
    assert cadence(None, None, None) == Cadence()
    assert cadence("1h", None, None) == Cadence(interval_s=3600)
    assert cadence(None, "@daily", "Asia/Tokyo") == Cadence(cron="@daily", time_zone="Asia/Tokyo")
