"""Hook commands around a backup, notifications of its outcome, and alerts for late policies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from activities.reporting import Reporter, run_reported, temporal_errors
from syncoxide.backups import hooks, notify
from syncoxide.config import Settings
from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import HookInput, NotifyRunInput
from syncoxide.contract.temporal import implements
from syncoxide.engines.process import Cancelled
from syncoxide.errors import SyncoxideError
from syncoxide.models import RunKind, RunStatus
from syncoxide.orchestration import client as temporal
from syncoxide.orchestration import health
from syncoxide.store import open_store, repositories, runs


class HooksAndAlertsActivities:
    def __init__(self, settings: Settings):
        self.settings = settings

    @implements(contract.RUN_HOOKS)
    def run_hooks(self, data: HookInput) -> int:
        """Run one stage's hooks, recorded as a run of kind hook."""
        run_id = f"{data.parent_run_id}-hook-{data.stage}"

        def work(reporter: Reporter) -> int:
            with open_store(self.settings) as conn:
                passphrase = repositories.get(conn, data.repository_id).passphrase  # its variable: not for hooks
                runs.start(
                    conn,
                    run_id=run_id,
                    kind=RunKind.hook,
                    repository_id=data.repository_id,
                    policy_id=data.policy_id,
                    details={"stage": data.stage, "commands": data.commands},
                    workflow_id=data.parent_run_id,
                )
            reporter.phase(f"{data.stage} hooks")
            try:
                count = hooks.run_hooks(
                    data.stage,
                    data.commands,
                    timeout_s=data.timeout_s,
                    env={"SYNCOXIDE_RUN_ID": data.parent_run_id},
                    withhold=[passphrase.value] if passphrase.kind == "env" else [],
                    cancelled=reporter.cancelled,
                )
            except (SyncoxideError, Cancelled) as failure:
                cancelled = isinstance(failure, Cancelled)
                with open_store(self.settings) as conn:
                    runs.finish(
                        conn,
                        run_id=run_id,
                        status=RunStatus.cancelled if cancelled else RunStatus.failed,
                        error="cancelled" if cancelled else str(failure),
                    )
                raise
            with open_store(self.settings) as conn:
                runs.finish(conn, run_id=run_id, status=RunStatus.succeeded, files=count)
            return count

        return run_reported(work)

    @implements(contract.NOTIFY_RUN)
    def notify_run(self, data: NotifyRunInput) -> list[str]:
        """Send the notifications this run's outcome calls for; returns the events sent."""
        with temporal_errors():
            previous = None
            if data.policy_id:
                with open_store(self.settings) as conn:
                    earlier = runs.recent(conn, policy_id=data.policy_id, kind=RunKind.backup, limit=20)
                previous = next((r for r in earlier if r.id != data.run_id and r.status != RunStatus.running), None)
            events = notify.events_for(data.status, previous, data.notify.events)
            subject = f"policy {data.policy_id}" if data.policy_id else f"run {data.run_id}"
            link = temporal.workflow_url(self.settings, data.run_id)
            for event in events:
                title = (
                    f"syncoxide: backup of {subject} "
                    + {"failure": "failed", "recovery": "recovered", "success": "succeeded"}[event]
                )
                body = f"{title}\nrun: {data.run_id}\n" + (f"error: {data.error}\n" if data.error else "") + link
                notify.send(data.notify, title=title, body=body, failure=event == "failure")
            return events

    @implements(contract.NOTIFY_LATE)
    def notify_late(self) -> list[str]:
        """Find late policies and notify about each once per late episode."""

        async def go() -> list[str]:
            return await health.notify_late(self.settings, await temporal.connect(self.settings), datetime.now(UTC))

        with temporal_errors():
            return asyncio.run(go())
