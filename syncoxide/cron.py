"""Cron expressions, as crontab and Temporal Schedules write them, and the next time one fires.

    parse("0 3 * * 1-5").next_after(now, zone("Europe/Berlin"))   # the next weekday 03:00 in Berlin, in UTC

Five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec), day of week (0-7
or sun-sat; 0 and 7 are Sunday). Each is ``*``, a value, a range ``a-b``, a step ``*/n``, ``a-b/n`` or
``a/n``, or a comma-separated list of those. As in Vixie cron, when both day fields are restricted a day
that matches either one fires; a field counts as restricted unless it is ``*`` (or ``?``) itself, so
``*/2`` restricts (Debian's cron, and cronsim, would treat it as unrestricted, because it starts with ``*``).
``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily`` (``@midnight``) and ``@hourly`` stand for
their usual expressions.

The day fields also take Quartz's extensions: ``?`` for ``*``; in day of month ``L`` (the last day), ``L-n``
(n days before it), ``nW`` (the weekday nearest the nth, in the same month) and ``LW`` (the last weekday); in
day of week ``nL`` (the month's last such day, e.g. ``friL`` or ``5L``) and ``n#k`` (its kth, e.g. ``mon#1``).
Day numbers there are this field's own (0 or 7 Sunday, 5 Friday), not Quartz's (1 Sunday).

A Temporal Schedule (backup policies, catalog scans) reads crons itself: ``check_schedule_cron`` checks one
as Temporal will take it (no extensions, both day fields must match, macros in lower case).

Times are local to a time zone: a time that a daylight-saving change skips does not fire that day, and
one that it repeats fires once (the first). ``next_after`` is a pure function of its arguments, so a
workflow may call it with ``workflow.now()``; it looks 50 years ahead.

The library cronsim finds the times, in wall-clock time without a zone (its own handling of daylight saving
is Debian cron's: a skipped 02:30 runs at 03:00, and ``*/30 * * * *`` runs twice in a repeated hour; the
rule above replaces it). This module checks an expression first, so that an error names the field and
the item, and spells it as cronsim reads it: macros expanded, ``?`` as ``*``, a day's name before ``L`` as its
number, ``*`` as the field's range unless the field is just ``*``, and ``a-a/n`` as ``a`` (cronsim reads it as
``a/n``). cronsim has no ``L-n`` or ``nW``: each month, those become the day they name in it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from syncoxide.errors import InvalidValue

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
FIELDS: tuple[tuple[str, int, int, list[str]], ...] = (
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, WEEKDAYS),
)
HORIZON_YEARS = 50
"""How far ahead to look (cronsim's own limit): the calendar repeats every 28 years within a century (the
fifth Saturday of February, say, comes once in them), and a century year that is no leap year stretches that."""
LAST_DAY = re.compile(r"L(?:-(\d+))?", re.IGNORECASE)
NEAREST_WEEKDAY = re.compile(r"(\d+|L)W", re.IGNORECASE)
NTH_WEEKDAY = re.compile(r"(\w+?)(?:(L)|#(\d+))", re.IGNORECASE)


@dataclass(frozen=True)
class Cron:
    text: str
    fields: tuple[str, ...]
    """the five fields as cronsim reads them; the day of month without the ``month_days`` (then maybe empty)"""
    month_days: tuple[str, ...] = ()
    """the ``L-n`` and ``nW`` items of the day of month, as ``L-3`` and ``15W``"""

    def next_after(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first time after ``after`` (aware) at which this fires in ``zone``, in UTC; None if it never does."""
        for local in self._local_times(after.astimezone(zone).replace(tzinfo=None)):
            moment = local.replace(tzinfo=zone).astimezone(UTC)
            if moment.astimezone(zone).replace(tzinfo=None) != local:
                continue  # skipped by a daylight-saving change
            if moment > after:
                return moment
        return None

    def _local_times(self, start: datetime) -> Iterator[datetime]:
        """The wall-clock times after ``start`` (naive) at which this fires, for ``HORIZON_YEARS``."""
        limit = start.year + HORIZON_YEARS
        if not self.month_days:
            for local in _times(self.fields, start):
                if local.year > limit:
                    return
                yield local
            return
        month = datetime(start.year, start.month, 1)
        while month.year <= limit:
            following = (month + timedelta(days=32)).replace(day=1)
            named = sorted({day for item in self.month_days if (day := _month_day(item, month)) is not None})
            days = ",".join(filter(None, [self.fields[2], *map(str, named)]))
            if days or self.fields[4] != "*":  # no day of month this month: only the day of week can fire
                fields = (*self.fields[:2], days or "*", *self.fields[3:])  # (cronsim ANDs it with *)
                for local in _times(fields, max(start, month - timedelta(seconds=1))):
                    if local >= following:
                        break
                    yield local
            month = following


def _times(fields: tuple[str, ...], start: datetime) -> Iterator[datetime]:
    try:
        yield from CronSim(" ".join(fields), start)
    except CronSimError:  # a day of month that none of the months has
        return


def _month_day(item: str, month: datetime) -> int | None:
    """The day that ``L-n`` or ``nW`` names in ``month``; None if it has none."""
    first_weekday, last = calendar.monthrange(month.year, month.month)
    if item.startswith("L"):
        day = last - int(item[2:])
        return day if day >= 1 else None
    day = int(item[:-1])
    if day > last:
        return None
    weekday = (first_weekday + day - 1) % 7
    if weekday == 5:  # Saturday: the Friday before, or the Monday after the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before the month's last day
        return day + 1 if day < last else day - 2
    return day


