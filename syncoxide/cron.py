"""Cron expressions, as crontab and Temporal Schedules write them, and the next time one fires.

    parse("0 3 * * 1-5").next_after(now, zone("Europe/Berlin"))   # the next weekday 03:00 in Berlin, in UTC

Five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec), day of week (0-7
or sun-sat; 0 and 7 are Sunday). Each is ``*``, a value, a range ``a-b``, a step ``*/n``, ``a-b/n`` or
``a/n``, or a comma-separated list of those. As in Vixie cron, when both day fields are restricted a day
that matches either one fires. ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
(``@midnight``) and ``@hourly`` stand for their usual expressions.

The day fields also take Quartz's extensions: ``?`` for ``*``; in day of month ``L`` (the last day), ``L-n``
(n days before it), ``nW`` (the weekday nearest the nth, in the same month) and ``LW`` (the last weekday); in
day of week ``nL`` (the month's last such day, e.g. ``friL`` or ``5L``) and ``n#k`` (its kth, e.g. ``mon#1``).
Day numbers there are this field's own (0 or 7 Sunday, 5 Friday), not Quartz's (1 Sunday).

A Temporal Schedule (backup policies, catalog scans) reads crons itself: ``check_schedule_cron`` checks one
as Temporal will take it (no extensions, both day fields must match, macros in lower case).

Times are local to a time zone: a time that a daylight-saving change skips does not fire that day, and
one that it repeats fires once (the first). ``next_after`` is a pure function of its arguments, so a
workflow may call it with ``workflow.now()``.
"""

from __future__ import annotations

import calendar
import re
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
HORIZON_DAYS = 29 * 366
"""How far ahead to look: the calendar repeats every 28 years (the fifth Saturday of February, say, comes
once in them)."""
LAST_DAY = re.compile(r"L(?:-(\d+))?", re.IGNORECASE)
NEAREST_WEEKDAY = re.compile(r"(\d+|L)W", re.IGNORECASE)
NTH_WEEKDAY = re.compile(r"(\w+?)(?:(L)|#(\d+))", re.IGNORECASE)


