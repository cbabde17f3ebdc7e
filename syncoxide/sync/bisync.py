"""Two-way sync: what changed on each side since the baseline, renames by hash, conflicts by policy.

Outcomes (both sides compared with the baseline of the last successful run):

| path1 \\ path2     | unchanged    | changed / new          | deleted          |
|-------------------|--------------|------------------------|------------------|
| unchanged         | nothing      | copy 2 -> 1            | delete on 1      |
| changed / new     | copy 1 -> 2  | same content: nothing; | copy 1 -> 2      |
|                   |              | else conflict (policy) | (change wins)    |
| deleted           | delete on 2  | copy 2 -> 1            | nothing          |

A file deleted on one side and a new file with the same size and MD5 on that side, while the old
path is unchanged on the other side, is a rename: it is renamed on the other side (no transfer).
A path that is a file on one side and a directory on the other: the file is renamed with a
conflict suffix, then both propagate. Nothing a user changed is lost: a changed file always beats
a deletion, and keep-both keeps both versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from syncoxide.providers import paths
from syncoxide.providers.base import Entry, Provider
from syncoxide.store.sync import StateRow
from syncoxide.sync.compare import Signature, precision, same_mtime
from syncoxide.sync.hashing import HASH, file_md5
from syncoxide.sync.listing import Listing
from syncoxide.sync.models import Action, ActionKind, ConflictPolicy, Mode, Plan, Side

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


def _base(row: StateRow | None, side: Side) -> Signature | None:
    if row is None:
        return None
    return Signature(row[1], row[2], row[3]) if side is Side.path1 else Signature(row[4], row[5], row[6])


def _status(entry: Entry | None, base: Signature | None, checksum: bool, sides: Sides, side: Side) -> str:
    if entry is None:
        return "deleted" if base is not None else "absent"
    if base is None:
        return "new"
    if base.matches(entry):
        return "same"
    if checksum and entry.size == base.size and base.md5:
        return "same" if sides.hash(side, entry.path) == base.md5 else "changed"
    return "changed"


def _copy(to: Side, path: str, entry: Entry, reason: str, *, update: bool, target: str | None = None) -> Action:
    return Action(kind=ActionKind.update if update else ActionKind.copy, path=path, side=to, target=target,
                  size=entry.size, mtime=entry.mtime, reason=reason)


class BisyncPlanner:
    def __init__(self, pair: str, sides: Sides, state: dict[str, StateRow], *, checksum: bool,
                 policy: ConflictPolicy, now: datetime):
        self.sides = sides
        self.state = state
        self.checksum = checksum
        self.policy = policy
        self.now = now
        p1, p2 = sides.providers[Side.path1], sides.providers[Side.path2]
        self.tolerance = precision(p1, p2)
        self.plan = Plan(pair=pair, mode=Mode.bisync, source=p1.display, destination=p2.display,
                         source_files=len(sides.listings[Side.path1].files),
                         destination_files=len(sides.listings[Side.path2].files))

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
        if self.policy is ConflictPolicy.keep_both:
            renamed = conflict_name(path, self.now, loser)
            self.plan.actions.append(Action(kind=ActionKind.rename, path=path, side=loser, target=renamed,
                                            reason=f"conflict ({what}): keep both"))
            lost = e[loser]
            assert lost is not None
            moved = Entry(path=renamed, size=lost.size, mtime=lost.mtime, hashes=lost.hashes)
            self.sides.extra[(loser, renamed)] = moved
            self.plan.actions.append(_copy(winner, renamed, moved, "conflict: the other version", update=False))
            self.plan.actions.append(_copy(loser, path, e[winner], "conflict: winner", update=False))  # type: ignore[arg-type]
            self.plan.conflicts.append(f"{path}: {what}; {winner.value} keeps the name, {loser.value}'s version "
                                       f"is kept as {renamed}")
            return
        self.plan.actions.append(_copy(loser, path, e[winner], f"conflict ({what}): {self.policy.value} wins",  # type: ignore[arg-type]
                                       update=True))
        self.plan.conflicts.append(f"{path}: {what}; {winner.value} wins ({self.policy.value})")

    def _dir_vs_file(self, path: str, file_side: Side) -> None:
        entry = self.sides.entry(file_side, path)
        assert entry is not None
        renamed = conflict_name(path, self.now, file_side)
        self.plan.actions.append(Action(kind=ActionKind.rename, path=path, side=file_side, target=renamed,
                                        reason="conflict: a directory on the other side"))
        moved = Entry(path=renamed, size=entry.size, mtime=entry.mtime, hashes=entry.hashes)
        self.sides.extra[(file_side, renamed)] = moved
        self.plan.actions.append(_copy(OTHER[file_side], renamed, moved, "conflict: file vs directory", update=False))
        self.plan.conflicts.append(f"{path}: a file on {file_side.value}, a directory on {OTHER[file_side].value}; "
                                   f"the file is kept as {renamed}")

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
                        self.plan.actions.append(Action(kind=ActionKind.rename, path=old, side=other, target=path,
                                                        size=entry.size, reason=f"renamed on {side.value}"))
                        handled.update((old, path))
                        break
        return handled

    def build(self, resync: bool) -> Plan:
        l1, l2 = self.sides.listings[Side.path1], self.sides.listings[Side.path2]
        for side, listing, other in ((Side.path1, l1, l2), (Side.path2, l2, l1)):
            for path in sorted(set(listing.files) & other.dirs):
                self._dir_vs_file(path, side)
        clashes = (set(l1.files) & l2.dirs) | (set(l2.files) & l1.dirs)
        for side, listing, other in ((Side.path1, l1, l2), (Side.path2, l2, l1)):
            if self.sides.providers[OTHER[side]].capabilities.directories:
                for directory in sorted(listing.dirs - other.dirs - set(other.files)):
                    self.plan.actions.append(Action(kind=ActionKind.mkdir, path=directory, side=OTHER[side],
                                                    reason=f"new directory on {side.value}"))
        everything = sorted((set(l1.files) | set(l2.files) | set(self.state)) - clashes)
        if resync:
            for path in everything:
                self._resync_one(path)
            return self.plan
        status = {side: {} for side in Side}  # type: dict[Side, dict[str, str]]
        for path in everything:
            row = self.state.get(path)
            for side in Side:
                status[side][path] = _status(self.sides.entry(side, path), _base(row, side), self.checksum,
                                             self.sides, side)
        handled = self._renames(status)
        for path in everything:
            if path not in handled:
                self._decide(path, status[Side.path1][path], status[Side.path2][path])
        return self.plan

    def _resync_one(self, path: str) -> None:
        e1, e2 = self.sides.entry(Side.path1, path), self.sides.entry(Side.path2, path)
        if e1 is not None and e2 is None:
            self.plan.actions.append(_copy(Side.path2, path, e1, "resync: only on path1", update=False))
        elif e2 is not None and e1 is None:
            self.plan.actions.append(_copy(Side.path1, path, e2, "resync: only on path2", update=False))
        elif e1 is not None and e2 is not None:
            if e1.size == e2.size and (same_mtime(e1, e2, self.tolerance) or self._same_content(path)):
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
                    self.plan.conflicts.append(f"{path}: deleted on {other.value}, changed on {side.value}; "
                                               "the changed file is kept")
                self.plan.actions.append(_copy(other, path, entry, f"{mine} on {side.value}",
                                               update=theirs in ("same", "changed")))
                return
            if mine == "deleted" and theirs == "same":
                target = e2 if side is Side.path1 else e1
                self.plan.actions.append(Action(kind=ActionKind.delete, path=path, side=other,
                                                size=target.size if target else 0,
                                                reason=f"deleted on {side.value}"))
                return


def plan_bisync(pair: str, sides: Sides, state: dict[str, StateRow], *, checksum: bool, policy: ConflictPolicy,
                now: datetime, resync: bool) -> Plan:
    return BisyncPlanner(pair, sides, state, checksum=checksum, policy=policy, now=now).build(resync)


__all__ = ["HASH", "OTHER", "Sides", "conflict_name", "plan_bisync"]