def _number(text: str, names: list[str], what: str, low: int, high: int) -> int:
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + (1 if names is MONTHS else 0)
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{what} {text!r} is not a number" + (f" or a name ({names[0]}-{names[-1]})" if names else ""))
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{what} {value} is not in {low}-{high}")
    return value


def _spelled(item: str, text: str, what: str, low: int, high: int, names: list[str]) -> str:
    """A value, range or step of the field ``text`` (``5``, ``mon-fri``, ``*/15``, ``1-9/2``, ``jan/3``), checked and
    spelled for cronsim: ``*`` as the field's range unless the field is just ``*``, ``a-a/n`` as ``a`` (which
    cronsim would read as ``a/n``)."""
    span, _, step = item.partition("/")
    if step and (not (step.isascii() and step.isdigit()) or int(step) == 0):
        raise ValueError(f"{what} step {step!r} must be a whole number from 1")
    if span == "*":
        return item if text == "*" else f"{low}-{high}{item[1:]}"
    first, dash, last = span.partition("-")
    start, end = _number(first, names, what, low, high), _number(last, names, what, low, high) if dash else high
    if start > end:
        raise ValueError(f"{what} range {span!r} runs backwards")
    return first if dash and start == end else item


def _items(text: str) -> list[str]:
    items = text.split(",")
    if "?" in items and text != "?":
        raise ValueError(f"{text!r}: ? stands alone (it means any)")
    return items


def _day_of_month(text: str) -> tuple[str, tuple[str, ...]]:
    """The day of month as cronsim reads it, and its ``L-n`` and ``nW`` items apart."""
    kept, month_days = [], []
    for item in _items(text):
        if item == "?":
            kept.append("*")
        elif last := LAST_DAY.fullmatch(item):
            if last.group(1) is None:
                kept.append("L")
            elif int(last.group(1)) > 30:
                raise ValueError(f"day of month {item!r}: at most L-30")
            else:
                month_days.append(f"L-{int(last.group(1))}")
        elif nearest := NEAREST_WEEKDAY.fullmatch(item):
            if nearest.group(1).upper() == "L":
                kept.append("LW")
            else:
                month_days.append(f"{_number(nearest.group(1), [], 'day of month', 1, 31)}W")
        else:
            kept.append(_spelled(item, text, *FIELDS[2]))
    return ",".join(kept), tuple(month_days)


def _day_of_week(text: str) -> str:
    """The day of week as cronsim reads it (which takes ``nL`` with a number only)."""
    spelled = []
    for item in _items(text):
        if item == "?":
            spelled.append("*")
        elif special := NTH_WEEKDAY.fullmatch(item):
            weekday = _number(special.group(1), WEEKDAYS, "day of week", 0, 7)
            if special.group(2):
                spelled.append(f"{weekday}L")
            elif 1 <= int(special.group(3)) <= 5:
                spelled.append(f"{weekday}#{int(special.group(3))}")
            else:
                raise ValueError(f"day of week {item!r}: the week after # is 1-5")
        else:
            spelled.append(_spelled(item, text, *FIELDS[4]))
    return ",".join(spelled)


def _never_fires(cron: Cron) -> bool:
    return cron.next_after(datetime(2000, 1, 1, tzinfo=UTC), ZoneInfo("UTC")) is None


def parse(text: str) -> Cron:
    """A cron expression; InvalidValue says what is wrong with it in one line."""
    expression = MACROS.get(text.strip().lower(), text) if isinstance(text, str) else ""
    parts = expression.split()
    if len(parts) != 5:
        raise InvalidValue(
            f"{text!r}: needs five fields (minute hour day-of-month month day-of-week), "
            "or @hourly, @daily, @weekly, @monthly, @yearly"
        )
    try:
        minutes, hours, months = (
            ",".join(_spelled(item, parts[index], *FIELDS[index]) for item in parts[index].split(","))
            for index in (0, 1, 3)
        )
        days, month_days = _day_of_month(parts[2])
        weekdays = _day_of_week(parts[4])
    except ValueError as exc:
        raise InvalidValue(f"{text!r}: {exc}") from None
    cron = Cron(text, (minutes, hours, days, months, weekdays), month_days)
    if _never_fires(cron):
        raise InvalidValue(f"{text!r}: never fires (no month has that day)")
    return cron


def check_schedule_cron(text: str) -> None:
    """A cron for a Temporal Schedule (backup policies, catalog scans) is checked as Temporal reads it: no day
    extensions (it takes no ``L``, ``W`` or ``?``, and reads ``#`` as a comment), a day must match both day
    fields (so ``0 3 31 2 mon`` never fires), and the ``@`` shortcuts are lower case."""
    if text.strip().startswith("@") and text.strip() not in MACROS:
        raise InvalidValue(f"{text!r}: write it in lower case (Temporal takes @daily, not @Daily)")
    cron = parse(text)
    # every day of a month falls on each weekday in some year, so both fields match some day if the first does
    if _never_fires(Cron(text, (*cron.fields[:4], "*"), cron.month_days)):
        raise InvalidValue(f"{text!r}: never fires (no month has that day)")
    parts = MACROS.get(text.strip(), text).split()
    if re.search(r"[LW?]", parts[2], re.IGNORECASE) or re.search(r"[L#?]", parts[4], re.IGNORECASE):
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
