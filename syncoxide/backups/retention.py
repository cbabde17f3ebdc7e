"""Which snapshots a retention policy keeps: one algorithm for every engine.

The rules follow restic's documented semantics (``restic forget``): keep-last N keeps the N
newest; keep-hourly/daily/weekly/monthly/yearly N keep the newest snapshot of each of the N
newest periods that have one; keep-within keeps everything newer than the newest snapshot minus
the duration; keep-tags keeps every snapshot with any of the tags. A snapshot is kept if any
rule keeps it. A policy with no rule keeps everything: deleting needs an explicit rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel, Field

from syncoxide.models import Retention, Snapshot, parse_duration


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
