"""Two-way sync: what changed on each side since the baseline, renames by hash, conflicts by policy.

Outcomes (both sides compared with the baseline of the last successful run):

| path1 \\ path2     | unchanged    | changed / new          | deleted          |
|-------------------|--------------|------------------------|------------------|
| unchanged         | nothing      | copy 2 -> 1            | delete on 1      |
| changed / new     | copy 1 -> 2  | same content: nothing; | copy 1 -> 2      |
|                   |              | else conflict (policy) | (change wins)    |
| deleted           | delete on 2  | copy 2 -> 1            | nothing          |

"Changed" means the content: a file whose size is the baseline's and whose MD5 (known from the
baseline, hashed only when its time moved) is the baseline's has not changed, whatever its time
says (a ``touch``). With ``checksum`` the hash is compared even when size and time agree.

A file deleted on one side and a new file with the same size and MD5 on that side, while the old
path is unchanged on the other side, is a rename: it is renamed on the other side (no transfer).

Directories have a baseline too: one deleted on one side is removed from the other once nothing
new stays in it there (else it comes back); a new one is made on the other side. A file replaced
by a directory (or the other way round) on one side, unchanged on the other, is replaced there
too in the same run; when both sides changed, the file is kept under a conflict name.

Nothing a user changed is lost: a changed file always beats a deletion, and the loser of a conflict
is kept (in the backup folder with ``backup_dir``, else as a conflict copy on both sides) unless
``conflict_loser`` is discard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from syncoxide.providers import paths
from syncoxide.providers.base import Entry, Provider
from syncoxide.sync.compare import Signature, precision, same_mtime
from syncoxide.sync.hashing import HASH, file_md5
from syncoxide.sync.listing import Listing
from syncoxide.sync.models import Action, ActionKind, ConflictLoser, ConflictPolicy, Mode, Plan, Side, SyncOptions
from syncoxide.sync.state import FileState, PairState

OTHER = {Side.path1: Side.path2, Side.path2: Side.path1}


@dataclass
class Sides:
    providers: dict[Side, Provider]
    listings: dict[Side, Listing]
    extra: dict[tuple[Side, str], Entry] = field(default_factory=dict)
    """entries that exist only once the plan's renames have run (keep-both losers)"""
    md5: dict[tuple[Side, str], str] = field(default_factory=dict)

    def entry(self, side: Side, path: str) -> Entry | None:
        return self.listings[side].files.get(path) or self.extra.get((side, path))

    def hash(self, side: Side, path: str) -> str:
        key = (side, path)
        if key not in self.md5:
            entry = self.listings[side].files[path]
            self.md5[key] = file_md5(self.providers[side], entry)
        return self.md5[key]


def conflict_name(path: str, when: datetime, loser: Side) -> str:
    directory, name = paths.parent(path), paths.name(path)
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = name, "", ""
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    return paths.join(directory, f"{stem}.conflict-{stamp}-{loser.value}{dot}{ext}")


def _base(known: FileState | None, side: Side) -> Signature | None:
    return None if known is None else known.on(side)


def _status(entry: Entry | None, base: Signature | None, checksum: bool, sides: Sides, side: Side) -> str:
    """absent, new, same, changed or deleted: this side against its baseline, by content."""
    if entry is None:
        return "deleted" if base is not None else "absent"
    if base is None:
        return "new"
    if entry.size != base.size:
        return "changed"
    if base.matches(entry) and not (checksum and HASH not in entry.hashes):
        return "same"
    if base.md5:  # a time that moved with the same content is no change (a touch)
        return "same" if sides.hash(side, entry.path) == base.md5 else "changed"
    if checksum:
        sides.hash(side, entry.path)  # no hash in the baseline yet: the new one keeps it
        return "same" if base.matches(entry) else "changed"
    return "changed"


def _under(path: str, folder: str) -> bool:
    return path.startswith(folder + "/")


def _copy(to: Side, path: str, entry: Entry, reason: str, *, update: bool, target: str | None = None) -> Action:
    return Action(
        kind=ActionKind.update if update else ActionKind.copy,
        path=path,
        side=to,
        target=target,
        size=entry.size,
        mtime=entry.mtime,
        reason=reason,
    )


