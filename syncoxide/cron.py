"""Cron expressions, as crontab and Temporal Schedules write them, and the next time one fires.

    parse("0 3 * * 1-5").next_after(now, zone("Europe/Berlin"))   # the next weekday 03:00 in Berlin, in UTC

Five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec), day of week (0-7
or sun-sat; 0 and 7 are Sunday). Each is ``*``, a value, a range ``a-b``, a step ``*/n``, ``a-b/n`` or
``a/n``, or a comma-separated list of those. As in Vixie cron, when both day fields are restricted a day
that matches either one fires. ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
(``@midnight``) and ``@hourly`` stand for their usual expressions.

Times are local to a time zone: a time that a daylight-saving change skips does not fire that day, and
one that it repeats fires once (the first). ``next_after`` is a pure function of its arguments, so a
workflow may call it with ``workflow.now()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncoxide.errors import InvalidValue

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
FIELDS = (("minute", 0, 59, []), ("hour", 0, 23, []), ("day of month", 1, 31, []),
          ("month", 1, 12, MONTHS), ("day of week", 0, 7, WEEKDAYS))
HORIZON_DAYS = 8 * 366
"""How far ahead to look: every date that exists recurs within eight years (29 February on a given weekday
recurs within 28, but a restricted day of week with a restricted day of month fires on either)."""


@dataclass(frozen=True)
class Cron:
    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 is Sunday"""
    any_day: bool
    any_weekday: bool

    def _fires_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day, by_weekday = day.day in self.days, day.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday

    def next_after(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first time after ``after`` (aware) at which this fires in ``zone``, in UTC; None if it never does."""
        start = (after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0) + timedelta(minutes=1))
        for offset in range(HORIZON_DAYS):
            day = start.date() + timedelta(days=offset)
            if not self._fires_on(day):
                continue
            for hour in self.hours:
                for minute in self.minutes:
                    local = datetime(day.year, day.month, day.day, hour, minute)
                    if local < start:
                        continue
                    moment = local.replace(tzinfo=zone).astimezone(UTC)
                    if moment.astimezone(zone).replace(tzinfo=None) != local:
                        continue  # skipped by a daylight-saving change
                    if moment > after:
                        return moment
        return None


def _number(text: str, names: list[str], what: str, low: int, high: int) -> int:
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + (1 if names is MONTHS else 0)
    if not text.isdigit():
        raise ValueError(f"{what} {text!r} is not a number" + (f" or a name ({names[0]}-{names[-1]})" if names else ""))
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{what} {value} is not in {low}-{high}")
    return value


def _field(text: str, what: str, low: int, high: int, names: list[str]) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        span, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{what} step {step_text!r} must be a whole number from 1")
            step = int(step_text)
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, z = span.partition("-")
            first, last = _number(a, names, what, low, high), _number(z, names, what, low, high)
            if first > last:
                raise ValueError(f"{what} range {span!r} runs backwards")
        else:
            first = _number(span, names, what, low, high)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return values


def parse(text: str) -> Cron:
    """A cron expression; InvalidValue says what is wrong with it in one line."""
    expression = MACROS.get(text.strip().lower(), text) if isinstance(text, str) else ""
    parts = expression.split()
    if len(parts) != 5:
        raise InvalidValue(f"{text!r}: needs five fields (minute hour day-of-month month day-of-week), "
                           "or @hourly, @daily, @weekly, @monthly, @yearly")
    try:
        minutes, hours, days, months, weekdays = (_field(part, *field) for part, field in zip(parts, FIELDS,
                                                                                                strict=True))
    except ValueError as exc:
        raise InvalidValue(f"{text!r}: {exc}") from None
    cron = Cron(text=text, minutes=tuple(sorted(minutes)), hours=tuple(sorted(hours)), days=frozenset(days),
                months=frozenset(months), weekdays=frozenset(d % 7 for d in weekdays), any_day=parts[2] == "*",
                any_weekday=parts[4] == "*")
    if cron.next_after(datetime(2000, 1, 1, tzinfo=UTC), ZoneInfo("UTC")) is None:
        raise InvalidValue(f"{text!r}: never fires (no month has that day)")
    return cron


def zone(name: str) -> ZoneInfo:
    """A time zone by its IANA name; InvalidValue for one that does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f"time zone {name!r} is not known (say e.g. UTC or Europe/Berlin)") from None
