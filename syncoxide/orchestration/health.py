"""Health of policies and repositories, from recorded runs and the schedules' next runs.

A policy is failing when its latest finished run failed; late when nothing succeeded within the
expected interval (the gap between its next two scheduled runs) plus its grace; paused when its
schedule is paused; ok otherwise. A repository reports its latest check and how old it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import Client

from syncoxide.backups import notify
from syncoxide.config import Settings
from syncoxide.models import Notify, Run, RunKind, RunStatus, parse_duration
from syncoxide.orchestration import schedules
from syncoxide.orchestration.schedules import ScheduleView
from syncoxide.store import open_store, policies, repositories, runs
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


async def gather(
    settings: Settings, client: Client, now: datetime
) -> tuple[list[PolicyHealth], list[RepositoryHealth]]:
    """Health of every active policy and every repository."""
    with open_store(settings) as conn:
        stored = policies.active(conn)
        histories = {n: runs.recent(conn, policy_id=n, limit=20) for n in stored}
        repos = repositories.list_all(conn)
        checks = {r.name: runs.recent(conn, repository_id=r.id, kind=RunKind.check, limit=1) for r in repos}
    found = []
    for name, policy in stored.items():
        view = await schedules.describe(client, schedules.policy_schedule_id(name))
        found.append(policy_health(policy, histories[name], view, now))
    return found, [RepositoryHealth(r.name, checks[r.name][0] if checks[r.name] else None) for r in repos]


async def notify_late(settings: Settings, client: Client, now: datetime) -> list[str]:
    """Tell each late policy's contacts once per late episode; returns the policies notified."""
    found, _ = await gather(settings, client, now)
    with open_store(settings) as conn:
        stored = policies.active(conn)
        notified = policies.late_notified(conn)
    told = []
    for state in (h for h in found if h.state == "late"):
        spec = stored[state.name].spec["policy"].get("notify") or {}
        contacts = Notify(urls=spec.get("urls", []), events=spec.get("events", []))
        if "late" not in contacts.events or not contacts.urls:
            continue
        last = notified.get(state.name)
        if last is not None and (state.last_success is None or last > state.last_success):
            continue  # already told about this episode
        title = f"syncoxide: backup of policy {state.name} is late"
        notify.send(contacts, title=title, body=f"{title}\n{state.detail}", failure=True)
        with open_store(settings) as conn:
            policies.mark_late_notified(conn, state.name, now)
        told.append(state.name)
    return told