class BisyncPlanner:
    def __init__(self, pair: str, sides: Sides, baseline: PairState, *, options: SyncOptions, now: datetime):
        self.sides = sides
        self.state = baseline.files
        self.base_dirs = baseline.dirs
        self.checksum = options.checksum
        self.policy = options.conflict
        self.keep_loser = options.conflict_loser is ConflictLoser.keep
        self.backup_dir = options.backup_dir
        self.now = now
        p1, p2 = sides.providers[Side.path1], sides.providers[Side.path2]
        self.tolerance = precision(p1, p2)
        self.plan = Plan(
            pair=pair,
            mode=Mode.bisync,
            source=p1.display,
            destination=p2.display,
            source_files=len(sides.listings[Side.path1].files),
            destination_files=len(sides.listings[Side.path2].files),
        )

    def _same_content(self, path: str) -> bool:
        e1 = self.sides.entry(Side.path1, path)
        e2 = self.sides.entry(Side.path2, path)
        if e1 is None or e2 is None or e1.size != e2.size:
            return False
        return self.sides.hash(Side.path1, path) == self.sides.hash(Side.path2, path)

    def _winner(self, e1: Entry, e2: Entry) -> Side:
        if self.policy is ConflictPolicy.path1:
            return Side.path1
        if self.policy is ConflictPolicy.path2:
            return Side.path2
        if self.policy is ConflictPolicy.larger and e1.size != e2.size:
            return Side.path1 if e1.size > e2.size else Side.path2
        return Side.path2 if e2.mtime > e1.mtime else Side.path1

    def _conflict(self, path: str, what: str) -> None:
        e = {s: self.sides.entry(s, path) for s in Side}
        e1, e2 = e[Side.path1], e[Side.path2]
        assert e1 is not None and e2 is not None
        winner = self._winner(e1, e2)
        loser = OTHER[winner]
        won = e1 if winner is Side.path1 else e2
        if self.policy is ConflictPolicy.keep_both or (self.keep_loser and not self.backup_dir):
            renamed = conflict_name(path, self.now, loser)
            self.plan.actions.append(
                Action(
                    kind=ActionKind.rename,
                    path=path,
                    side=loser,
                    target=renamed,
                    reason=f"conflict ({what}): keep both",
                )
            )
            lost = e[loser]
            assert lost is not None
            moved = Entry(path=renamed, size=lost.size, mtime=lost.mtime, hashes=lost.hashes)
            self.sides.extra[(loser, renamed)] = moved
            self.plan.actions.append(_copy(winner, renamed, moved, "conflict: the other version", update=False))
            self.plan.actions.append(_copy(loser, path, won, "conflict: winner", update=False))
            self.plan.conflicts.append(
                f"{path}: {what}; {winner.value} keeps the name, {loser.value}'s version is kept as {renamed}"
            )
            return
        self.plan.actions.append(
            _copy(
                loser,
                path,
                won,
                f"conflict ({what}): {self.policy.value} wins",
                update=True,
            )
        )
        fate = f"kept in {self.backup_dir}" if self.keep_loser else "discarded (conflict-loser discard)"
        self.plan.conflicts.append(
            f"{path}: {what}; {winner.value} wins ({self.policy.value}), {loser.value}'s version is {fate}"
        )

    def _dir_vs_file(self, path: str, file_side: Side) -> None:
        entry = self.sides.entry(file_side, path)
        assert entry is not None
        renamed = conflict_name(path, self.now, file_side)
        self.plan.actions.append(
            Action(
                kind=ActionKind.rename,
                path=path,
                side=file_side,
                target=renamed,
                reason="conflict: a directory on the other side",
            )
        )
        moved = Entry(path=renamed, size=entry.size, mtime=entry.mtime, hashes=entry.hashes)
        self.sides.extra[(file_side, renamed)] = moved
        self.plan.actions.append(_copy(OTHER[file_side], renamed, moved, "conflict: file vs directory", update=False))
        self.plan.conflicts.append(
            f"{path}: a file on {file_side.value}, a directory on {OTHER[file_side].value}; "
            f"the file is kept as {renamed}"
        )

    def _renames(self, status: dict[Side, dict[str, str]]) -> set[str]:
        handled: set[str] = set()
        for side in Side:
            other = OTHER[side]
            gone = {p for p, s in status[side].items() if s == "deleted" and status[other].get(p) == "same"}
            if not gone:
                continue
            by_size: dict[int, list[str]] = {}
            for path in gone:
                base = _base(self.state.get(path), side)
                if base is not None:
                    by_size.setdefault(base.size, []).append(path)
            for path, s in sorted(status[side].items()):
                if s != "new" or status[other].get(path) != "absent":
                    continue
                entry = self.sides.entry(side, path)
                candidates = [c for c in by_size.get(entry.size if entry else -1, []) if c not in handled]
                if not candidates or entry is None:
                    continue
                digest = self.sides.hash(side, path)
                for old in candidates:
                    base = _base(self.state.get(old), side)
                    old_md5 = (base.md5 if base else None) or self.sides.hash(other, old)
                    if old_md5 == digest:
                        self.plan.actions.append(
                            Action(
                                kind=ActionKind.rename,
                                path=old,
                                side=other,
                                target=path,
                                size=entry.size,
                                reason=f"renamed on {side.value}",
                            )
                        )
                        handled.update((old, path))
                        break
        return handled

    def build(self, resync: bool) -> Plan:
        l1, l2 = self.sides.listings[Side.path1], self.sides.listings[Side.path2]
        clashes = (set(l1.files) & l2.dirs) | (set(l2.files) & l1.dirs)
        for side, listing, other in ((Side.path1, l1, l2), (Side.path2, l2, l1)):
            for path in sorted(set(listing.files) & other.dirs):
                self._file_vs_dir(path, side, resync)
        everything = sorted((set(l1.files) | set(l2.files) | set(self.state)) - clashes)
        if resync:
            for path in everything:
                self._resync_one(path)
        else:
            status = {side: {} for side in Side}  # type: dict[Side, dict[str, str]]
            for path in everything:
                known = self.state.get(path)
                for side in Side:
                    status[side][path] = _status(
                        self.sides.entry(side, path), _base(known, side), self.checksum, self.sides, side
                    )
            handled = self._renames(status)
            for path in everything:
                if path not in handled:
                    self._decide(path, status[Side.path1][path], status[Side.path2][path])
        self._directories(resync)
        return self.plan

    def _file_vs_dir(self, path: str, file_side: Side, resync: bool) -> None:
        """A file on one side where the other has a directory: replace whichever side did not change."""
        dir_side = OTHER[file_side]
        entry = self.sides.entry(file_side, path)
        assert entry is not None
        if not resync:
            status = _status(entry, _base(self.state.get(path), file_side), self.checksum, self.sides, file_side)
            if status == "same":  # the other side put a directory where the file was
                self.plan.actions.append(
                    Action(
                        kind=ActionKind.delete,
                        path=path,
                        side=file_side,
                        size=entry.size,
                        reason=f"replaced by a directory on {dir_side.value}",
                    )
                )
                return
            if status == "new" and path in self.base_dirs and self._unchanged_inside(path, dir_side):
                self.plan.actions.append(
                    _copy(dir_side, path, entry, f"replaced a directory on {file_side.value}", update=False)
                )
                return  # the directory's files go as deletions, the directory with them
        self._dir_vs_file(path, file_side)

    def _unchanged_inside(self, folder: str, side: Side) -> bool:
        """Every file under ``folder`` on ``side`` is as the baseline has it (deleting them loses nothing)."""
        for path, entry in self.sides.listings[side].files.items():
            if _under(path, folder):
                if _status(entry, _base(self.state.get(path), side), self.checksum, self.sides, side) != "same":
                    return False
        return True

    def _remaining(self, side: Side) -> set[str]:
        """The files ``side`` will hold once the plan so far has run."""
        files = set(self.sides.listings[side].files)
        for action in self.plan.actions:
            if action.side is not side:
                continue
            if action.kind is ActionKind.delete:
                files.discard(action.path)
            elif action.kind is ActionKind.rename:
                files.discard(action.path)
                files.add(action.target or action.path)
            elif action.kind in (ActionKind.copy, ActionKind.update):
                files.add(action.target or action.path)
        return files

    def _directories(self, resync: bool) -> None:
        """New directories are made on the other side; one the other side deleted goes once nothing stays in it."""
        remaining = {side: self._remaining(side) for side in Side}
        for side in Side:
            other = OTHER[side]
            here = self.sides.listings[side].dirs
            there = self.sides.listings[other].dirs
            occupied = {a for f in remaining[side] for a in paths.ancestors(f)}  # folders a file stays in
            for folder in sorted(here - there, key=lambda p: (-p.count("/"), p)):  # the deepest first
                # gone from the other side: only where that side can hold an empty folder does its absence say so
                gone = not resync and folder in self.base_dirs and self.sides.providers[other].capabilities.directories
                if gone and self.sides.providers[side].capabilities.directories and folder not in occupied:
                    self.plan.actions.append(
                        Action(kind=ActionKind.rmdir, path=folder, side=side, reason=f"deleted on {other.value}")
                    )
                    continue
                occupied.update(paths.ancestors(folder))  # it stays, and so do the folders it is in
                if self.sides.providers[other].capabilities.directories and folder not in remaining[other]:
                    why = "kept: something new in it" if gone else "new directory"
                    self.plan.actions.append(
                        Action(kind=ActionKind.mkdir, path=folder, side=other, reason=f"{why} on {side.value}")
                    )

    def _resync_one(self, path: str) -> None:
        e1, e2 = self.sides.entry(Side.path1, path), self.sides.entry(Side.path2, path)
        if e1 is not None and e2 is None:
            self.plan.actions.append(_copy(Side.path2, path, e1, "resync: only on path1", update=False))
        elif e2 is not None and e1 is None:
            self.plan.actions.append(_copy(Side.path1, path, e2, "resync: only on path2", update=False))
        elif e1 is not None and e2 is not None:
            if e1.size == e2.size and (
                (not self.checksum and same_mtime(e1, e2, self.tolerance)) or self._same_content(path)
            ):
                self.plan.unchanged += 1
            else:
                self._conflict(path, "different on both sides at resync")

    def _decide(self, path: str, s1: str, s2: str) -> None:
        e1, e2 = self.sides.entry(Side.path1, path), self.sides.entry(Side.path2, path)
        changed = ("new", "changed")
        if s1 in ("same", "absent") and s2 in ("same", "absent"):
            if e1 is not None and e2 is not None:
                self.plan.unchanged += 1
            return
        if s1 in changed and s2 in changed:
            if self._same_content(path):
                self.plan.unchanged += 1  # the same change on both sides
            else:
                self._conflict(path, f"{s1} on path1, {s2} on path2")
            return
        for side, mine, theirs, entry in ((Side.path1, s1, s2, e1), (Side.path2, s2, s1, e2)):
            other = OTHER[side]
            if mine in changed and entry is not None:
                if theirs == "deleted":
                    self.plan.conflicts.append(
                        f"{path}: deleted on {other.value}, changed on {side.value}; the changed file is kept"
                    )
                self.plan.actions.append(
                    _copy(other, path, entry, f"{mine} on {side.value}", update=theirs in ("same", "changed"))
                )
                return
            if mine == "deleted" and theirs == "same":
                target = e2 if side is Side.path1 else e1
                self.plan.actions.append(
                    Action(
                        kind=ActionKind.delete,
                        path=path,
                        side=other,
                        size=target.size if target else 0,
                        reason=f"deleted on {side.value}",
                    )
                )
                return


def plan_bisync(
    pair: str, sides: Sides, baseline: PairState, *, options: SyncOptions, now: datetime, resync: bool
) -> Plan:
    return BisyncPlanner(pair, sides, baseline, options=options, now=now).build(resync)


__all__ = ["HASH", "OTHER", "Sides", "conflict_name", "plan_bisync"]
