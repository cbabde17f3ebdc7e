"""Where syncoxide.cron reads crons differently from cronsim, which finds its times: daylight saving (no
Debian cron catch-up), a ``*`` inside a day field, ``a-a/n``, ``L-n`` and ``nW`` (cronsim has none), how far
ahead it looks, and what a Temporal Schedule's check makes of the extensions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncoxide.cron import check_schedule_cron, parse, zone
from syncoxide.errors import InvalidValue


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def times(expression: str, after: datetime, where: str = "UTC", count: int = 3, local: bool = True) -> list[str]:
    cron, tz, found = parse(expression), zone(where), []
    for _ in range(count):
        moment = cron.next_after(after, tz)
        assert moment is not None and moment.tzinfo == UTC
        found.append(moment.astimezone(tz if local else UTC).strftime("%a %Y-%m-%d %H:%M"))
        after = moment
    return found


@pytest.mark.parametrize(
    "expression, after, where, expected",
    [
        # Berlin skips 02:00-03:00 on 31 March 2024; cronsim (as Debian cron) would run the skipped times at 03:00
        (
            "*/30 * * * *",
            "2024-03-31T00:10",
            "Europe/Berlin",
            ["Sun 2024-03-31 00:30", "Sun 2024-03-31 01:00", "Sun 2024-03-31 01:30"],
        ),  # 01:30 CET, then 03:00 CEST
        # Berlin repeats 02:00-03:00 on 27 October 2024: the second pass (01:00-02:00 UTC) does not fire again
        (
            "*/30 * * * *",
            "2024-10-27T00:10",
            "Europe/Berlin",
            ["Sun 2024-10-27 00:30", "Sun 2024-10-27 02:00", "Sun 2024-10-27 02:30"],
        ),
        (
            "*/20 * * * *",
            "2024-10-27T01:10",
            "Europe/Berlin",  # from inside the second pass: the next is 03:00 CET
            ["Sun 2024-10-27 02:00", "Sun 2024-10-27 02:20", "Sun 2024-10-27 02:40"],
        ),
        (
            "30 1 * * *",
            "2024-11-02T12:00",
            "America/New_York",  # 01:30 EDT, not again at 01:30 EST
            ["Sun 2024-11-03 05:30", "Mon 2024-11-04 06:30", "Tue 2024-11-05 06:30"],
        ),
        # Lord Howe moves by half an hour: 02:00 -> 02:30 on 6 October 2024, 02:00 -> 01:30 on 7 April 2024
        (
            "45 1 * * *",
            "2024-04-06T00:00",
            "Australia/Lord_Howe",
            ["Sat 2024-04-06 14:45", "Sun 2024-04-07 15:15", "Mon 2024-04-08 15:15"],
        ),
    ],
)
def test_daylight_saving_in_utc(expression, after, where, expected):
    assert times(expression, utc(after), where, local=False) == expected


@pytest.mark.parametrize(
    "expression, after, where, expected",
    [
        (
            "0 2 * * *",
            "2024-03-09T12:00",
            "America/New_York",  # 10 March has no 02:00 (cronsim: 03:00)
            ["Mon 2024-03-11 02:00", "Tue 2024-03-12 02:00", "Wed 2024-03-13 02:00"],
        ),
        (
            "15 2 * * *",
            "2024-10-05T00:00",
            "Australia/Lord_Howe",
            ["Mon 2024-10-07 02:15", "Tue 2024-10-08 02:15", "Wed 2024-10-09 02:15"],
        ),  # 6 October has no 02:15
    ],
)
def test_a_skipped_time_does_not_fire_that_day(expression, after, where, expected):
    assert times(expression, utc(after), where) == expected


def test_a_cron_every_one_of_whose_times_is_skipped_never_fires():
    # the last Sunday of March is when Europe skips 02:00-03:00
    assert parse("30 2 * 3 0L").next_after(utc("2024-01-01T00:00"), zone("Europe/Berlin")) is None
    assert times("30 2 * 3 0L", utc("2024-01-01T00:00")) == [
        "Sun 2024-03-31 02:30",
        "Sun 2025-03-30 02:30",
        "Sun 2026-03-29 02:30",
    ]


def test_seconds_and_other_zones_in_after():
    nightly, there = parse("0 3 * * *"), zone("UTC")
    assert nightly.next_after(datetime(2024, 1, 1, 2, 59, 59, 999999, tzinfo=UTC), there) == utc("2024-01-01T03:00")
    assert nightly.next_after(datetime(2024, 1, 1, 3, 0, 0, 1, tzinfo=UTC), there) == utc("2024-01-02T03:00")
    tokyo_morning = datetime(2024, 1, 1, 9, 0, tzinfo=zone("Asia/Tokyo"))  # midnight UTC
    assert nightly.next_after(tokyo_morning, zone("Europe/Berlin")) == utc("2024-01-01T02:00")


@pytest.mark.parametrize(
    "expression, after, expected",
    [
        # */10 restricts the day of month, so a Monday or the 1st, 11th, 21st, 31st fires (Debian, cronsim: AND)
        (
            "0 0 */10 * mon",
            "2023-12-31T12:00",
            ["Mon 2024-01-01 00:00", "Mon 2024-01-08 00:00", "Thu 2024-01-11 00:00"],
        ),
        # so does a * in a list: every day (before cronsim, the * left beside L made it Mondays only)
        ("0 0 L,* * mon", "2024-01-01T12:00", ["Tue 2024-01-02 00:00", "Wed 2024-01-03 00:00", "Thu 2024-01-04 00:00"]),
        (
            "5-5/20 * * * *",
            "2024-01-01T00:00",
            ["Mon 2024-01-01 00:05", "Mon 2024-01-01 01:05", "Mon 2024-01-01 02:05"],
        ),
        ("0 0 ? * 7L", "2024-01-01T00:00", ["Sun 2024-01-28 00:00", "Sun 2024-02-25 00:00", "Sun 2024-03-31 00:00"]),
        ("0 0 ? * 7#1", "2024-01-01T00:00", ["Sun 2024-01-07 00:00", "Sun 2024-02-04 00:00", "Sun 2024-03-03 00:00"]),
        (
            "0 0 ? * friL,mon#1,wed",
            "2024-01-24T00:00",
            ["Fri 2024-01-26 00:00", "Wed 2024-01-31 00:00", "Mon 2024-02-05 00:00"],
        ),
        # L-n and nW, which cronsim lacks, beside plain days and a day of week (either fires)
        (
            "0 0 L-1,10 * sat#1",
            "2024-01-01T00:00",
            ["Sat 2024-01-06 00:00", "Wed 2024-01-10 00:00", "Tue 2024-01-30 00:00"],
        ),
        ("0 0 L-30 * *", "2024-01-15T00:00", ["Fri 2024-03-01 00:00", "Wed 2024-05-01 00:00", "Mon 2024-07-01 00:00"]),
        # no 31st in April and June; 31 August 2024 is a Saturday
        ("0 0 31W * *", "2024-04-01T00:00", ["Fri 2024-05-31 00:00", "Wed 2024-07-31 00:00", "Fri 2024-08-30 00:00"]),
        # there is no 30 February, but a leap year's February has an L-28
        (
            "0 0 30,L-28 2 *",
            "2023-01-01T00:00",
            ["Thu 2024-02-01 00:00", "Tue 2028-02-01 00:00", "Sun 2032-02-01 00:00"],
        ),
    ],
)
def test_the_day_fields(expression, after, expected):
    assert times(expression, utc(after)) == expected


def test_it_looks_fifty_years_ahead():
    # 2100 is no leap year: after 2088 the next fifth Sunday of February is in 2128
    assert times("30 1 * feb sun#5", utc("2088-02-29T03:30"), count=1) == ["Sun 2128-02-29 01:30"]


@pytest.mark.parametrize("expression", ["0 3 15W * *", "0 3 * * 5L", "0 3 L-2 * *", "0 3 LW * *", "0 3 ? * mon"])
def test_a_temporal_schedule_takes_no_extension(expression):
    with pytest.raises(InvalidValue) as caught:
        check_schedule_cron(expression)
    assert (
        str(caught.value) == f"{expression!r}: L, W, # and ? are for sync pairs; a Temporal Schedule does not take them"
    )


@pytest.mark.parametrize("expression", ["0 3 * * wed", "0 3 */2 * mon", "0 3 * jul sat", "@daily", "0 3 29 2 mon"])
def test_a_temporal_schedule_takes_names_and_steps(expression):
    check_schedule_cron(expression)


@pytest.mark.parametrize(
    "expression, message",
    [
        ("0 ² * * *", "'0 ² * * *': hour '²' is not a number"),
        ("0 3 30 2 *", "'0 3 30 2 *': never fires (no month has that day)"),
        ("0 0 * * 5L#2", "'0 0 * * 5L#2': day of week '5L' is not a number or a name (sun-sat)"),
        ("0 0 1-L * *", "'0 0 1-L * *': day of month 'L' is not a number"),
    ],
)
def test_more_bad_crons(expression, message):
    with pytest.raises(InvalidValue) as caught:
        parse(expression)
    assert str(caught.value) == message


def test_macros_are_any_case_for_sync_pairs():
    assert parse("@Daily").next_after(utc("2024-01-01T12:00"), zone("UTC")) == utc("2024-01-02T00:00")
