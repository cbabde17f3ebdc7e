"""Plan and apply policy files like infrastructure as code: compare, show, then make it so.

Applying the same files twice changes nothing: every repository, policy and sync pair carries the
hash of the spec it was applied from, and a schedule (or a sync pair's workflow) is only written
when its spec changed or it is missing from Temporal. Removals (a policy or sync pair no longer in
the files) happen only with `yes`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from syncoxide.backups import operations
from syncoxide.config import Settings
from syncoxide.contract.payloads import BackupRequest, MaintenanceRequest
from syncoxide.errors import InvalidInput
from syncoxide.models import DatabaseSource, Hooks, Notify, Repository, parse_duration
from syncoxide.orchestration import client as temporal
from syncoxide.orchestration import schedules
from syncoxide.policies import sync_pairs
from syncoxide.policies.loader import Desired
from syncoxide.policies.schema import PolicySpec, RepositorySpec, backup_options, secret
from syncoxide.store import open_store, policies, repositories


@dataclass
class Change:
    kind: str  # repository, policy, check, sync
    name: str
    action: str  # create, update, remove, unchanged
    detail: str = ""


def spec_hash(document: dict) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def _repository_doc(spec: RepositorySpec) -> dict:
    return spec.model_dump(mode="json")


def _policy_doc(desired: Desired, name: str) -> dict:
    policy = desired.policies[name]
    return {
        "policy": policy.model_dump(mode="json"),
        "source": desired.sources[policy.source].model_dump(mode="json"),
    }


def _check_ids(name: str, spec: RepositorySpec) -> dict[str, str]:
    wanted = {}
    for level, cadence in (("metadata", spec.metadata_check), ("data", spec.data_check)):
        if cadence is not None:
            wanted[schedules.check_schedule_id(name, level)] = level
    return wanted


async def plan(settings: Settings, desired: Desired) -> list[Change]:
    with open_store(settings) as conn:
        known = {r.name: r for r in repositories.list_all(conn)}
        repo_hashes = repositories.spec_hashes(conn)
        stored = policies.active(conn)
        client = await temporal.connect(settings)
        pairs = await sync_pairs.plan(desired, conn, client, _sync_digests(desired))
    scheduled = await schedules.managed_ids(client)
    changes: list[Change] = []
    wanted_checks: set[str] = set()
    for name, spec in sorted(desired.repositories.items()):
        location = operations.normalize_location(spec.engine, spec.location)
        checks = _check_ids(name, spec)
        wanted_checks |= set(checks)
        if name not in known:
            exists = Path(location).exists() and any(Path(location).iterdir()) if "://" not in location else True
            changes.append(Change("repository", name, "create", "register existing" if exists else "init"))
        else:
            current = known[name]
            if current.engine != spec.engine or current.location != location:
                raise InvalidInput(
                    f"{desired.origin[('repositories', name)]} repositories.{name}: registered as {current.engine}"
                    f" at {current.location}; a repository cannot move (declare a new one)"
                )
            same = repo_hashes.get(name) == spec_hash(_repository_doc(spec)) and set(checks) <= scheduled
            changes.append(Change("repository", name, "unchanged" if same else "update"))
    for schedule_id in sorted(i for i in scheduled if i.startswith(schedules.CHECK_PREFIX) and i not in wanted_checks):
        changes.append(Change("check", schedule_id, "remove"))
    for name in sorted(desired.policies):
        digest = spec_hash(_policy_doc(desired, name))
        schedule_id = schedules.policy_schedule_id(name)
        if name not in stored:
            changes.append(Change("policy", name, "create", _describe_schedule(desired.policies[name])))
        elif stored[name].spec_hash != digest or schedule_id not in scheduled:
            changes.append(Change("policy", name, "update", _describe_schedule(desired.policies[name])))
        else:
            changes.append(Change("policy", name, "unchanged"))
    for name in sorted(set(stored) - set(desired.policies)):
        changes.append(Change("policy", name, "remove", "its schedule is deleted; its history stays"))
    return changes + [Change("sync", name, action, detail) for name, action, detail in pairs]


def _sync_digests(desired: Desired) -> dict[str, str]:
    return {name: spec_hash(sync_pairs.document(desired, name)) for name in desired.sync_requests}


def _describe_schedule(policy: PolicySpec) -> str:
    when = f"cron {policy.schedule.cron}" if policy.schedule.cron else f"every {policy.schedule.every}"
    return f"{when} ({policy.schedule.time_zone}) -> {policy.repository}" + (", paused" if policy.paused else "")


async def apply(settings: Settings, desired: Desired, changes: list[Change], *, yes: bool) -> list[Change]:
    """Carry out a plan made from the same files; returns what was done."""
    pending = [c for c in changes if c.action != "unchanged"]
    if any(c.action == "remove" for c in pending) and not yes:
        raise InvalidInput(
            "the plan removes schedules or sync pairs: review it with `policy plan`, then run apply with --yes"
        )
    client = await temporal.connect(settings)
    scheduled = await schedules.managed_ids(client)
    if desired.policies:
        await schedules.ensure_health_schedule(client, settings)
    with open_store(settings) as conn:
        for change in (c for c in pending if c.kind == "repository"):
            spec = desired.repositories[change.name]
            repository = _ensure_repository(settings, conn, change, spec)
            repositories.apply_spec(
                conn,
                repository.id,
                passphrase=secret(spec.passphrase),
                retention=spec.retention,
                spec_hash=spec_hash(_repository_doc(spec)),
            )
            await _put_checks(client, settings, repository, spec, scheduled)
        for change in (c for c in pending if c.kind == "check"):
            await schedules.delete(client, change.name)
        known = {r.name: r for r in repositories.list_all(conn)}
        for change in (c for c in pending if c.kind == "policy"):
            schedule_id = schedules.policy_schedule_id(change.name)
            if change.action == "remove":
                await schedules.delete(client, schedule_id)
                policies.remove(conn, change.name)
                continue
            policy = desired.policies[change.name]
            repository = known[policy.repository]
            document = _policy_doc(desired, change.name)
            digest = spec_hash(document)
            schedule = schedules.backup_schedule(
                settings,
                change.name,
                _backup_request(desired, change.name, repository),
                repository,
                schedules.Timing(**policy.schedule.model_dump()),
                overlap=policy.overlap,
                catchup_window=policy.catchup_window,
                pause_on_failure=policy.pause_on_failure,
                paused=policy.paused,
            )
            await schedules.put(client, schedule_id, schedule, exists=schedule_id in scheduled)
            policies.upsert(
                conn,
                name=change.name,
                repository_id=repository.id,
                spec=document,
                spec_hash=digest,
                origin=desired.origin[("policies", change.name)],
            )
        digests = _sync_digests(desired)
        for change in (c for c in pending if c.kind == "sync"):
            if change.action == "remove":
                await sync_pairs.remove(conn, client, change.name)
            else:
                await sync_pairs.put(settings, desired, conn, client, change.name, digests[change.name])
    return pending


def _ensure_repository(settings: Settings, conn, change: Change, spec: RepositorySpec) -> Repository:
    location = operations.normalize_location(spec.engine, spec.location)
    if change.action != "create":
        return repositories.find(conn, change.name)
    passphrase = secret(spec.passphrase)
    if change.detail == "init":
        operations.init_repository(settings, spec.engine, location, passphrase, spec.encryption)
    else:
        operations.open_location(settings, spec.engine, location, passphrase).snapshots()
    return repositories.add(conn, name=change.name, engine=spec.engine, location=location, passphrase=passphrase)


async def _put_checks(client, settings: Settings, repository: Repository, spec: RepositorySpec, scheduled) -> None:
    for level, cadence in (("metadata", spec.metadata_check), ("data", spec.data_check)):
        schedule_id = schedules.check_schedule_id(repository.name, level)
        if cadence is None:
            if schedule_id in scheduled:
                await schedules.delete(client, schedule_id)
            continue
        request = MaintenanceRequest(
            repository_id=repository.id, apply_retention=False, check=level, subset_percent=cadence.subset
        )
        schedule = schedules.check_schedule(settings, repository, request, cadence.every)
        await schedules.put(client, schedule_id, schedule, exists=schedule_id in scheduled)


def _backup_request(desired: Desired, name: str, repository: Repository) -> BackupRequest:
    policy = desired.policies[name]
    source = desired.sources[policy.source]
    database = None
    if source.database:
        assert source.database_url is not None  # SourceSpec refuses the one without the other
        database = DatabaseSource(dbname=source.database, url=secret(source.database_url))
    hooks = None
    if policy.hooks:
        hooks = Hooks(
            before=policy.hooks.before,
            after=policy.hooks.after,
            on_failure=policy.hooks.on_failure,
            timeout_s=parse_duration(policy.hooks.timeout).total_seconds(),
        )
    notify = Notify(urls=policy.notify.urls, events=list(policy.notify.events)) if policy.notify else None
    return BackupRequest(
        repository_id=repository.id,
        sources=source.paths,
        options=backup_options(source, policy),
        database=database,
        policy_id=name,
        retention=policy.retention,
        hooks=hooks,
        notify=notify,
    )


def as_rows(changes: list[Change]) -> list[dict]:
    return [asdict(c) for c in changes]
