from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from syncoxide.backups.retention import Retention, decide, parse_duration
from syncoxide.errors import InvalidInput
from syncoxide.models import Snapshot

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def snaps(*hours_ago: float, tags: dict[int, list[str]] | None = None) -> list[Snapshot]:
    return [
        Snapshot(id=f"s{i}", time=NOW - timedelta(hours=h), tags=(tags or {}).get(i, []))
        for i, h in enumerate(hours_ago)
    ]


def kept(decisions) -> list[str]:
    return sorted(d.snapshot.id for d in decisions if d.keep)


def test_no_rule_keeps_everything():
    assert kept(decide(snaps(1, 2, 3), Retention())) == ["s0", "s1", "s2"]


def test_keep_last():
    assert kept(decide(snaps(1, 2, 3, 4), Retention(keep_last=2))) == ["s0", "s1"]


def test_keep_daily_keeps_the_newest_of_each_day():
    # two snapshots today (1h, 3h ago), two yesterday (25h, 30h), one three days ago
    decisions = decide(snaps(1, 3, 25, 30, 72), Retention(keep_daily=2))
    assert kept(decisions) == ["s0", "s2"]
    reasons = {d.snapshot.id: d.reasons for d in decisions}
    assert reasons["s0"] == ["daily #1"] and reasons["s2"] == ["daily #2"]


def test_rules_combine_and_tags_and_within_keep_more():
    s = snaps(1, 50, 100, 400, 2000, tags={4: ["yearly-archive"]})
    decisions = decide(s, Retention(keep_last=1, keep_within="3d", keep_tags=["yearly-archive"]))
    assert kept(decisions) == ["s0", "s1", "s4"]


def test_weekly_monthly_yearly_buckets():
    s = [Snapshot(id=f"d{d}", time=NOW - timedelta(days=d)) for d in range(0, 800, 10)]
    assert len(kept(decide(s, Retention(keep_weekly=3)))) == 3
    assert len(kept(decide(s, Retention(keep_monthly=6)))) == 6
    assert kept(decide(s, Retention(keep_yearly=10))) == ["d0", "d330", "d700"]


def test_durations():
    assert parse_duration("1y2m3w4d5h") == timedelta(days=365 + 60 + 21 + 4, hours=5)
    assert parse_duration("1h30min") == timedelta(minutes=90)
    assert parse_duration("45s") == timedelta(seconds=45)
    with pytest.raises(InvalidInput, match="duration 'soon'"):
        parse_duration("soon")
    with pytest.raises(ValidationError):
        Retention(keep_daily=-1)


def test_equal_times_keep_the_engines_order():
    same = [Snapshot(id=f"s{i}", time=NOW) for i in range(3)]
    assert kept(decide(same, Retention(keep_last=1))) == ["s2"]
