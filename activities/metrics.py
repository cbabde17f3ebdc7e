"""syncoxide's own Prometheus metrics, recorded through the Temporal runtime's meter.

They appear on the worker's metrics endpoint next to the SDK's: last success per policy, bytes
backed up, run durations by kind and outcome.
"""

from __future__ import annotations

from temporalio import activity

from syncoxide.models import Run, RunKind, RunStatus


def record_run(run: Run) -> None:
    meter = activity.metric_meter()
    labels = {"kind": run.kind.value, "status": run.status.value}
    if run.finished_at is not None:
        seconds = (run.finished_at - run.started_at).total_seconds()
        meter.create_histogram_float("syncoxide_run_duration_seconds", "How long runs took", "s").record(
            seconds, labels
        )
    meter.create_counter("syncoxide_runs", "Finished runs").add(1, labels)
    if run.kind != RunKind.backup or run.status != RunStatus.succeeded:
        return
    who = {"policy": run.policy_id or "", "repository": run.repository_id or ""}
    meter.create_counter("syncoxide_backup_bytes", "Bytes read by successful backups", "By").add(run.bytes or 0, who)
    meter.create_counter("syncoxide_backup_added_bytes", "New data stored by backups", "By").add(
        run.added_bytes or 0, who
    )
    if run.policy_id and run.finished_at is not None:
        meter.create_gauge_float(
            "syncoxide_last_success_timestamp_seconds", "When each policy last backed up successfully", "s"
        ).set(run.finished_at.timestamp(), {"policy": run.policy_id})
