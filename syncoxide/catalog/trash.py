"""Carrying out a cleanup plan: move listed items into the trash, put them back, empty the trash.

Every item goes through journaled states (planned -> moving -> trashed, trashed -> restored),
each written before and after its rename, so an apply or undo interrupted at any point (even by
SIGKILL) is resumed by running it again: nothing is lost and nothing moves twice. Before a
move, the item is checked to be exactly what the plan saw (type, size, mtime and, when the plan
knows it, the content hash), and the copy a duplicate relies on to be another file (device and
inode) with the planned content; otherwise the item is skipped and reported. Every path below the
source root is reached without following a symlink (nofollow.py) and renamed relative to its
opened parent, so a folder swapped for a symlink after planning moves nothing it should not.
Nothing that is not in the plan is touched.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from syncoxide.catalog.hashing import hash_file
from syncoxide.config import Settings
from syncoxide.contract.payloads import Progress
from syncoxide.engines.process import Cancelled
from syncoxide.errors import InvalidInput
from syncoxide.fs import names
from syncoxide.fs.nofollow import Blocked, Walker, closing_fd, lstat_at, open_child, relative_parts, split
from syncoxide.store import cleanup as plans
from syncoxide.store import open_store

ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


@dataclass
class TrashTally:
    moved: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)


def trash_path(plan: plans.Plan, item: plans.PlanItem) -> str:
    """Where an item waits in the trash: its path kept below the plan's trash dir."""
    return os.path.join(plan.trash_dir, item.path.lstrip("/"))


class _Places:
    """Opened folders below the plan's source root, never following a symlink (nofollow.py): walkers for
    the items, the copies they duplicate, the trash, and (undo) the items' places, made again if gone."""

    def __init__(self, plan: plans.Plan):
        self.root = plan.root
        self.trash_prefix = relative_parts(self.root, plan.trash_dir) or []
        self.items = Walker(self.root)
        self.keepers = Walker(self.root)
        self.trash = Walker(self.root, create=True, mode=0o700)
        self.put_back = Walker(self.root, create=True, mode=0o777)

    def __enter__(self) -> _Places:
        return self

    def __exit__(self, *_: object) -> None:
        for walker in (self.items, self.keepers, self.trash, self.put_back):
            walker.close()

    def item_parts(self, path: str) -> list[str] | None:
        """The folders and name of a catalog path (stored form) below the root, as the OS names them."""
        return relative_parts(self.root, names.to_os(path))

    def trash_parts(self, item: plans.PlanItem) -> list[str]:
        return [*self.trash_prefix, *split(names.to_os(item.path))]


def _locate(walker: Walker, parts: list[str] | None, what: str) -> tuple[int, str] | str:
    """The opened parent folder and name of ``parts``, or why it cannot be reached."""
    if not parts:
        return f"{what} is not below the source root {walker.root}"
    try:
        return walker.parent(parts)
    except Blocked as blocked:
        return f"{what} is reached through {blocked.path}, which is {blocked.what} (cleanup never follows a symlink)"
    except FileNotFoundError:
        return f"{what} no longer exists"


def _exists(walker: Walker, parts: list[str] | None) -> bool:
    try:
        return parts is not None and walker.lstat(parts) is not None
    except Blocked:
        return False


def _digest(parent: int, name: str, expected: os.stat_result, kind: str) -> str | None:
    """The content hash of the regular file ``name`` in ``parent`` if it is still the file ``expected``."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent)
    except OSError:
        return None
    try:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (expected.st_dev, expected.st_ino) or not stat.S_ISREG(now.st_mode):
            return None
        digests = hash_file(fd, [kind])
        return digests[kind] if digests else None
    finally:
        os.close(fd)


def _file_problem(parent: int, name: str, item: plans.PlanItem) -> tuple[str | None, os.stat_result | None]:
    st = lstat_at(parent, name)
    if st is None:
        return "no longer exists", None
    if not stat.S_ISREG(st.st_mode):
        return "is no longer a regular file", st
    if st.st_size != item.size or st.st_mtime_ns != item.mtime_ns:
        return "changed since the plan was made", st
    if item.hash_kind and item.hash and _digest(parent, name, st, item.hash_kind) != item.hash:
        return "content changed since the plan was made", st
    return None, st


def _keeper_problem(places: _Places, item: plans.PlanItem, duplicate: os.stat_result) -> str | None:
    """The copy a duplicate relies on must be another file (device and inode) with the planned content."""
    what = f"the copy it duplicates ({item.keep_path})"
    found = _locate(places.keepers, places.item_parts(item.keep_path or ""), what)
    if isinstance(found, str):
        return found
    st = lstat_at(*found)
    if st is None or not stat.S_ISREG(st.st_mode):
        return f"{what} is gone or no longer a regular file"
    if (st.st_dev, st.st_ino) == (duplicate.st_dev, duplicate.st_ino):
        return f"{what} is this same file (a hard link, or reached another way), not a second copy"
    if not item.hash_kind or _digest(*found, st, item.hash_kind) != item.hash:
        return f"{what} changed since the plan was made"
    return None


def _still_as_planned(places: _Places, item: plans.PlanItem) -> tuple[int, str] | str:
    """The item's opened parent folder and name when it is as the plan saw it, else why not."""
    found = _locate(places.items, places.item_parts(item.path), "it")
    if isinstance(found, str):
        return found.removeprefix("it ")
    parent, name = found
    if item.reason == "empty folder":
        st = lstat_at(parent, name)
        if st is None:
            return "no longer exists"
        if not stat.S_ISDIR(st.st_mode):
            return "is no longer a folder"
        with closing_fd(open_child(parent, name, item.path)) as folder:
            return found if not os.listdir(folder) else "is no longer empty"
    problem, st = _file_problem(parent, name, item)
    if problem:
        return problem
    if item.keep_path:
        assert st is not None
        problem = _keeper_problem(places, item, st)
        if problem:
            return problem
    return found


