"""Carry out a plan: directories, renames, then verified transfers with bounded concurrency, then deletions.

Each worker thread has its own connection where a provider declares ``connection_per_thread`` (SFTP), and
so has each of the run's part threads, which carry the chunks of large files. A path's actions run in order
in one task (move: copy, verify, then delete the source). In sync mode nothing is deleted if any transfer
failed.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from syncoxide.contract.payloads import Progress
from syncoxide.errors import VerificationFailed
from syncoxide.providers import paths
from syncoxide.providers.base import Entry, Provider, default_mode
from syncoxide.providers.errors import ObjectNotFound, ProviderError
from syncoxide.sync.backup_dir import BackupDir
from syncoxide.sync.bisync import OTHER, Sides
from syncoxide.sync.compare import same_content
from syncoxide.sync.errors import Interrupted
from syncoxide.sync.journal import Journal
from syncoxide.sync.listing import Forms
from syncoxide.sync.models import Action, ActionKind, Mode, Plan, Side, SyncOptions
from syncoxide.sync.parts import PART_CONCURRENCY
from syncoxide.sync.throttle import Limiter
from syncoxide.sync.transfer import TransferContext, TransferResult, source_mtime, transfer


class ProviderPool:
    """One provider per thread where the provider's connection carries one caller at a time."""

    def __init__(self, main: Provider, opener: Callable[[], Provider]):
        self.main = main
        self._opener = opener
        self._local = threading.local()
        self._opened: list[Provider] = []
        self._lock = threading.Lock()

    def get(self) -> Provider:
        if not self.main.capabilities.connection_per_thread or threading.current_thread() is threading.main_thread():
            return self.main
        provider = getattr(self._local, "provider", None)
        if provider is None:
            provider = self._opener()
            self._local.provider = provider
            with self._lock:
                self._opened.append(provider)
        return provider

    def close(self) -> None:
        for provider in self._opened:
            provider.close()
        self._opened.clear()


@dataclass
class LiveProgress:
    """Live progress, read by heartbeats and the status query."""

    phase: str = "planning"
    actions_total: int = 0
    actions_done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    current: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def progress(self) -> Progress:
        """What a heartbeat carries: actions count as files (a deletion or a folder made is one too)."""
        with self.lock:
            in_flight = sorted(self.current)[:10]
            return Progress(
                phase=self.phase,
                files_done=self.actions_done,
                files_total=self.actions_total or None,
                bytes_done=self.bytes_done,
                bytes_total=self.bytes_total or None,
                current_path=in_flight[0] if in_flight else None,
                in_flight=in_flight,
            )


@dataclass
class Execution:
    results: dict[int, TransferResult | None] = field(default_factory=dict)
    """seq -> transfer result (None for actions that moved no data)"""
    backed_up: set[int] = field(default_factory=set)
    """deletions and replacements whose old file went to the backup folder"""
    failed: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    retryable: bool = True
    resumed_bytes: int = 0