@dataclass(frozen=True)
class DayRule:
    """A day of month counted from the end (``L``, ``L-n``), or the weekday nearest a day (``nW``, ``LW``)."""
    from_end: int | None = None
    nearest_weekday_to: int | None = None
    """0: the last day"""

    def matches(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if self.from_end is not None:
            return day.day == last - self.from_end
        target = self.nearest_weekday_to or last
        if target > last:
            return False
        weekday = date(day.year, day.month, target).weekday()
        if weekday == 5:  # Saturday: the Friday before, or the Monday after the 1st
            target = target - 1 if target > 1 else target + 2
        elif weekday == 6:  # Sunday: the Monday after, or the Friday before the month's last day
            target = target + 1 if target < last else target - 2
        return day.day == target


@dataclass(frozen=True)
class WeekdayRule:
    """The kth such weekday of the month (``n#k``), or its last (``nL``: ``nth`` is -1)."""
    weekday: int
    """0 is Sunday"""
    nth: int

    def matches(self, day: date) -> bool:
        if day.isoweekday() % 7 != self.weekday:
            return False
        if self.nth == -1:
            return (day + timedelta(days=7)).month != day.month
        return (day.day - 1) // 7 + 1 == self.nth


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
    either_day: bool = True
    """when both day fields are restricted, a day matching either fires (cron); False: it must match both"""
    day_rules: frozenset[DayRule] = frozenset()
    weekday_rules: frozenset[WeekdayRule] = frozenset()

    def _fires_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days or any(rule.matches(day) for rule in self.day_rules)
        by_weekday = day.isoweekday() % 7 in self.weekdays or any(rule.matches(day) for rule in self.weekday_rules)
        if self.any_day or self.any_weekday or not self.either_day:
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


def _day_rules(text: str) -> tuple[str, set[DayRule]]:
    """The day-of-month items that are ``L``, ``L-n``, ``nW`` or ``LW``, and the rest of the field (``*`` for ``?``)."""
    rules, rest = set(), []
    for item in text.split(","):
        if last := LAST_DAY.fullmatch(item):
            offset = int(last.group(1) or 0)
            if offset > 30:
                raise ValueError(f"day of month {item!r}: at most L-30")
            rules.add(DayRule(from_end=offset))
        elif nearest := NEAREST_WEEKDAY.fullmatch(item):
            target = 0 if nearest.group(1).upper() == "L" else _number(nearest.group(1), [], "day of month", 1, 31)
            rules.add(DayRule(nearest_weekday_to=target))
        else:
            rest.append(item)
    return _rest(rest, text), rules


def _weekday_rules(text: str) -> tuple[str, set[WeekdayRule]]:
    """The day-of-week items that are ``nL`` or ``n#k``, and the rest of the field (``*`` for ``?``)."""
    rules, rest = set(), []
    for item in text.split(","):
        if special := NTH_WEEKDAY.fullmatch(item):
            weekday = _number(special.group(1), WEEKDAYS, "day of week", 0, 7) % 7
            nth = -1 if special.group(2) else int(special.group(3))
            if not 1 <= nth <= 5 and nth != -1:
                raise ValueError(f"day of week {item!r}: the week after # is 1-5")
            rules.add(WeekdayRule(weekday, nth))
        else:
            rest.append(item)
    return _rest(rest, text), rules


def _rest(items: list[str], text: str) -> str:
    if text == "?":
        return "*"
    if "?" in items:
        raise ValueError(f"{text!r}: ? stands alone (it means any)")
    return ",".join(items)


def parse(text: str, *, either_day: bool = True) -> Cron:
    """A cron expression; InvalidValue says what is wrong with it in one line."""
    expression = MACROS.get(text.strip().lower(), text) if isinstance(text, str) else ""
    parts = expression.split()
    if len(parts) != 5:
        raise InvalidValue(f"{text!r}: needs five fields (minute hour day-of-month month day-of-week), "
                           "or @hourly, @daily, @weekly, @monthly, @yearly")
    try:
        parts[2], day_rules = _day_rules(parts[2])
        parts[4], weekday_rules = _weekday_rules(parts[4])
        minutes, hours, days, months, weekdays = (_field(part, *field) if part else set()
                                                  for part, field in zip(parts, FIELDS, strict=True))
    except ValueError as exc:
        raise InvalidValue(f"{text!r}: {exc}") from None
    cron = Cron(text=text, minutes=tuple(sorted(minutes)), hours=tuple(sorted(hours)), days=frozenset(days),
                months=frozenset(months), weekdays=frozenset(d % 7 for d in weekdays), any_day=parts[2] == "*",
                any_weekday=parts[4] == "*", either_day=either_day, day_rules=frozenset(day_rules),
                weekday_rules=frozenset(weekday_rules))
    if cron.next_after(datetime(2000, 1, 1, tzinfo=UTC), ZoneInfo("UTC")) is None:
        raise InvalidValue(f"{text!r}: never fires (no month has that day)")
    return cron


def check_schedule_cron(text: str) -> None:
    """A cron for a Temporal Schedule (backup policies, catalog scans) is checked as Temporal reads it: no day
    extensions (it takes no ``L``, ``W`` or ``?``, and reads ``#`` as a comment), a day must match both day
    fields (so ``0 3 31 2 mon`` never fires), and the ``@`` shortcuts are lower case."""
    if text.strip().startswith("@") and text.strip() not in MACROS:
        raise InvalidValue(f"{text!r}: write it in lower case (Temporal takes @daily, not @Daily)")
    cron = parse(text, either_day=False)
    if cron.day_rules or cron.weekday_rules or "?" in text:
        raise InvalidValue(f"{text!r}: L, W, # and ? are for sync pairs; a Temporal Schedule does not take them")


def valid_cron(text: str | None) -> str | None:
    """``text`` as it is, once ``parse`` takes it (a pydantic validator)."""
    if text is not None:
        parse(text)
    return text


def valid_schedule_cron(text: str | None) -> str | None:
    """``text`` as it is, once ``check_schedule_cron`` takes it (a pydantic validator)."""
    if text is not None:
        check_schedule_cron(text)
    return text


def valid_zone(name: str) -> str:
    """``name`` as it is, once ``zone`` knows it (a pydantic validator)."""
    zone(name)
    return name


def zone(name: str) -> ZoneInfo:
    """A time zone by its IANA name; InvalidValue for one that does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f"time zone {name!r} is not known (say e.g. UTC or Europe/Berlin)") from None