def _move_in(places: _Places, item: plans.PlanItem, conn) -> bool:
    """planned/moving -> trashed (or skipped); True when it is in the trash now."""
    trash_parts = places.trash_parts(item)
    if item.state == "moving":  # an earlier run died around the rename: see which side of it we are on
        if _exists(places.trash, trash_parts) and not _exists(places.items, places.item_parts(item.path)):
            plans.set_item(conn, item, "trashed")
            return True
    found = _still_as_planned(places, item)
    if isinstance(found, str):
        plans.set_item(conn, item, "skipped", found)
        return False
    plans.set_item(conn, item, "moving")
    try:
        trash_parent, trash_name = places.trash.parent(trash_parts)
        os.rename(found[1], trash_name, src_dir_fd=found[0], dst_dir_fd=trash_parent)
    except OSError as exc:
        plans.set_item(conn, item, "skipped", f"could not be moved: {exc.strerror or exc}")
        return False
    plans.set_item(conn, item, "trashed")
    return True


def apply(
    settings: Settings, plan_id: str, *, progress: ProgressFn = lambda _: None, cancelled: CancelFn = lambda: False
) -> TrashTally:
    outcome = TrashTally()
    with open_store(settings) as conn:
        plan = plans.get(conn, plan_id)
        if plan.status not in ("planned", "applying"):
            raise InvalidInput(f"cleanup plan {plan_id} is {plan.status}; only a planned plan can be applied")
        plans.set_status(conn, plan, "applying")
        todo = plans.items(conn, plan_id, ["planned", "moving"])
        state = Progress(phase="cleanup", files_total=len(todo), bytes_total=sum(i.size for i in todo))
        with _Places(plan) as places:
            for item in todo:
                if cancelled():
                    raise Cancelled()
                if _move_in(places, item, conn):
                    outcome.moved += 1
                    outcome.bytes += item.size
                else:
                    outcome.skipped.append(f"{item.path}: {item.note}")
                state.files_done += 1
                state.bytes_done += item.size
                state.current_path = item.path
                progress(state.model_copy())
        plans.set_status(conn, plan, "applied")
    return outcome


def _put_back(places: _Places, plan: plans.Plan, item: plans.PlanItem) -> str | None:
    """Move one trashed item back to its place; None when done, else why it stays in the trash."""
    source = trash_path(plan, item)
    parts = places.item_parts(item.path)
    if _exists(places.items, parts):
        return f"{item.path}: something else is there now; left in {source}"
    try:
        from_parent, from_name = places.trash.parent(places.trash_parts(item))
        to = _locate(places.put_back, parts, item.path)
        if isinstance(to, str):
            return f"{to}; left in {source}"
        os.rename(from_name, to[1], src_dir_fd=from_parent, dst_dir_fd=to[0])
    except OSError as exc:
        return f"{item.path}: could not be put back ({exc.strerror or exc}); left in {source}"
    return None


def undo(
    settings: Settings, plan_id: str, *, progress: ProgressFn = lambda _: None, cancelled: CancelFn = lambda: False
) -> TrashTally:
    """Put every trashed item back where it was; an item whose place is taken now stays in the trash."""
    outcome = TrashTally()
    with open_store(settings) as conn:
        plan = plans.get(conn, plan_id)
        if plan.status not in ("applying", "applied", "undoing"):
            raise InvalidInput(f"cleanup plan {plan_id} is {plan.status}; only an applied plan can be undone")
        plans.set_status(conn, plan, "undoing")
        with _Places(plan) as places:
            for item in plans.items(conn, plan_id, ["moving"]):  # an apply that died around a rename
                if _exists(places.trash, places.trash_parts(item)) and not _exists(
                    places.items, places.item_parts(item.path)
                ):
                    plans.set_item(conn, item, "trashed")
                else:
                    plans.set_item(conn, item, "planned")
            todo = plans.items(conn, plan_id, ["trashed"])
            state = Progress(phase="undo", files_total=len(todo))
            for item in todo:
                if cancelled():
                    raise Cancelled()
                problem = _put_back(places, plan, item)
                if problem:
                    outcome.skipped.append(problem)
                    plans.set_item(conn, item, "trashed", "not restored: its place is taken or unreachable")
                    continue
                plans.set_item(conn, item, "restored")
                outcome.moved += 1
                outcome.bytes += item.size
                state.files_done += 1
                progress(state.model_copy())
        if not plans.items(conn, plan_id, ["trashed"]):
            shutil.rmtree(plan.trash_dir, ignore_errors=True)
        plans.set_status(conn, plan, "undone")
    return outcome


def purge_expired(settings: Settings, now: datetime | None = None) -> list[str]:
    """Empty the trash of plans whose keep time has passed; returns their ids."""
    now = now or datetime.now(UTC)
    done = []
    with open_store(settings) as conn:
        for plan in plans.expired(conn, now):
            shutil.rmtree(plan.trash_dir, ignore_errors=True)
            for item in plans.items(conn, plan.id, ["trashed"]):
                plans.set_item(conn, item, "purged")
            plans.set_status(conn, plan, "purged")
            done.append(plan.id)
    return done