class Executor:
    def __init__(
        self,
        plan: Plan,
        sides: Sides,
        pools: dict[Side, ProviderPool],
        journal: Journal,
        options: SyncOptions,
        resume: dict[int, dict[str, Any]],
        check: Callable[[], None],
        status: LiveProgress,
        backups: BackupDir | None = None,
        forms: Forms | None = None,
    ):
        self.plan = plan
        self.forms = forms
        self.backups = backups
        self.sides = sides
        self.pools = pools
        self.journal = journal
        self.options = options
        self.resume = resume
        self.check = check
        self.status = status
        self.limiter = Limiter(options.bwlimit)
        self.outcome = Execution()
        self._lock = threading.Lock()
        self._parts = ThreadPoolExecutor(PART_CONCURRENCY, thread_name_prefix="part")
        """shared by the large files of the run, so each part thread keeps its connection from file to file"""

    # -- bookkeeping ---------------------------------------------------------------------------------

    def _ok(self, seq: int, result: TransferResult | None = None) -> None:
        with self._lock:
            self.outcome.results[seq] = result
            if result is not None:
                self.outcome.resumed_bytes += result.resumed_from
        self.journal.done(seq)
        with self.status.lock:
            self.status.actions_done += 1

    def _fail(self, seq: int, action: Action, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        with self._lock:
            self.outcome.failed[seq] = message
            if not getattr(exc, "retryable", False):
                self.outcome.retryable = False
        self.journal.failed(seq, message)

    def _on_bytes(self, n: int) -> None:
        with self.status.lock:
            self.status.bytes_done += n

    # -- single actions ------------------------------------------------------------------------------

    def _source_entry(self, action: Action) -> Entry:
        entry = self.sides.entry(OTHER[action.side], action.path)
        if entry is None:
            raise ObjectNotFound(f"{action.path} is no longer listed on {OTHER[action.side].value}")
        real = self._real(OTHER[action.side], entry.path)  # a conflict copy planned under a folder's other form
        return entry if real == entry.path else dataclasses.replace(entry, path=real)

    def _transfer(self, seq: int, action: Action) -> None:
        src = self.pools[OTHER[action.side]].get()
        dst = self.pools[action.side].get()
        entry = self._source_entry(action)
        target = self._real(action.side, action.target or action.path)
        if action.reason == "check hash":  # checksum mode: send only if the content differs
            there = dst.stat(target)
            same, _ = same_content(src, entry, dst, there)
            if same:
                self._fix_mtime(src, entry, dst, target, there)
                self._ok(seq)
                return
        kept: list[bool] = []
        backups = self.backups

        def keep_old() -> None:  # a copy too: a destination file the filters hid would be replaced
            if backups is not None and not kept:
                kept.append(backups.keep(dst, target))

        ctx = TransferContext(
            limiter=self.limiter,
            check=self.check,
            on_bytes=self._on_bytes,
            checkpoint=lambda progress: self.journal.checkpoint(seq, progress),
            chunk_size=self.options.chunk_size,
            large_file=self.options.large_file,
            parts=self._parts,
            dst_here=self.pools[action.side].get,
            before_land=keep_old,
        )
        with self.status.lock:
            self.status.current.add(target)
        try:
            result = transfer(src, entry, dst, target, ctx, self.resume.get(seq))
        except BaseException:
            if backups is not None and any(kept):
                backups.put_back(dst, target)
            raise
        finally:
            with self.status.lock:
                self.status.current.discard(target)
        self._finish(src, entry, dst, target)
        self._backed_up(seq, any(kept))
        self._ok(seq, result)

    def _warn(self, text: str) -> None:
        with self._lock:
            self.outcome.warnings.append(text)

    def _finish(self, src: Provider, entry: Entry, dst: Provider, target: str) -> None:
        """What a landed file keeps besides its bytes and time: its permission bits (it landed private, so they
        are never wider than the source's), and with ``metadata`` its owner and extended attributes. Set-id
        and sticky bits only go with the owner. A filesystem that refuses them (FAT) leaves a warning."""
        owner = False
        if self.options.metadata and dst.capabilities.metadata:
            try:
                kept = src.read_metadata(entry.path)
                dst.write_metadata(target, kept)
                owner = "owner" in dst.capabilities.metadata and kept.uid is not None and os.geteuid() == 0
            except (ProviderError, OSError) as exc:
                self._warn(f"{target}: metadata not kept: {exc}")
        if dst.capabilities.modes:
            mode = entry.mode if entry.mode is not None else default_mode()
            try:
                dst.set_mode(target, mode & (0o7777 if owner else 0o777))
            except (ProviderError, OSError) as exc:
                self._warn(f"{target}: permission bits not kept: {exc}")

    def _directory_metadata(self) -> None:
        """``metadata`` in a one-way run: each source folder's time (and owner, attributes) on its copy, the
        deepest first, once everything in them is written."""
        src, dst = self.pools[Side.path1].get(), self.pools[Side.path2].get()
        for folder in sorted(self.sides.listings[Side.path1].dirs, key=lambda p: -p.count("/")):
            target = self._real(Side.path2, folder)
            try:
                entry = src.stat(folder)
                if dst.capabilities.metadata:
                    dst.write_metadata(target, src.read_metadata(folder))
                if dst.capabilities.set_mtime:
                    dst.set_mtime(target, entry.mtime)
            except ObjectNotFound:
                continue  # not made there (filtered, or a failed action)
            except (ProviderError, OSError) as exc:
                self._warn(f"{folder}/: folder metadata not kept: {exc}")

    def _backed_up(self, seq: int, kept: bool) -> None:
        if kept:
            with self._lock:
                self.outcome.backed_up.add(seq)

    @staticmethod
    def _fix_mtime(src: Provider, entry: Entry, dst: Provider, path: str, there: Entry) -> None:
        if dst.capabilities.set_mtime:
            wanted = source_mtime(src, entry)
            if abs(wanted.timestamp() - there.mtime.timestamp()) > dst.capabilities.mtime_precision:
                dst.set_mtime(path, wanted)

    def _delete_source(self, seq: int, action: Action, copied: bool) -> None:
        src = self.pools[Side.path1].get()
        dst = self.pools[Side.path2].get()
        entry = self._source_entry(Action(kind=action.kind, path=action.path, side=Side.path2))
        if not copied:
            there = dst.stat(self._real(Side.path2, action.path))
            same, _ = same_content(src, entry, dst, there)
            if not same:
                raise VerificationFailed(f"{dst.display}: {action.path} differs from the source: source kept")
        src.delete(action.path)
        self._ok(seq)

    def _real(self, side: Side, path: str) -> str:
        """The name ``path`` has on ``side`` (the plan uses path1's where the two differ only in Unicode form)."""
        return self.forms.real(side, path) if self.forms is not None else path

    def _run_one(self, seq: int, action: Action) -> None:
        provider = self.pools[action.side].get()
        kind = action.kind
        path = self._real(action.side, action.path)
        if kind is ActionKind.mkdir:
            provider.mkdir(path)
        elif kind is ActionKind.rename:
            provider.move(path, self._real(action.side, action.target or action.path))
        elif kind is ActionKind.delete and self.backups is not None:
            self._backed_up(seq, self.backups.keep(provider, path))
        elif kind is ActionKind.delete:
            provider.delete(path)
        elif kind is ActionKind.rmdir:
            provider.rmdir(path)
        elif kind is ActionKind.set_mtime:
            src = self.pools[OTHER[action.side]].get()
            entry = self._source_entry(action)
            provider.set_mtime(path, source_mtime(src, entry))
        elif kind is ActionKind.set_mode:
            entry = self._source_entry(action)
            provider.set_mode(path, (entry.mode or 0) & 0o777)
        else:
            raise ProviderError(f"unexpected action {kind.value}")
        self._ok(seq)

    def _task(self, items: list[tuple[int, Action]]) -> None:
        copied = False
        for seq, action in items:
            self.check()
            try:
                if action.kind in (ActionKind.copy, ActionKind.update):
                    self._transfer(seq, action)
                    copied = True
                elif action.kind is ActionKind.delete_source:
                    self._delete_source(seq, action, copied)
                else:
                    self._run_one(seq, action)
            except Interrupted:
                raise
            except Exception as exc:  # noqa: BLE001 - recorded per action; the run reports them all
                self._fail(seq, action, exc)
                return  # a move never deletes a source whose copy failed

    def _parallel(self, tasks: list[list[tuple[int, Action]]]) -> None:
        if not tasks:
            return
        if len(tasks) == 1 or self.options.transfers == 1:
            for task in tasks:
                self._task(task)
            return
        with ThreadPoolExecutor(max_workers=self.options.transfers, thread_name_prefix="sync") as pool:
            futures = [pool.submit(self._task, task) for task in tasks]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                if (failure := future.exception()) is not None:
                    for other in pending:
                        other.cancel()
                    raise failure

    # -- the whole plan --------------------------------------------------------------------------------

    def run(self) -> Execution:
        try:
            return self._run()
        finally:
            self._parts.shutdown(cancel_futures=True)
            self.journal.flush()

    def _run(self) -> Execution:
        indexed = list(enumerate(self.plan.actions))
        with self.status.lock:
            self.status.phase = "transferring"
            self.status.actions_total = len(indexed)
            self.status.bytes_total = self.plan.transfer_bytes
        for seq, action in indexed:
            if action.kind is ActionKind.rename:
                self._task([(seq, action)])
        early = clearing(self.plan.actions)
        self._deletions([(seq, a) for seq, a in indexed if seq in early])
        for seq, action in indexed:
            if action.kind is ActionKind.mkdir:
                self._task([(seq, action)])
        by_path: dict[str, list[tuple[int, Action]]] = {}
        for seq, action in indexed:
            if action.kind in (
                ActionKind.copy,
                ActionKind.update,
                ActionKind.delete_source,
                ActionKind.set_mtime,
                ActionKind.set_mode,
            ):
                by_path.setdefault(action.target or action.path, []).append((seq, action))
        tasks = sorted(by_path.values(), key=lambda t: -max(a.size for _, a in t))  # large files first
        self._parallel(tasks)
        if self.outcome.failed and self.plan.mode is Mode.sync:
            self.journal.flush()
            return self.outcome  # rclone's rule: no deletions after errors
        with self.status.lock:
            self.status.phase = "deleting"
        self._deletions([(seq, a) for seq, a in indexed if seq not in early])
        if self.options.metadata and self.plan.mode is not Mode.bisync:
            self._directory_metadata()
        self.journal.flush()
        return self.outcome

    def _deletions(self, items: list[tuple[int, Action]]) -> None:
        """Files at once, then directories one by one, the deepest first."""
        self._parallel([[(seq, a)] for seq, a in items if a.kind is ActionKind.delete])
        for seq, action in sorted(
            (i for i in items if i[1].kind is ActionKind.rmdir), key=lambda i: -i[1].path.count("/")
        ):
            self._task([(seq, action)])


def clearing(actions: list[Action]) -> set[int]:
    """Deletions that make way for a directory or a file of the same name (a file replaced by a folder or the
    other way round): they run before anything is made, with the deletions inside a folder that goes."""
    needed: set[tuple[Side, str]] = set()
    for action in actions:
        if action.kind in (ActionKind.mkdir, ActionKind.copy, ActionKind.update):
            path = action.target or action.path
            needed.update((action.side, p) for p in (*paths.ancestors(path), path))
    roots = {
        (a.side, a.path)
        for a in actions
        if a.kind in (ActionKind.delete, ActionKind.rmdir) and (a.side, a.path) in needed
    }
    if not roots:
        return set()
    return {
        seq
        for seq, a in enumerate(actions)
        if a.kind in (ActionKind.delete, ActionKind.rmdir)
        and any(a.side is side and (a.path == root or a.path.startswith(root + "/")) for side, root in roots)
    }
