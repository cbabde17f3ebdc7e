"""Health of policies and repositories, from recorded runs and the schedules' next runs.

A policy is failing when its latest finished run failed; late when nothing succeeded within the
expected interval (the gap between its next two scheduled runs) plus its grace; paused when its
schedule is paused; ok otherwise. A repository reports its latest check and how old it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from syncoxide.models import Run, RunKind, RunStatus, parse_duration
from syncoxide.schedules import ScheduleView
from syncoxide.store.policies import StoredPolicy


@dataclass
class PolicyHealth:
    name: str
    state: str  # ok, late, failing, paused
    detail: str
    last_run: Run | None
    last_success: datetime | None
    next_run: datetime | None

    @property
    def bad(self) -> bool:
        return self.state in ("late", "failing")


@dataclass
class RepositoryHealth:
    name: str
    last_check: Run | None

    @property
    def state(self) -> str:
        if self.last_check is None:
            return "never checked"
        return "ok" if self.last_check.status == RunStatus.succeeded else self.last_check.status.value

    @property
    def bad(self) -> bool:
        return self.last_check is not None and self.last_check.status == RunStatus.failed


def expected_interval(view: ScheduleView, policy_spec: dict) -> timedelta | None:
    if len(view.next_runs) >= 2:
        return view.next_runs[1] - view.next_runs[0]
    every = policy_spec.get("schedule", {}).get("every")
    return parse_duration(every) if every else None


def policy_health(stored: StoredPolicy, history: list[Run], view: ScheduleView, now: datetime) -> PolicyHealth:
    spec = stored.spec["policy"]
    finished = [r for r in history if r.status != RunStatus.running and r.kind == RunKind.backup]
    last_success = next((r.finished_at for r in finished if r.status == RunStatus.succeeded), None)
    last = history[0] if history else None
    next_run = view.next_runs[0] if view.next_runs else None

    def health(state: str, detail: str) -> PolicyHealth:
        return PolicyHealth(stored.name, state, detail, last, last_success, next_run)

    if view.paused:
        return health("paused", "its schedule is paused")
    if finished and finished[0].status == RunStatus.failed:
        return health("failing", finished[0].error or "the last run failed")
    interval = expected_interval(view, spec)
    if interval is not None:
        since = last_success or stored.created_at
        allowed = interval + parse_duration(spec.get("grace", "1h"))
        if now - since > allowed:
            what = "no successful run" + (f" since {last_success:%Y-%m-%d %H:%M}" if last_success else " yet")
            return health("late", f"{what}; expected every {interval}")
    return health("ok", "")
