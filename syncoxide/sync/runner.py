"""One sync run, start to finish: lock the pair, reconcile the journal, list, plan, guard, journal, execute,
record the new state.

    result = run_sync(settings, SyncRequest(source=..., destination=..., mode=Mode.sync))

The pair's advisory lock (PostgreSQL) keeps two runs of one pair apart. Unfinished actions of an
interrupted run are taken over: a transfer with a checkpoint resumes from it (same path, same
source size and mtime), what an abandoned transfer left is cleaned up, and everything else is
re-planned from what both sides hold now, so nothing done is done twice.

The pair, its lock, its runs, its state and the journal are kept in a ``StateStore``
(``syncoxide.sync.state_store``): PostgreSQL's unless the caller gives another.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from syncoxide.config import Settings
from syncoxide.providers import open_provider, paths
from syncoxide.providers.base import Entry, Provider
from syncoxide.providers.roots import open_root
from syncoxide.store import open_store
from syncoxide.store.sync import PgStateStore
from syncoxide.sync.backup_dir import BackupDir, prune, run_folder
from syncoxide.sync.bisync import OTHER, Sides, plan_bisync
from syncoxide.sync.errors import GuardTripped, Interrupted, NeedsResync, SyncBusy, SyncFailed
from syncoxide.sync.executor import Execution, Executor, LiveProgress, ProviderPool
from syncoxide.sync.filters import FileFilter
from syncoxide.sync.journal import Journal
from syncoxide.sync.listing import Listing, list_side, unify_forms
from syncoxide.sync.models import ActionKind, Mode, Plan, Side, SyncRequest, SyncResult
from syncoxide.sync.planner import check_empty, check_guard, plan_one_way, skip_specials
from syncoxide.sync.state import FileState
from syncoxide.sync.state_store import StateStore
from syncoxide.sync.transfer import abort_stale


def pair_id(request: SyncRequest) -> str:
    if request.pair:
        return request.pair
    spec = json.dumps(
        [request.mode.value, request.source.model_dump(mode="json"), request.destination.model_dump(mode="json")],
        sort_keys=True,
    )
    return f"{request.mode.value}-{hashlib.sha256(spec.encode()).hexdigest()[:16]}"


def new_run_id() -> str:
    return f"sync-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


class SyncPass:
    def __init__(
        self,
        settings: Settings,
        request: SyncRequest,
        run_id: str | None,
        check: Callable[[], None] | None,
        status: LiveProgress | None,
        store: StateStore | None = None,
    ):
        self.settings = settings
        self.store = store
        self.request = request
        self.options = request.options
        self.pair = pair_id(request)
        self.run_id = run_id or new_run_id()
        self.check = check or (lambda: None)
        self.status = status or LiveProgress()
        self.now = datetime.now(UTC)
        self.resumes = 0

    def _open(self, side: Side) -> Provider:
        if side is Side.path1:
            return open_provider(self.options.side(self.request.source), self.settings)
        destination = self.options.side(self.request.destination)
        if self.request.mode is Mode.bisync and not self.options.resync:
            return open_provider(destination, self.settings)  # a side gone missing is not made anew
        return open_root(destination, self.settings, create=not self.options.dry_run)

    def execute(self) -> SyncResult:
        started = time.monotonic()
        self.request.check_apart()
        if self.store is not None:
            return self._stored(self.store, started)
        with open_store(self.settings) as conn:
            return self._stored(PgStateStore(conn), started)

    def _stored(self, store: StateStore, started: float) -> SyncResult:
        store.ensure_pair(
            self.pair,
            self.request.mode.value,
            self.request.source.model_dump(mode="json"),
            self.request.destination.model_dump(mode="json"),
        )
        if not store.try_lock(self.pair):
            raise SyncBusy(f"another run of sync pair {self.pair} is in progress")
        try:
            return self._locked(store, started)
        finally:
            store.unlock(self.pair)

    def _locked(self, store: StateStore, started: float) -> SyncResult:
        mode = self.request.mode
        if mode is Mode.bisync and not self.options.resync and not store.has_baseline(self.pair):
            raise NeedsResync(
                f"bisync pair {self.pair} has no baseline yet: run it once with --resync "
                "(copies what is missing on each side, deletes nothing)"
            )
        self.resumes = store.start_run(self.run_id, self.pair, mode.value, self.options.dry_run)
        pools: dict[Side, ProviderPool] = {}
        try:
            main = {side: self._open(side) for side in Side}
            pools = {side: ProviderPool(main[side], functools.partial(self._open, side)) for side in Side}
            result = self._run(store, main, pools, started)
        except GuardTripped:
            raise  # recorded as aborted where it tripped
        except BaseException as exc:
            stopped = isinstance(exc, Interrupted) or not isinstance(exc, Exception)
            store.finish_run(self.run_id, "interrupted" if stopped else "failed", {}, str(exc) or type(exc).__name__)
            raise
        finally:
            for pool in pools.values():
                pool.close()
                pool.main.close()
        return result

    def _run(
        self, store: StateStore, main: dict[Side, Provider], pools: dict[Side, ProviderPool], started: float
    ) -> SyncResult:
        mode, options = self.request.mode, self.options
        file_filter = FileFilter(options.filters, self.now, options.backup_dir)
        self.status.phase = "listing"
        listings = {side: list_side(main[side], file_filter, self.check) for side in Side}
        forms = unify_forms(listings[Side.path1], listings[Side.path2])
        state = store.load_state(self.pair)
        self.check()
        self.status.phase = "planning"
        sides = Sides(providers=main, listings=listings)
        if mode is Mode.bisync:
            resync = options.resync or not store.has_baseline(self.pair)
            plan = plan_bisync(self.pair, sides, state, options=options, now=self.now, resync=resync)
            same: dict[str, Entry] = {}
            had = {side: 0 if resync else len(state.files) for side in Side}  # what each side held at the baseline
        else:
            plan, same = plan_one_way(
                mode,
                self.pair,
                main[Side.path1],
                main[Side.path2],
                listings[Side.path1],
                listings[Side.path2],
                state.files,
                checksum=options.checksum,
            )
            had = {side: len(listings[side].files) for side in Side}
        skip_specials(plan, listings)
        plan.conflicts += forms.notes()
        result = SyncResult(
            run_id=self.run_id, pair=self.pair, mode=mode, dry_run=options.dry_run, plan=plan, resumes=self.resumes
        )
        try:
            check_empty(plan, {s: len(listings[s].files) for s in Side}, had, options.max_delete)
            check_guard(plan, options.max_delete, had)
        except Exception as exc:
            store.finish_run(self.run_id, "aborted", plan.summary(), str(exc))
            raise
        if options.dry_run:
            store.finish_run(self.run_id, "succeeded", plan.summary())
            result.seconds = time.monotonic() - started
            return result
        resume, result.reconciled = self._reconcile(store, plan, main)
        journal = Journal(store, self.run_id)
        self.check()
        backups = BackupDir(run_folder(options.backup_dir, self.now)) if options.backup_dir else None
        outcome = Executor(plan, sides, pools, journal, options, resume, self.check, self.status, backups, forms).run()
        self.status.phase = "recording"
        self._record_state(store, plan, sides, state.files, same, outcome)
        self._summarise(result, plan, outcome)
        if options.backup_dir and options.backup_keep_s:
            self.status.phase = "pruning"
            older_than = self.now - timedelta(seconds=options.backup_keep_s)
            changed = list(Side) if mode is Mode.bisync else [Side.path2]
            result.backups_pruned = sum(prune(main[side], options.backup_dir, older_than) for side in changed)
        result.seconds = time.monotonic() - started
        status = "failed" if outcome.failed else "succeeded"
        store.finish_run(
            self.run_id,
            status,
            {**plan.summary(), "failed": result.failed, "bytes": result.transferred_bytes},
            result.errors[0] if result.errors else None,
        )
        self.status.phase = "done"
        return result

    def _reconcile(self, store: StateStore, plan: Plan, main: dict[Side, Provider]) -> tuple[dict[int, dict], int]:
        """Carry checkpoints of unfinished transfers into the new plan; clean up the ones not needed."""
        earlier = store.open_actions(self.pair)
        progress_by_target: dict[tuple[str, str], dict] = {}
        for row in earlier:
            action, progress = row["action"], row["progress"]
            if progress:
                progress_by_target[(action.get("side", "path2"), action.get("target") or action["path"])] = progress
        resume: dict[int, dict] = {}
        for seq, action in enumerate(plan.actions):
            if action.kind in (ActionKind.copy, ActionKind.update):
                key = (action.side.value, action.target or action.path)
                if key in progress_by_target:
                    resume[seq] = progress_by_target.pop(key)
        for (side, target), progress in progress_by_target.items():
            abort_stale(main[Side(side)], target, progress)
        store.write_plan(
            self.run_id,
            self.pair,
            ((seq, a.model_dump(mode="json"), resume.get(seq, {})) for seq, a in enumerate(plan.actions)),
        )
        return resume, len(earlier)

    def _record_state(
        self,
        store: StateStore,
        plan: Plan,
        sides: Sides,
        old: Mapping[str, FileState],
        same: dict[str, Entry],
        outcome: Execution,
    ) -> None:
        mode = self.request.mode
        if mode is Mode.move:
            store.save_state(self.pair, [])
            return
        files = {side: dict(sides.listings[side].files) for side in Side}
        md5: dict[tuple[Side, str], str | None] = dict(sides.md5)
        touched: set[str] = set()
        failed_paths: set[str] = set()
        wrote: set[Side] = set()
        for seq, action in enumerate(plan.actions):
            target = action.target or action.path
            if seq in outcome.failed:
                failed_paths.update((action.path, target))
                continue
            if seq not in outcome.results:
                continue  # not run (deletions skipped after errors)
            result = outcome.results[seq]
            side = action.side
            if action.kind in (ActionKind.copy, ActionKind.update) and result is not None:
                files[side][target] = result.entry
                md5[(side, target)] = result.md5
                if result.md5 and target == action.path:  # verified: the source holds the same bytes
                    md5.setdefault((OTHER[side], target), result.md5)
                wrote.add(side)
            elif action.kind is ActionKind.rename:
                moved = files[side].pop(action.path, None)
                if moved is not None:
                    files[side][target] = Entry(path=target, size=moved.size, mtime=moved.mtime, hashes=moved.hashes)
                    wrote.add(side)
            elif action.kind is ActionKind.delete:
                files[side].pop(action.path, None)
            touched.update((action.path, target))
        for side in wrote:
            provider = sides.providers[side]
            if not provider.capabilities.listed_mtime:  # the listing shows upload times: take them from it
                relisted = {e.path: e for e in provider.list() if not e.is_dir}
                files[side] = {p: relisted.get(p, e) for p, e in files[side].items()}
        known: list[FileState] = []
        for path in sorted(set(files[Side.path1]) | set(old)):
            if path in failed_paths:
                if path in old:
                    known.append(old[path])
                continue
            e1, e2 = files[Side.path1].get(path), files[Side.path2].get(path)
            if e1 is None or e2 is None or e1.size != e2.size:
                continue
            if mode is not Mode.bisync and path not in touched and path not in same:
                continue
            agreed = FileState.of(e1, e2, md5.get((Side.path1, path)), md5.get((Side.path2, path)))
            known.append(agreed.keeping_md5(old.get(path)))
        baseline = mode is Mode.bisync and not outcome.failed
        dirs = self._dirs_after(plan, sides, outcome, files) if mode is Mode.bisync else set()
        if not baseline and len(known) == len(old) and all(old.get(file.path) == file for file in known):
            return  # a no-change run: rewriting 10,000 identical rows took a fifth of it
        store.save_state(self.pair, known, baseline=baseline, dirs=sorted(dirs))

    @staticmethod
    def _dirs_after(plan: Plan, sides: Sides, outcome: Execution, files: dict[Side, dict[str, Entry]]) -> set[str]:
        """The directories both sides hold after the run (those a failed action may have left out are not)."""
        held = {side: set(sides.listings[side].dirs) for side in Side}
        stuck = set()  # a removal that failed stays in the baseline, so the folder is not made anew elsewhere
        for seq, action in enumerate(plan.actions):
            if action.kind is ActionKind.rmdir and seq in outcome.failed:
                stuck.add(action.path)
            if seq not in outcome.results:
                continue
            if action.kind is ActionKind.mkdir:
                held[action.side].add(action.path)
            elif action.kind is ActionKind.rmdir:
                held[action.side].discard(action.path)
        for side in Side:
            held[side].difference_update(files[side])
            held[side].update(a for path in files[side] for a in paths.ancestors(path))
        return (held[Side.path1] & held[Side.path2]) | stuck

    @staticmethod
    def _summarise(result: SyncResult, plan: Plan, outcome: Execution) -> None:
        result.done = len(outcome.results)
        result.failed = len(outcome.failed)
        for seq, transfer in outcome.results.items():
            kind = plan.actions[seq].kind
            if transfer is not None:
                result.transferred_files += 1
                result.transferred_bytes += transfer.sent
            if kind in (ActionKind.delete, ActionKind.delete_source):
                result.deleted += 1
        result.backed_up = len(outcome.backed_up)
        result.resumed_bytes = outcome.resumed_bytes
        result.errors = [f"{plan.actions[seq].path}: {error}" for seq, error in sorted(outcome.failed.items())]
        result.warnings = list(outcome.warnings)


def run_sync(
    settings: Settings,
    request: SyncRequest,
    *,
    run_id: str | None = None,
    check: Callable[[], None] | None = None,
    status: LiveProgress | None = None,
    store: StateStore | None = None,
) -> SyncResult:
    """Run once; per-file failures are in ``result.errors`` (see ``raise_for_errors``). ``store``: where the pair's
    state, runs and journal are kept (PostgreSQL's, from ``settings``, by default)."""
    return SyncPass(settings, request, run_id, check, status, store).execute()


def raise_for_errors(result: SyncResult) -> None:
    if result.errors:
        more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
        raise SyncFailed(f"{result.failed} of {len(result.plan.actions)} actions failed: {result.errors[0]}{more}")


__all__ = ["Listing", "pair_id", "raise_for_errors", "run_sync"]
