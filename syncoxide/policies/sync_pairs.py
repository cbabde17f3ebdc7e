"""The `sync:` section of policy files: each pair is a SyncWorkflow, started, restarted and stopped the way
`syncoxide sync start|stop` does it (syncoxide/orchestration/sync_client.py): continuous (`every` or `cron`),
or one pass (neither).

A pair carries the hash of the spec it was applied from (in `sync_pairs`); a changed spec, or a
continuous pair whose workflow is not running, is restarted: the running pass is cancelled (it stops
between chunks, its checkpoints kept), then the workflow starts again from the file. A one-pass pair runs
when it is new or changed, not again on every apply. New sides or a new mode make it a new pair under
the old name (its state starts afresh). A bisync pair without a baseline needs `resync: true`; the
workflow's first pass then makes the baseline and later passes are two-way.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from syncoxide.config import Settings
from syncoxide.orchestration import sync_client
from syncoxide.policies.loader import Desired, PolicyErrors
from syncoxide.secrets.in_locations import redacted
from syncoxide.store import sync as store
from syncoxide.sync.models import Mode, SyncRequest


def _sides(request: SyncRequest) -> tuple[str, dict, dict]:
    return request.mode.value, request.source.model_dump(mode="json"), request.destination.model_dump(mode="json")


def _stored_sides(row: dict[str, Any]) -> tuple[str, dict, dict]:
    return row["mode"], row["source"], row["destination"]


def _with_resync(request: SyncRequest, resync: bool) -> SyncRequest:
    return request.model_copy(update={"options": request.options.model_copy(update={"resync": resync})})


def document(desired: Desired, name: str) -> dict[str, Any]:
    """What makes a pair's workflow: resync is left out (it only matters while there is no baseline)."""
    pair = desired.sync[name]
    request = _with_resync(desired.sync_requests[name], False)
    when = {"cron": pair.cron, "time_zone": pair.time_zone} if pair.cron else {}  # (a hash as before without)
    return {"request": request.model_dump(mode="json"), "every": pair.every, **when, "paused": pair.paused}


def _describe(desired: Desired, name: str) -> str:
    pair, request = desired.sync[name], desired.sync_requests[name]
    text = (
        f"{request.mode.value} {request.source.location} -> {request.destination.location} {pair.cadence().describe()}"
    )
    return text + (", paused" if pair.paused else "")


async def plan(desired: Desired, conn: Any, client: Client, digests: dict[str, str]) -> list[tuple[str, str, str]]:
    """(name, action, detail) per pair, given each pair's spec hash; PolicyErrors (nothing is applied) for
    pairs that cannot be applied."""
    declared = store.declared_pairs(conn)
    problems: list[str] = []
    found: list[tuple[str, str, str]] = []
    for name in sorted(desired.sync_requests):
        pair, request, where = desired.sync[name], desired.sync_requests[name], desired.origin[("sync", name)]
        stored = store.get_pair(conn, name)
        same_sides = stored is not None and _stored_sides(stored) == _sides(request)
        if stored is not None and stored["spec_hash"] is None and not same_sides:
            source, destination = (redacted(stored[side].get("location")) for side in ("source", "destination"))
            problems.append(
                f"{where} sync.{name}: a pair named {name} already exists ({stored['mode']} from "
                f"{source} to {destination}, made with `syncoxide sync`); give this one another name"
            )
            continue
        if (
            request.mode is Mode.bisync
            and not pair.resync
            and not (same_sides and stored is not None and stored["baseline_at"])
        ):
            problems.append(
                f"{where} sync.{name}.resync: bisync pair {name} has no baseline yet: set resync: true "
                "for its first run (copies what is missing on each side, deletes nothing)"
            )
            continue
        detail = _describe(desired, name)
        if name not in declared:
            found.append((name, "create", detail))
        elif (
            declared[name]["spec_hash"] != digests[name]
            or not same_sides
            or (pair.cadence().continuous and not await sync_client.is_running(client, sync_client.workflow_id(name)))
        ):
            found.append((name, "update", detail + ("" if same_sides else "; new sides: its state starts afresh")))
        else:
            found.append((name, "unchanged", ""))
    if problems:
        raise PolicyErrors(problems)
    found += [
        (name, "remove", "its workflow is stopped; its state and runs stay")
        for name in sorted(set(declared) - set(desired.sync_requests))
    ]
    return found


async def _stop_if_running(client: Client, name: str) -> None:
    wid = sync_client.workflow_id(name)
    if await sync_client.is_running(client, wid):
        await sync_client.stop(client, wid)


async def remove(conn: Any, client: Client, name: str) -> None:
    await _stop_if_running(client, name)
    store.undeclare_pair(conn, name)


async def put(settings: Settings, desired: Desired, conn: Any, client: Client, name: str, digest: str) -> None:
    """Create or update a pair: stop its workflow if it runs, record the spec, start the workflow anew."""
    await _stop_if_running(client, name)
    pair, request = desired.sync[name], desired.sync_requests[name]
    mode, source, destination = _sides(request)
    store.declare_pair(conn, name, mode, source, destination, spec_hash=digest, origin=desired.origin[("sync", name)])
    resync = request.mode is Mode.bisync and pair.resync and store.baseline_at(conn, name) is None
    await sync_client.start(client, settings, _with_resync(request, resync), pair.cadence(), paused=pair.paused)
