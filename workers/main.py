"""The syncoxide worker: workflows + bookkeeping on the main queue, engine activities on <queue>-engine."""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities.catalog import CatalogActivities
from activities.engine import EngineActivities
from activities.hooks_and_alerts import HooksAndAlertsActivities
from activities.runs import RunActivities
from activities.sync import SyncActivities
from syncoxide.catalog.scan import WARM_UP_MODULES
from syncoxide.config import Settings
from syncoxide.contract import temporal as contract
from syncoxide.contract.temporal import spec_of
from syncoxide.fs.modes import go_private
from syncoxide.orchestration import client as temporal_client
from syncoxide.store import open_store
from workers.catalog_service import CatalogService
from workers.scan_service import ScanService
from workers.sealed_input import RequireSealedInput
from workflows.backup import BackupWorkflow
from workflows.catalog import CatalogIngestWorkflow, CatalogScanWorkflow, CleanupWorkflow
from workflows.health import HealthWorkflow
from workflows.maintenance import MaintenanceWorkflow
from workflows.restore import RestoreWorkflow
from workflows.sync import SyncWorkflow

WORKFLOWS = [
    BackupWorkflow,
    RestoreWorkflow,
    MaintenanceWorkflow,
    HealthWorkflow,
    CatalogIngestWorkflow,
    CatalogScanWorkflow,
    CleanupWorkflow,
    SyncWorkflow,
]
BOOKKEEPING_CONCURRENCY = 8
GRACEFUL_SHUTDOWN = timedelta(seconds=20)
PROGRESS_HEARTBEAT_EVERY = timedelta(seconds=2)  # the SDK would otherwise hold heartbeats for 0.8 x timeout
log = logging.getLogger("syncoxide.worker")


def activities_on(queue: contract.Queue, implementations: list[Callable[..., Any]]) -> list[Callable[..., Any]]:
    return [a for a in implementations if spec_of(a).queue is queue]


def implementations(settings: Settings) -> list[Callable[..., Any]]:
    """Every activity of the contract, bound to this worker's settings."""
    runs = RunActivities(settings)
    engine = EngineActivities(settings)
    alerts = HooksAndAlertsActivities(settings)
    catalog = CatalogActivities(settings)
    sync = SyncActivities(settings)
    return [
        runs.start_run,
        runs.finish_run,
        runs.get_repository,
        alerts.notify_run,
        alerts.notify_late,
        engine.backup,
        engine.restore,
        engine.retention,
        engine.check,
        alerts.run_hooks,
        catalog.catalog_ingest,
        catalog.catalog_scan,
        catalog.cleanup,
        sync.sync_run,
    ]


def build_workers(client: Client, settings: Settings, executor: ThreadPoolExecutor) -> list[Worker]:
    activities = implementations(settings)
    return [
        Worker(
            client,
            task_queue=contract.Queue.main.on(settings.task_queue),
            workflows=WORKFLOWS,
            interceptors=[RequireSealedInput()],
            activities=activities_on(contract.Queue.main, activities),
            activity_executor=executor,
            max_concurrent_activities=BOOKKEEPING_CONCURRENCY,
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        ),
        Worker(
            client,
            task_queue=contract.Queue.engine.on(settings.task_queue),
            activities=activities_on(contract.Queue.engine, activities),
            activity_executor=executor,
            max_concurrent_activities=settings.max_concurrent_engine_activities,
            max_heartbeat_throttle_interval=PROGRESS_HEARTBEAT_EVERY,
            default_heartbeat_throttle_interval=PROGRESS_HEARTBEAT_EVERY,
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        ),
    ]


def runtime_for(settings: Settings) -> Runtime | None:
    """A runtime serving Prometheus metrics at settings.metrics_address (None: the default runtime)."""
    if not settings.metrics_address:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.metrics_address)))


def executor_for(settings: Settings) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=BOOKKEEPING_CONCURRENCY + settings.max_concurrent_engine_activities,
        thread_name_prefix="syncoxide-activity",
    )


async def run_until(settings: Settings, stop: asyncio.Event, ready_file: Path | None = None) -> None:
    """Run the workers until ``stop`` is set, then shut down gracefully."""
    client = await temporal_client.connect(settings, runtime_for(settings), worker=True)
    service = CatalogService(settings, ScanService(settings, client, asyncio.get_running_loop()))
    with executor_for(settings) as executor:
        workers = build_workers(client, settings, executor)
        running = [asyncio.ensure_future(w.run()) for w in workers]
        service.start()
        log.info(
            "worker ready on task queues %s, %s; catalog searches and scans on %s",
            settings.task_queue,
            settings.engine_task_queue,
            service.path,
        )
        if ready_file is not None:
            ready_file.touch()
        stopped = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([stopped, *running], return_when=asyncio.FIRST_COMPLETED)
        log.info("worker shutting down")
        service.stop()
        await asyncio.gather(*(w.shutdown() for w in workers))
        await asyncio.gather(*running, return_exceptions=True)
        stopped.cancel()
        for task in done:
            if task is not stopped and (failure := task.exception()):
                raise failure


def main(settings: Settings, ready_file: Path | None = None) -> None:
    """Entry point of `syncoxide worker`: SIGTERM or SIGINT shuts down gracefully."""
    go_private(settings.home)  # whoever launched it, what the worker writes is private
    with open_store(settings):
        pass
    for module in WARM_UP_MODULES:  # so the first catalog activity does not pay for these imports
        importlib.import_module(module)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_until(settings, stop, ready_file)

    asyncio.run(serve())
