"""Which snapshots a retention policy keeps: one algorithm for every engine.

The rules follow restic's documented semantics (``restic forget``): keep-last N keeps the N
newest; keep-hourly/daily/weekly/monthly/yearly N keep the newest snapshot of each of the N
newest periods that have one; keep-within keeps everything newer than the newest snapshot minus
the duration; keep-tags keeps every snapshot with any of the tags. A snapshot is kept if any
rule keeps it. A policy with no rule keeps everything: deleting needs an explicit rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field, field_validator

from syncoxide.errors import InvalidInput
from syncoxide.models import Snapshot

_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?$")


def parse_duration(text: str) -> timedelta:
    """'1y2m3w4d5h' (years as 365 days, months as 30 days)."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise InvalidInput(f"duration {text!r}: use numbers with y, m, w, d, h (e.g. 7d, 1m2w, 36h)")
    years, months, weeks, days, hours = (int(g or 0) for g in match.groups())
    return timedelta(days=365 * years + 30 * months + 7 * weeks + days, hours=hours)


class Retention(BaseModel):
    keep_last: int = Field(0, ge=0)
    keep_hourly: int = Field(0, ge=0)
    keep_daily: int = Field(0, ge=0)
    keep_weekly: int = Field(0, ge=0)
    keep_monthly: int = Field(0, ge=0)
    keep_yearly: int = Field(0, ge=0)
    keep_within: str | None = None
    keep_tags: list[str] = Field(default_factory=list)

    @field_validator("keep_within")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @property
    def empty(self) -> bool:
        counts = (self.keep_last, self.keep_hourly, self.keep_daily, self.keep_weekly, self.keep_monthly)
        return not any(counts) and not self.keep_yearly and not self.keep_within and not self.keep_tags


class Decision(BaseModel):
    snapshot: Snapshot
    keep: bool
    reasons: list[str] = Field(default_factory=list)


_PERIODS: list[tuple[str, Callable[[datetime], tuple]]] = [
    ("hourly", lambda t: (t.year, t.month, t.day, t.hour)),
    ("daily", lambda t: (t.year, t.month, t.day)),
    ("weekly", lambda t: tuple(t.isocalendar()[:2])),
    ("monthly", lambda t: (t.year, t.month)),
    ("yearly", lambda t: (t.year,)),
]


def decide(snapshots: list[Snapshot], policy: Retention) -> list[Decision]:
    """A decision for every snapshot, newest first.

    ``snapshots`` come oldest first; equal times (borg reports whole seconds) keep that order.
    """
    ordered = [s for _, s in sorted(enumerate(snapshots), key=lambda p: (p[1].time, p[0]), reverse=True)]
    decisions = [Decision(snapshot=s, keep=policy.empty, reasons=["no rule"] if policy.empty else []) for s in ordered]
    if policy.empty:
        return decisions
    for index, decision in enumerate(decisions[: policy.keep_last]):
        decision.reasons.append(f"last #{index + 1}")
    for name, bucket_of in _PERIODS:
        wanted = getattr(policy, f"keep_{name}")
        seen: set[tuple] = set()
        for decision in decisions:
            if len(seen) >= wanted:
                break
            bucket = bucket_of(decision.snapshot.time)
            if bucket not in seen:
                seen.add(bucket)
                decision.reasons.append(f"{name} #{len(seen)}")
    if policy.keep_within and ordered:
        cutoff = ordered[0].time - parse_duration(policy.keep_within)
        for decision in decisions:
            if decision.snapshot.time >= cutoff:
                decision.reasons.append(f"within {policy.keep_within}")
    wanted_tags = set(policy.keep_tags)
    for decision in decisions:
        if wanted_tags & set(decision.snapshot.tags):
            decision.reasons.append("tagged " + ",".join(sorted(wanted_tags & set(decision.snapshot.tags))))
        decision.keep = bool(decision.reasons)
    return decisions
