"""Plans for the one-way modes (copy, sync, move) and the max-delete guard."""

from __future__ import annotations

from collections.abc import Mapping

from syncoxide.providers import paths
from syncoxide.providers.base import Entry, Provider
from syncoxide.sync.compare import common_hash, precision, same_mtime
from syncoxide.sync.errors import GuardTripped
from syncoxide.sync.listing import Listing
from syncoxide.sync.models import Action, ActionKind, MaxDelete, Mode, Plan, Side
from syncoxide.sync.state import FileState


def in_sync(known: FileState | None, s: Entry, d: Entry) -> bool:
    """Both listings still say what they said when the pair was last in sync."""
    return known is not None and known.path1.matches(s) and known.path2.matches(d)


def plan_one_way(
    mode: Mode,
    pair: str,
    src: Provider,
    dst: Provider,
    left: Listing,
    right: Listing,
    state: Mapping[str, FileState],
    *,
    checksum: bool,
) -> tuple[Plan, dict[str, Entry]]:
    """The plan, and the destination entries found identical (their state is kept)."""
    plan = Plan(
        pair=pair,
        mode=mode,
        source=src.display,
        destination=dst.display,
        source_files=len(left.files),
        destination_files=len(right.files),
    )
    same: dict[str, Entry] = {}
    tolerance = precision(src, dst)
    if dst.capabilities.directories:
        for directory in sorted(left.dirs - right.dirs):
            if directory in right.files:
                plan.conflicts.append(f"{directory}: a directory at the source, a file at the destination: skipped")
                continue
            plan.actions.append(Action(kind=ActionKind.mkdir, path=directory, reason="new directory"))
    for path in sorted(left.files):
        s = left.files[path]
        d = right.files.get(path)
        copy = Action(kind=ActionKind.copy, path=path, size=s.size, mtime=s.mtime)
        if d is None:
            if path in right.dirs:
                plan.conflicts.append(f"{path}: a file at the source, a directory at the destination: skipped")
                continue
            copy.reason = "new"
        elif in_sync(state.get(path), s, d) and not checksum:
            same[path] = d
        elif s.size != d.size:
            copy.kind, copy.reason = ActionKind.update, f"size {d.size} -> {s.size}"
        elif checksum:
            copy.kind, copy.reason = ActionKind.update, "check hash"  # the executor compares before sending
        else:
            stored = d if dst.capabilities.listed_mtime else dst.stat(d.path)
            if same_mtime(s, stored, tolerance):
                same[path] = d
            else:
                shared = common_hash(s, d)
                if shared is not None and shared[0] == shared[1]:
                    copy.kind, copy.reason = ActionKind.set_mtime, "same content, modification time differs"
                else:
                    copy.kind, copy.reason = ActionKind.update, "modification time differs"
        if path in same:
            plan.unchanged += 1
            if (
                mode is not Mode.move
                and s.mode is not None
                and d is not None  # (it is: only a destination entry is ever the same)
                and d.mode is not None
                and (s.mode & 0o777) != (d.mode & 0o777)
            ):
                plan.actions.append(
                    Action(
                        kind=ActionKind.set_mode,
                        path=path,
                        reason=f"permission bits {d.mode & 0o777:o} -> {s.mode & 0o777:o}",
                    )
                )
            if mode is Mode.move:
                plan.actions.append(
                    Action(
                        kind=ActionKind.delete_source,
                        path=path,
                        side=Side.path1,
                        size=s.size,
                        mtime=s.mtime,
                        reason="already at the destination (verified by hash)",
                    )
                )
            continue
        plan.actions.append(copy)
        if mode is Mode.move:
            plan.actions.append(
                Action(
                    kind=ActionKind.delete_source,
                    path=path,
                    side=Side.path1,
                    size=s.size,
                    mtime=s.mtime,
                    reason="moved",
                )
            )
    if mode is Mode.sync:
        for path in sorted(set(right.files) - set(left.files)):
            if path in left.dirs:
                plan.conflicts.append(f"{path}: a directory at the source, a file at the destination: replaced")
            plan.actions.append(
                Action(kind=ActionKind.delete, path=path, size=right.files[path].size, reason="not at the source")
            )
        needed = set(left.dirs) | {a for p in left.files for a in paths.ancestors(p)}
        for directory in sorted(right.dirs - needed, key=lambda p: (-p.count("/"), p)):
            plan.actions.append(Action(kind=ActionKind.rmdir, path=directory, reason="not at the source"))
    return plan, same


def skip_specials(plan: Plan, listings: dict[Side, Listing]) -> None:
    """Name every symlink and special file in the plan, and drop every action at or below the path of one on
    either side (a symlink at the destination is never written through, a file is not deleted because the
    other side has a FIFO by its name)."""
    for side, listing in listings.items():
        where = plan.source if side is Side.path1 else plan.destination
        plan.skipped += [f"{path}: a {kind} at {where}, left alone" for path, kind in sorted(listing.specials.items())]
    blocked = {path for listing in listings.values() for path in listing.specials}
    if not blocked:
        return
    kept = []
    for action in plan.actions:
        touched = {action.path, action.target or action.path}
        if any(p in blocked for t in touched for p in (*paths.ancestors(t), t)):
            plan.conflicts.append(
                f"{action.path}: a symlink or special file stands at this path on one side: "
                f"{action.kind.value} on {action.side.value} skipped"
            )
            continue
        kept.append(action)
    plan.actions = kept


def check_empty(plan: Plan, listed: dict[Side, int], had: dict[Side, int], guard: MaxDelete | None) -> None:
    """Refuse a plan that empties a side because the other one lists nothing (an unmounted disk, a wrong path).

    Two-way: a side that held files at the baseline and lists none now is refused outright (rclone's "empty
    current listing"). One-way sync: an empty source that would empty the destination needs --max-delete none."""
    for side, other in ((Side.path1, Side.path2), (Side.path2, Side.path1)):
        deletes = sum(1 for a in plan.actions if a.kind is ActionKind.delete and a.side is other)
        if listed[side] or not deletes:
            continue
        where = plan.source if side is Side.path1 else plan.destination
        if plan.mode is Mode.bisync and had[side]:
            raise GuardTripped(
                f"bisync: {where} lists no files but held {had[side]} at the baseline: nothing was "
                "changed (if that side is meant to be empty, empty the other one too, or --resync)"
            )
        if plan.mode is Mode.sync and guard is not None:
            raise GuardTripped(
                f"sync: the source {where} lists no files; it would delete all {deletes} at the "
                "destination: nothing was changed (--max-delete none if that is meant)"
            )


def check_guard(plan: Plan, guard: MaxDelete | None, files_at: dict[Side, int]) -> None:
    """Refuse a plan that deletes more than the guard allows, before anything has changed. ``files_at``: what
    each side held before (two-way: at the baseline), so files new on the other side do not dilute the share."""
    if guard is None:
        return
    for side in Side:
        deletes = sum(1 for a in plan.actions if a.kind is ActionKind.delete and a.side is side)
        if not deletes:
            continue
        total = files_at.get(side, 0)
        share = 100.0 * deletes / total if total else 100.0
        over = (guard.count is not None and deletes > guard.count) or (
            guard.percent is not None and share > guard.percent
        )
        if over:
            where = plan.destination if side is Side.path2 else plan.source
            raise GuardTripped(
                f"{plan.mode.value} would delete {deletes} of {total} files ({share:.0f}%) at {where}, more than "
                f"--max-delete {guard.describe()}: nothing was changed (raise the limit or check the source)"
            )
